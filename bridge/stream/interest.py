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
from bridge.world.keys import MAX_LOD, TileKey, cells_across, key_of, tiles_in_radius

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
    # Viewer messages are applied as they arrive, but a stream plans for them (interest set,
    # claims, progress) at most once per this interval, also while it is sending tiles: a flood
    # of poses or acks costs one plan per interval, not one per message, seconds. A walker sends
    # 10 poses a second, and choosing its tiles for each was a third of the serving loop at 64
    # viewers; 0.25 s is 2.5 m at 10 m/s, well inside the 1.5 s lookahead.
    min_plan_interval_s: float = 0.25
    # A stream reports progress at most once per this interval, the latest state, seconds: a
    # walking viewer's every pose and ack would each be a message (over gRPC a message costs a
    # pass of the serving loop). "Everything sent" after something was pending, and the last
    # progress of a stream that ends, are reported at once; a change held back is reported when
    # the interval is over, so the latest sequence is always echoed.
    min_progress_interval_s: float = 0.25
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


def _half_angle(view: Pose, options: StreamOptions) -> float:
    """Half the horizontal view cone, widened by the margin, radians."""
    half = math.atan(math.tan(math.radians(view.vertical_fov_deg) / 2) * view.aspect)
    return half + math.radians(options.view_margin_deg)


def _root_lod(view: Pose, grid: TileGrid) -> int:
    return min(MAX_LOD, max(0, math.ceil(math.log2(max(view.radius_m, grid.base_tile_m) / grid.base_tile_m))))


def select_tiles(
    view: Pose, grid: TileGrid, options: StreamOptions, sse_threshold_px: float | None = None
) -> list[TileKey]:
    """The interest set: leaves of the SSE-refined quadtree over the view region, in the order
    of a depth-first walk from the last root (see :func:`select_tiles_walk`, which it equals)."""
    return keys_of(select_cells(view, grid, options, sse_threshold_px))


def keys_of(cells: np.ndarray) -> list[TileKey]:
    """(lod, ix, iz) rows as keys."""
    return [key_of(lod, ix, iz) for lod, ix, iz in cells.tolist()]


def select_tiles_walk(
    view: Pose, grid: TileGrid, options: StreamOptions, sse_threshold_px: float | None = None
) -> list[TileKey]:
    """The interest set, one key at a time: leaves of the SSE-refined quadtree over the view region.

    The region is every point within the view radius of the viewer's path over the next
    ``lookahead_s`` (from its velocity): a fast viewer finds the tiles at the leading edge of its
    view already there when they come into sight. A tile's distance, for its screen-space error,
    is to the nearest point of that path. Tiles outside the view cone use the threshold times
    ``offscreen_sse_factor``: they are there (no hole when the viewer turns) but coarser, until
    they come into view. ``sse_threshold_px`` overrides the options' threshold (a session raises
    it to fit a budget). The walk stops refining once ``max_tiles`` leaves and waiting keys are
    reached, so which tiles stay coarse then depends on its order: :func:`select_cells` uses
    this walk for such sets, and computes the others level by level."""
    threshold = options.sse_threshold_px if sse_threshold_px is None else sse_threshold_px
    radius = view.radius_m
    focal = view.focal_px()
    path = _path(view, options)
    height = view.position[1]
    half_angle = _half_angle(view, options)

    def ground_distance(key: TileKey) -> float:
        return min(key.distance_m(px, pz, grid.base_tile_m) for px, pz in path)

    root_lod = _root_lod(view, grid)
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


def select_cells(
    view: Pose, grid: TileGrid, options: StreamOptions, sse_threshold_px: float | None = None
) -> np.ndarray:
    """:func:`select_tiles_walk`'s leaves as an (n, 3) int64 array of (lod, ix, iz), in its order,
    computed a level of the quadtree at a time with numpy: a walking viewer's set costs tens of
    array operations instead of thousands of per-key calls (the server's main process spent
    half its time here at 48 viewers). Refining a key never lowers the count of leaves plus
    waiting keys (a kept tile always keeps the child holding its nearest point), so the walk's
    ``max_tiles`` stop never acts when the finished set has at most ``max_tiles`` leaves; a
    larger set is handed to the walk, whose stop decides which tiles stay coarse."""
    threshold = options.sse_threshold_px if sse_threshold_px is None else sse_threshold_px
    base = grid.base_tile_m
    radius = view.radius_m
    path = np.array(_path(view, options))
    root_lod = _root_lod(view, grid)
    finest = min(root_lod, finest_lod(view, grid, options))
    level = _roots(path, radius, root_lod, base)
    focal = view.focal_px()
    half_angle = _half_angle(view, options)
    leaves: list[np.ndarray] = []
    count = 0
    while len(level.cells):
        refine = np.zeros(len(level.cells), dtype=bool)
        if level.lod > finest:
            distance = np.maximum(np.hypot(level.ground, view.position[1]), 1e-3)
            error_px = level.edge / grid.splats_per_edge * focal / distance
            limit = np.where(
                _in_view_cells(level, view, half_angle), threshold, threshold * options.offscreen_sse_factor
            )
            refine = error_px > limit
        kept = level.cells[~refine]
        leaves.append(np.column_stack((np.full(len(kept), level.lod), kept)))
        count += len(kept)
        if not refine.any():
            break
        level = _Level.of(_children(level.cells[refine]), level.lod - 1, path, base)
        level = level.within(radius)
        if count + len(level.cells) > options.max_tiles:
            walked = select_tiles_walk(view, grid, options, sse_threshold_px)
            return np.array([(k.lod, k.ix, k.iz) for k in walked], dtype=np.int64).reshape(-1, 3)
    cells = np.concatenate(leaves)
    return cells[_walk_order(cells, root_lod)]


@dataclass(frozen=True)
class _Level:
    """The keys of one quadtree level under consideration, with their distance to the path."""

    cells: np.ndarray  # (n, 2) int64: ix, iz
    lod: int
    edge: float  # metres
    ground: np.ndarray  # (n,) distance in the ground plane to the nearest path point, metres

    @classmethod
    def of(cls, cells: np.ndarray, lod: int, path: np.ndarray, base_tile_m: float) -> _Level:
        edge = base_tile_m * (1 << lod)
        return cls(cells, lod, edge, _distances(cells, edge, path).min(axis=1))

    def within(self, radius_m: float) -> _Level:
        keep = self.ground <= radius_m
        return _Level(self.cells[keep], self.lod, self.edge, self.ground[keep])


def _distances(cells: np.ndarray, edge: float | np.ndarray, points: np.ndarray) -> np.ndarray:
    """(n, p): from each point to the nearest point of each (ix, iz) cell's square of ``edge``
    metres (one for all, or an (n, 1) column), as ``TileKey.distance_m``."""
    x0, z0 = cells[:, :1] * edge, cells[:, 1:] * edge
    x1, z1 = (cells[:, :1] + 1) * edge, (cells[:, 1:] + 1) * edge
    px, pz = points[:, 0], points[:, 1]
    dx = np.maximum(np.maximum(x0 - px, 0.0), px - x1)
    dz = np.maximum(np.maximum(z0 - pz, 0.0), pz - z1)
    return np.hypot(dx, dz)


def _roots(path: np.ndarray, radius_m: float, lod: int, base_tile_m: float) -> _Level:
    """The cells at ``lod`` within the radius of some path point, as ``tiles_in_radius`` finds
    them for each: every such cell lies in the rectangle spanning each point's candidates."""
    edge = base_tile_m * (1 << lod)
    xs = [cells_across(float(x), radius_m, edge) for x in path[:, 0]]
    zs = [cells_across(float(z), radius_m, edge) for z in path[:, 1]]
    ixs = np.arange(min(r.start for r in xs), max(r.stop for r in xs))
    izs = np.arange(min(r.start for r in zs), max(r.stop for r in zs))
    cells = np.stack(np.meshgrid(ixs, izs), axis=-1).reshape(-1, 2)
    return _Level(cells, lod, edge, _distances(cells, edge, path).min(axis=1)).within(radius_m)


def _children(cells: np.ndarray) -> np.ndarray:
    """The four children of each cell, as ``TileKey.children``."""
    offsets = np.array([(0, 0), (1, 0), (0, 1), (1, 1)], dtype=np.int64)
    return (cells[:, None, :] * 2 + offsets).reshape(-1, 2)


def _in_view_cells(level: _Level, view: Pose, half_angle: float) -> np.ndarray:
    """``_in_view`` for every cell of a level."""
    x, _, z = view.position
    fx, fz = view.forward[0], view.forward[2]
    norm = math.hypot(fx, fz)
    if norm < 1e-6:
        return np.ones(len(level.cells), dtype=bool)
    dx = (level.cells[:, 0] + 0.5) * level.edge - x
    dz = (level.cells[:, 1] + 0.5) * level.edge - z
    d = np.hypot(dx, dz)
    reach = level.edge * 0.7072
    inside = d <= reach
    far = np.where(inside, 1.0, d)  # cells the viewer stands in are in view whatever the angle
    cos = np.clip((dx * fx + dz * fz) / (far * norm), -1.0, 1.0)
    return inside | (np.arccos(cos) - np.arcsin(np.minimum(1.0, reach / far)) <= half_angle)


def _walk_order(cells: np.ndarray, root_lod: int) -> np.ndarray:
    """The permutation putting leaves (lod, ix, iz) in the order the depth-first walk meets them:
    roots from the largest (ix, iz) down, and in each tile its children last to first, so the
    order is descending by root, then by the child indices along the way (z bit over x bit)."""
    scale = np.left_shift(1, cells[:, 0])
    x, z = cells[:, 1] * scale, cells[:, 2] * scale  # each leaf's first LOD-0 cell
    code = np.zeros(len(cells), dtype=np.int64)
    for bit in range(root_lod):
        code |= ((x >> bit) & 1) << (2 * bit)
        code |= ((z >> bit) & 1) << (2 * bit + 1)
    return np.lexsort((-code, -(z >> root_lod), -(x >> root_lod)))


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


def prioritise_cells(
    cells: np.ndarray, view: Pose, grid: TileGrid, options: StreamOptions
) -> tuple[np.ndarray, np.ndarray]:
    """(order, urgency) for (lod, ix, iz) rows: ``cells[order]`` is most urgent first, near the
    viewer or near where it will be, and in front before behind (ties: the lower LOD, then the
    given order). Urgency is an effective distance in metres (lower is more urgent), comparable
    between viewers: the shared generation queue orders all viewers by it."""
    px, _, pz = view.position
    vx, _, vz = view.velocity
    ax, az = px + vx * options.lookahead_s, pz + vz * options.lookahead_s
    fx, _, fz = view.forward
    norm = math.hypot(fx, fz) or 1.0
    fx, fz = fx / norm, fz / norm
    edge = (grid.base_tile_m * np.left_shift(1, cells[:, 0]))[:, None]
    near = _distances(cells[:, 1:], edge, np.array([(px, pz), (ax, az)]))
    dx = (cells[:, 1] + 0.5) * edge[:, 0] - px
    dz = (cells[:, 2] + 0.5) * edge[:, 0] - pz
    facing = (dx * fx + dz * fz) / np.maximum(np.hypot(dx, dz), 1e-6)  # cos of angle off the view axis
    # Behind the viewer counts as up to twice as far; a tile under the viewer is always first.
    score = np.minimum(near[:, 0], near[:, 1]) * (1.5 - 0.5 * facing)
    return np.lexsort((cells[:, 0], score)), score
