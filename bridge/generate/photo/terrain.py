"""Terrain relief beyond the lifted photo: a height field anchored to world coordinates.

Fractal value noise on hashed lattices, so any tile at any LOD samples the same surface (coarser
tiles just sample it coarser) and neighbours share their border heights exactly. The lifted photo
lies on the plane y = 0, so the relief is zero there and rises over a ring beyond it.

The photo tells us little about the ground's shape, but its camera height says what kind of
place it is: a photo taken at head height continues as gently rolling ground, one taken from high
above as hills. The amplitude follows that height and stays below it, so a viewer at the
photo's height never ends up under the ground.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bridge.generate.noise import value_noise
from bridge.generate.photo.spawn_view import SpawnView

WAVELENGTH_M = 384.0  # the largest hills' spacing
OCTAVES = 4  # each half the wavelength and half the amplitude of the last
AMPLITUDE_PER_CAMERA_HEIGHT = 0.5  # peak relief as a fraction of the photo's camera height
MAX_AMPLITUDE_M = 30.0
FADE_M = 256.0  # the relief rises from zero over this ring beyond the photo's hand-over
MOUNTAIN_WAVELENGTH_M = 1400.0  # the largest ridges' spacing
MOUNTAIN_OCTAVES = 4
MOUNTAIN_GAIN = 1.6  # ridged noise**1.5 averages ~0.5: peaks reach about the skyline's relief
VALLEY_FLOOR_M = 40.0  # half the valley floor's width, either side of the path
VALLEY_RISE_M = 200.0  # the slopes reach full height this far beyond the floor (in a viewer's radius)
SKYLINE_SLACK_PX = 6  # a slope's top may project this many columns aside from its foot
SKYLINE_MARGIN_PX = 3.0  # rows the ground in the photo's view is kept under its skyline
_SALT = 31


@dataclass(frozen=True)
class Valley:
    """Mountains the photo's skyline shows, either side of its path: the path runs along a valley
    floor (so a walk on it stays in the valley, as in the photo) and ridges of ``relief_m`` rise
    across it, sharper for a rougher skyline."""

    relief_m: float
    roughness: float  # 0 rolling .. 1 jagged
    heading: tuple[float, float]  # unit (x, z) along the valley
    # In the photo's view the mountains stay under its skyline, so the first view stays the photo.
    keep_under: SpawnView | None = None


class Terrain:
    """Height of the ground, y in metres, at any (x, z)."""

    def __init__(
        self,
        seed: int,
        camera_height_m: float,
        centre: tuple[float, float],
        flat_radius_m: float,
        valley: Valley | None = None,
    ) -> None:
        self.seed = seed
        self.amplitude_m = min(AMPLITUDE_PER_CAMERA_HEIGHT * camera_height_m, MAX_AMPLITUDE_M)
        self.centre = centre
        self.flat_radius_m = flat_radius_m
        self.valley = valley
        # A slope's top projects a few columns aside from its foot (the camera pitches): it stays
        # under the lowest skyline near its foot's column, so a step in the skyline is not climbed.
        self._low_skyline = (
            None
            if valley is None or valley.keep_under is None
            else ndimage.maximum_filter1d(valley.keep_under.skyline, size=2 * SKYLINE_SLACK_PX + 1, mode="nearest")
        )

    def height(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        x = np.asarray(x, dtype=np.float64)
        z = np.asarray(z, dtype=np.float64)
        total = np.zeros(np.broadcast(x, z).shape)
        weight_sum = 0.0
        for octave in range(OCTAVES):
            weight = 0.5**octave
            total += weight * (value_noise(x, z, WAVELENGTH_M * 0.5**octave, self.seed, _SALT, octave) * 2.0 - 1.0)
            weight_sum += weight
        distance = np.hypot(x - self.centre[0], z - self.centre[1])
        t = np.clip((distance - self.flat_radius_m) / FADE_M, 0.0, 1.0)
        rolling = self.amplitude_m * (t * t * (3 - 2 * t)) * total / weight_sum
        if self.valley is None or self.valley.relief_m <= 0:
            return rolling
        mountains = self._mountains(x, z, distance)
        if self.valley.keep_under is not None:
            mountains = np.minimum(mountains, np.maximum(self._under_skyline(x, z) - rolling, 0.0))
        return rolling + mountains

    def _under_skyline(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """How high the ground may stand at (x, z) and stay under the photo's skyline seen from the
        spawn; the allowance grows smoothly with the angle outside the photo's frame (continuous,
        so the ground has no step where the frame's edge runs)."""
        assert self.valley is not None and self.valley.keep_under is not None
        spawn = self.valley.keep_under
        camera, k = spawn.camera, spawn.camera.intrinsics
        points = np.stack([x.ravel(), np.zeros(x.size), z.ravel()], axis=1)
        uv, depth = camera.project(points)
        u = np.nan_to_num(uv[:, 0], nan=0.0)
        assert self._low_skyline is not None
        rise = spawn.skyline_rise(u, self._low_skyline[np.clip(u, 0, k.width - 1).astype(np.int64)])
        ground = np.hypot(points[:, 0] - camera.position[0], points[:, 2] - camera.position[2])
        outside_px = np.maximum(0.0, np.maximum(-u, u - k.width))
        outside = np.where(depth > 0, np.arctan(outside_px / k.fx), np.pi / 2)
        # Kept SKYLINE_MARGIN_PX under the skyline (at least a metre): a splat on a steep wall
        # reaches up past its centre, and a dark rock face poking into the photo's sky shows.
        margin = np.maximum(1.0, ground * SKYLINE_MARGIN_PX / k.fx)
        allowed = camera.position[1] + ground * (rise + np.tan(np.minimum(outside * 3.0, np.radians(80.0)))) - margin
        return allowed.reshape(x.shape)

    def _mountains(self, x: np.ndarray, z: np.ndarray, distance: np.ndarray) -> np.ndarray:
        """Ridged noise (sharp crests, rounded valleys) rising across the valley floor."""
        v = self.valley
        assert v is not None
        ridges = np.zeros(np.broadcast(x, z).shape)
        weight_sum = 0.0
        for octave in range(MOUNTAIN_OCTAVES):
            weight = (0.35 + 0.3 * v.roughness) ** octave
            n = value_noise(
                x, z, MOUNTAIN_WAVELENGTH_M * 0.5**octave, self.seed, _SALT + 10, octave, angle=0.5 * octave
            )
            ridges += weight * (1.0 - np.abs(2.0 * n - 1.0))
            weight_sum += weight
        ridges /= weight_sum
        across = np.abs((x - self.centre[0]) * v.heading[1] - (z - self.centre[1]) * v.heading[0])
        rise = np.clip((across - VALLEY_FLOOR_M) / VALLEY_RISE_M, 0.0, 1.0)
        near = np.clip((distance - self.flat_radius_m) / FADE_M, 0.0, 1.0)
        shape = rise * rise * (3 - 2 * rise) * near * near * (3 - 2 * near)
        return v.relief_m * MOUNTAIN_GAIN * shape * ridges**1.5


def tilt_to(normals: np.ndarray) -> np.ndarray:
    """[N, 4] quaternions (w, x, y, z) turning +Y onto each normal (the shortest rotation)."""
    nx, ny, nz = normals[:, 0], normals[:, 1], normals[:, 2]
    q = np.stack([1.0 + ny, nz, np.zeros_like(ny), -nx], axis=1)
    return q / np.linalg.norm(q, axis=1, keepdims=True)


def surface_at(heights: np.ndarray, u: np.ndarray, v: np.ndarray, spacing: float) -> tuple[np.ndarray, np.ndarray]:
    """(height, unit normal) of the bilinear surface through a tile's height field ``heights``
    (corner samples, ``spacing`` metres apart) at grid coordinates (u, v): what lies on a tile's
    mesh lies on its splats too."""
    cells = heights.shape[0] - 1
    i = np.clip(np.floor(u).astype(np.int64), 0, cells - 1)
    j = np.clip(np.floor(v).astype(np.int64), 0, cells - 1)
    fu, fv = u - i, v - j
    h00, h01 = heights[j, i].astype(np.float64), heights[j, i + 1].astype(np.float64)
    h10, h11 = heights[j + 1, i].astype(np.float64), heights[j + 1, i + 1].astype(np.float64)
    height = (h00 * (1 - fu) + h01 * fu) * (1 - fv) + (h10 * (1 - fu) + h11 * fu) * fv
    dh_dx = ((h01 - h00) * (1 - fv) + (h11 - h10) * fv) / spacing
    dh_dz = ((h10 - h00) * (1 - fu) + (h11 - h01) * fu) / spacing
    normals = np.stack([-dh_dx, np.ones_like(dh_dx), -dh_dz], axis=1)
    return height, normals / np.linalg.norm(normals, axis=1, keepdims=True)
