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

import numpy as np

from bridge.generate.noise import value_noise

WAVELENGTH_M = 384.0  # the largest hills' spacing
OCTAVES = 4  # each half the wavelength and half the amplitude of the last
AMPLITUDE_PER_CAMERA_HEIGHT = 0.5  # peak relief as a fraction of the photo's camera height
MAX_AMPLITUDE_M = 30.0
FADE_M = 256.0  # the relief rises from zero over this ring beyond the photo's hand-over
_SALT = 31


class Terrain:
    """Height of the ground, y in metres, at any (x, z)."""

    def __init__(self, seed: int, camera_height_m: float, centre: tuple[float, float], flat_radius_m: float) -> None:
        self.seed = seed
        self.amplitude_m = min(AMPLITUDE_PER_CAMERA_HEIGHT * camera_height_m, MAX_AMPLITUDE_M)
        self.centre = centre
        self.flat_radius_m = flat_radius_m

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
        return self.amplitude_m * (t * t * (3 - 2 * t)) * total / weight_sum


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
