"""Which tiles a viewer needs, at which LOD, in which order: screen-space error over a quadtree.

As in 3D Tiles (Cesium): a tile's geometric error (metres) is the spacing of its splats; seen from
distance d with a vertical focal length of f pixels it makes a screen-space error of
``error * f / d`` pixels. Starting from coarse roots covering the view radius, a tile is refined
into its four children while its error exceeds ``sse_threshold_px``; the leaves are the interest
set. Leaves never overlap and together cover the whole view disc.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bridge.world.keys import MAX_LOD, TileKey, tiles_in_radius


@dataclass(frozen=True)
class StreamOptions:
    """Defaults a session starts from; every field is documented with its unit."""

    default_radius_m: float = 256.0  # view radius when the viewer sends none, metres
    max_radius_m: float = 4096.0  # larger radii are refused, metres
    sse_threshold_px: float = 3.0  # refine while a tile's screen-space error exceeds this, pixels
    splats_per_tile_edge: int = 64  # geometric error of a tile = edge / this, metres (photo generator's GRID)
    lookahead_s: float = 1.5  # tiles where the viewer will be this soon are as urgent as under it
    max_bytes_in_flight: int = 16 * 1024 * 1024  # default budget: unacknowledged bytes
    max_resident_splats: int = 4_000_000  # default budget: splats the viewer holds
    max_tiles: int = 2048  # cap on the interest set, however large the radius


@dataclass(frozen=True)
class ViewState:
    """One viewer's camera, as sent in its latest update (world frame, metres)."""

    position: tuple[float, float, float]
    forward: tuple[float, float, float]
    velocity: tuple[float, float, float]
    vertical_fov_deg: float
    viewport_height_px: int
    radius_m: float

    def focal_px(self) -> float:
        return self.viewport_height_px / 2.0 / math.tan(math.radians(self.vertical_fov_deg) / 2.0)


def geometric_error_m(key: TileKey, base_tile_m: float, options: StreamOptions) -> float:
    return key.edge_m(base_tile_m) / options.splats_per_tile_edge


def _distance_3d(key: TileKey, view: ViewState, base_tile_m: float) -> float:
    x, y, z = view.position
    ground = key.distance_m(x, z, base_tile_m)
    return math.hypot(ground, y)  # the ground is near y = 0: height counts as distance


def select_tiles(view: ViewState, base_tile_m: float, options: StreamOptions) -> list[TileKey]:
    """The interest set (unordered): leaves of the SSE-refined quadtree over the view disc."""
    x, _, z = view.position
    radius = view.radius_m
    focal = view.focal_px()
    root_lod = min(MAX_LOD, max(0, math.ceil(math.log2(max(radius, base_tile_m) / base_tile_m))))
    stack = list(tiles_in_radius(x, z, radius, root_lod, base_tile_m))
    leaves: list[TileKey] = []
    while stack:
        key = stack.pop()
        distance = max(_distance_3d(key, view, base_tile_m), 1e-3)
        error_px = geometric_error_m(key, base_tile_m, options) * focal / distance
        if key.lod > 0 and error_px > options.sse_threshold_px and len(leaves) + len(stack) < options.max_tiles:
            stack.extend(c for c in key.children() if c.distance_m(x, z, base_tile_m) <= radius)
        else:
            leaves.append(key)
    return leaves


def prioritise(keys: list[TileKey], view: ViewState, base_tile_m: float, options: StreamOptions) -> list[TileKey]:
    """Most urgent first: near the viewer or near where it will be, and in front before behind."""
    if not keys:
        return []
    px, _, pz = view.position
    vx, _, vz = view.velocity
    ax, az = px + vx * options.lookahead_s, pz + vz * options.lookahead_s
    fx, _, fz = view.forward
    norm = math.hypot(fx, fz) or 1.0
    fx, fz = fx / norm, fz / norm
    centres = np.array([k.center(base_tile_m) for k in keys])
    now = np.array([k.distance_m(px, pz, base_tile_m) for k in keys])
    ahead = np.array([k.distance_m(ax, az, base_tile_m) for k in keys])
    dx, dz = centres[:, 0] - px, centres[:, 1] - pz
    facing = (dx * fx + dz * fz) / np.maximum(np.hypot(dx, dz), 1e-6)  # cos of angle off the view axis
    # Behind the viewer counts as up to twice as far; a tile under the viewer is always first.
    score = np.minimum(now, ahead) * (1.5 - 0.5 * facing)
    order = np.lexsort((np.array([k.lod for k in keys]), score))
    return [keys[i] for i in order]
