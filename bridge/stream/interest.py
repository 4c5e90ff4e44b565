"""Which tiles a viewer needs, at which LOD, in which order: screen-space error over a quadtree.

As in 3D Tiles (Cesium): a tile's geometric error (metres) is the spacing of its splats; seen from
distance d with a vertical focal length of f pixels it makes a screen-space error of
``error * f / d`` pixels. Starting from coarse roots covering the view radius, a tile is refined
into its four children while its error exceeds ``sse_threshold_px`` (default **3 pixels**, for the
viewer's own viewport height and vertical FOV; 12 pixels for tiles outside the view cone); the
leaves are the interest set. Leaves never overlap and together cover the whole view region: the
view disc, stretched along the viewer's velocity by ``lookahead_s``. With the defaults (8 m tiles, 64 splats along an
edge, 720 px, 60 degrees) a LOD-0 tile's error is 0.125 m, so LOD 0 is needed within ~26 m, LOD 1
within ~52 m, LOD 2 (32 m tiles) within ~104 m: each level a ring of a few dozen tiles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bridge.stream.pose import Pose
from bridge.world.grid import TileGrid
from bridge.world.keys import MAX_LOD, TileKey, tiles_in_radius

PATH_STEP_M = 16.0  # spacing of the points along the predicted path
MAX_PATH_POINTS = 9


@dataclass(frozen=True)
class StreamOptions:
    """Defaults a session starts from; every field is documented with its unit."""

    default_radius_m: float = 256.0  # view radius when the viewer sends none, metres
    max_radius_m: float = 4096.0  # larger radii are refused, metres
    sse_threshold_px: float = 3.0  # refine while a tile's screen-space error exceeds this, pixels
    # A viewer's budget is clamped into these bounds (0 means the default above). The lower bounds
    # keep one ordinary tile within budget; the upper ones bound what the server buffers per viewer.
    min_bytes_in_flight: int = 1024 * 1024
    max_bytes_in_flight_limit: int = 256 * 1024 * 1024
    min_resident_splats: int = 262_144
    max_resident_splats_limit: int = 256_000_000
    lookahead_s: float = 1.5  # the interest region reaches where the viewer will be this soon, seconds
    min_tile_dwell_s: float = 1.0  # a moving viewer gets no tiles it would cross faster than this, seconds
    offscreen_sse_factor: float = 4.0  # tiles outside the view cone may have this many times the error
    view_margin_deg: float = 15.0  # the view cone is the image's (its viewport's aspect) widened by this, degrees
    max_bytes_in_flight: int = 16 * 1024 * 1024  # default budget: unacknowledged bytes
    max_resident_splats: int = 8_000_000  # default budget: splats the viewer holds (a 720p view at 160 m holds 2-3M)
    max_tiles: int = 2048  # cap on the interest set, however large the radius
    max_streams_per_peer: int = 64  # streams one client address may hold open at once, all transports
    heartbeat_interval_s: float = 15.0  # a stream quiet this long sends a heartbeat, seconds
    # Viewer messages are applied as they arrive, but a stream plans (interest set, claims,
    # progress) at most once per this interval when only messages woke it: a flood of poses or
    # acks costs one plan per interval, not one per message, seconds.
    min_plan_interval_s: float = 0.025
    max_held_tiles: int = 4096  # tiles a resuming viewer may list as held (more are not read)


def _path(view: Pose, options: StreamOptions) -> list[tuple[float, float]]:
    """Ground points from where the viewer is to where it will be in ``lookahead_s`` (one point
    when it stands still), no further apart than ``PATH_STEP_M``."""
    x, _, z = view.position
    dx, dz = view.velocity[0] * options.lookahead_s, view.velocity[2] * options.lookahead_s
    steps = min(MAX_PATH_POINTS - 1, math.ceil(math.hypot(dx, dz) / PATH_STEP_M))
    return [(x + dx * i / steps, z + dz * i / steps) for i in range(steps + 1)] if steps else [(x, z)]


def _in_view(key: TileKey, view: Pose, grid: TileGrid, half_angle: float) -> bool:
    """Might the tile be on screen now? Its square against the horizontal view cone (the
    viewport's aspect, 16:9 unless the viewer says, plus a margin for turning); the tile under the viewer always is."""
    x, _, z = view.position
    fx, fz = view.forward[0], view.forward[2]
    norm = math.hypot(fx, fz)
    if norm < 1e-6:
        return True  # looking straight up or down: everything round is as near to the view
    cx, cz = key.center(grid.base_tile_m)
    dx, dz = cx - x, cz - z
    d = math.hypot(dx, dz)
    reach = key.edge_m(grid.base_tile_m) * 0.7072  # half the diagonal
    if d <= reach:
        return True
    cos = max(-1.0, min(1.0, (dx * fx + dz * fz) / (d * norm)))
    return math.acos(cos) - math.asin(min(1.0, reach / d)) <= half_angle


def select_tiles(
    view: Pose, grid: TileGrid, options: StreamOptions, sse_threshold_px: float | None = None
) -> list[TileKey]:
    """The interest set (unordered): leaves of the SSE-refined quadtree over the view region.

    The region is every point within the view radius of the viewer's path over the next
    ``lookahead_s`` (from its velocity): a fast viewer finds the tiles at the leading edge of its
    view already there when they come into sight. A tile's distance, for its screen-space error,
    is to the nearest point of that path. Tiles outside the view cone use the threshold times
    ``offscreen_sse_factor``: they are there (no hole when the viewer turns) but coarser, until
    they come into view. ``sse_threshold_px`` overrides the options' threshold (a session raises
    it to fit a budget)."""
    threshold = options.sse_threshold_px if sse_threshold_px is None else sse_threshold_px
    radius = view.radius_m
    focal = view.focal_px()
    path = _path(view, options)
    height = view.position[1]
    half_angle = math.atan(math.tan(math.radians(view.vertical_fov_deg) / 2) * view.aspect) + math.radians(
        options.view_margin_deg
    )

    def ground_distance(key: TileKey) -> float:
        return min(key.distance_m(px, pz, grid.base_tile_m) for px, pz in path)

    root_lod = min(MAX_LOD, max(0, math.ceil(math.log2(max(radius, grid.base_tile_m) / grid.base_tile_m))))
    finest = min(root_lod, finest_lod(view, grid, options))
    roots: set[TileKey] = set()
    for px, pz in path:
        roots.update(tiles_in_radius(px, pz, radius, root_lod, grid.base_tile_m))
    stack = sorted(roots)
    leaves: list[TileKey] = []
    while stack:
        key = stack.pop()
        # The ground is near y = 0: the viewer's height counts as distance.
        distance = max(math.hypot(ground_distance(key), height), 1e-3)
        error_px = grid.geometric_error_m(key) * focal / distance
        limit = threshold if _in_view(key, view, grid, half_angle) else threshold * options.offscreen_sse_factor
        if key.lod > finest and error_px > limit and len(leaves) + len(stack) < options.max_tiles:
            stack.extend(c for c in key.children() if ground_distance(c) <= radius)
        else:
            leaves.append(key)
    return leaves


def finest_lod(view: Pose, grid: TileGrid, options: StreamOptions) -> int:
    """The finest LOD worth sending a moving viewer: one whose tiles it takes at least
    ``min_tile_dwell_s`` to cross. Finer tiles would be left behind before most of them arrived
    (at 50 m/s, 8 m tiles pass in 0.16 s), and a viewer that fast cannot see their detail; it
    refines again as it slows down."""
    speed = math.hypot(view.velocity[0], view.velocity[2])
    reach = speed * options.min_tile_dwell_s
    if reach <= grid.base_tile_m:
        return 0
    return min(MAX_LOD, math.ceil(math.log2(reach / grid.base_tile_m)))


def prioritise_scored(
    keys: list[TileKey], view: Pose, grid: TileGrid, options: StreamOptions
) -> list[tuple[TileKey, float]]:
    """(key, urgency) most urgent first: near the viewer or near where it will be, and in front
    before behind. Urgency is an effective distance in metres (lower is more
    urgent), comparable between viewers: the shared generation queue orders all viewers by it."""
    if not keys:
        return []
    px, _, pz = view.position
    vx, _, vz = view.velocity
    ax, az = px + vx * options.lookahead_s, pz + vz * options.lookahead_s
    fx, _, fz = view.forward
    norm = math.hypot(fx, fz) or 1.0
    fx, fz = fx / norm, fz / norm
    centres = np.array([k.center(grid.base_tile_m) for k in keys])
    now = np.array([k.distance_m(px, pz, grid.base_tile_m) for k in keys])
    ahead = np.array([k.distance_m(ax, az, grid.base_tile_m) for k in keys])
    dx, dz = centres[:, 0] - px, centres[:, 1] - pz
    facing = (dx * fx + dz * fz) / np.maximum(np.hypot(dx, dz), 1e-6)  # cos of angle off the view axis
    # Behind the viewer counts as up to twice as far; a tile under the viewer is always first.
    score = np.minimum(now, ahead) * (1.5 - 0.5 * facing)
    order = np.lexsort((np.array([k.lod for k in keys]), score))
    return [(keys[i], float(score[i])) for i in order]
