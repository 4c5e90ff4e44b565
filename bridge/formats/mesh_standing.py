"""What stands on a tile's ground, as a 2.5D block model textured from the tile's own splats.

Why blocks: a tile's splats are surfaces (a lifted photo's facades, a generated house's walls and
roof, a tree's crown, a placed tower), with no inside and no guarantee of closure, so surface
reconstruction (Poisson, marching cubes on a density) makes blobs and holes and costs seconds a
tile. A height per cell of a grid -- a 2.5D city model, as aerial photogrammetry makes for LODs --
is what a viewer reads from eye height (a facade is a wall, a roof a top) and from above (a
roof), is closed by construction, bounded in triangles, and uses no knowledge of the generator:
photo worlds, imported scenes and directive-placed structures go through the same code.

The model, on a ``G x G`` grid over the tile (G = the heightfield's resolution, at most 64; a
cell is 0.5 m at LOD 0 with the default 32 m tiles and twice that per LOD up):
- a splat *stands* when it is opaque (opacity >= 0.5) and its centre is more than
  ``rise = max(0.75 m, half a cell)`` over the bilinear ground under it;
- a cell holds a block when the surface its standing splats cover (their two largest axes,
  2 sigma each, times opacity) reaches half the cell's area; its top is the 90th percentile of
  those splats' tops (centre + vertical sigma), rounded up to a quarter of the cell (so a flat
  roof is one height and its cells merge); it reaches down to ``FLOOR_M`` under the lowest
  heightfield sample round the cell, so no crack opens at its foot;
- tops: equal-height cells merged into rectangles (greedy), facing +Y; walls: a vertical quad
  on every cell edge where a block is higher than its neighbour (or its neighbour is ground, or
  the edge is the tile's border), from the neighbour's top (or the floor) to its top, facing the
  lower side; consecutive edges on one line with the same span are one quad.
- tile borders: a block cut by the border is closed by a wall on it. Each tile knows only its
  splats, so the two sides of a border may differ in height; a border wall shows exactly where
  this side is higher, and where the neighbour's block is at least as tall the wall is hidden
  inside it (back to back with the neighbour's own border wall, which faces the other way and
  is culled from this side). So there is no open gap; no double wall faces the same way.

Texture: one atlas (``W = 2 T`` wide, at most ``2 T`` high, T the ground texture's size) with
- the ground chart: the ground baked from above without the splats the blocks carry (so a roof is
  no longer painted faded onto the ground under it);
- the tops chart: the carried splats from above, the highest counting most (a roof over its
  facades);
- a chart per run of walls on one grid line facing one way: the splats within 1.5 cells behind
  the wall plane and half a cell in front of it, projected horizontally onto it, the nearest
  counting most, so a facade shows its windows and colours; at up to 2 T / edge texels per metre
  (16 at LOD 0), fewer when the walls would not fit.
Every chart has a ``GUTTER`` of its own edge colour round it, so bilinear filtering never reads a
neighbour's colour.

Budget per tile (G = 64): tops at most G^2 quads, walls at most 2 G (G + 1): at most 24,832
triangles and 49,664 vertices besides the ground's 8,704 triangles (so 16-bit indices still
hold); the atlas at most 2 T x 2 T texels (512 x 512 by default).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bridge.formats._quat import matrix_from_xyzw, normalised_xyzw
from bridge.formats.splats import TileContent
from bridge.formats.texture_bake import deposit, fill_holes

MAX_CELLS = 64
MIN_CELL_M = 0.25  # finer cells only follow the splats' noise (an 8 m LOD-0 tile gets 32 x 32)
MIN_OPACITY = 0.5
RISE_M = 0.75
MIN_COVER = 0.5  # of a cell's area, by opaque standing splat surface
TOP_QUANTILE = 0.9
FLOOR_M = 0.1
GUTTER = 2  # texels round every chart
WALL_BEHIND_CELLS = 1.5  # splats this far behind a wall plane (inside the block) paint it
WALL_FRONT_CELLS = 0.5  # and this far in front of it
WALL_MIN_RISE_M = 0.15  # a wall's foot shows what stands there, not the ground's flat splats


@dataclass(frozen=True)
class Blocks:
    """A tile's blocks. Arrays are [G, G], row r along +z, column c along +x (as ``heights``)."""

    edge: float  # the tile's edge, metres
    top: np.ndarray  # world Y of each block's top; NaN where the cell holds none
    floor: np.ndarray  # world Y of each block's foot (below the ground round the cell)
    carried: np.ndarray  # [N] bool: the splats the blocks show (the ground's bake leaves them out)

    @property
    def cells(self) -> int:
        return self.top.shape[0]

    @property
    def cell_m(self) -> float:
        return self.edge / self.cells

    @property
    def standing(self) -> np.ndarray:
        return ~np.isnan(self.top)


def ground_under(heights: np.ndarray, edge: float, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """The bilinear ground (world Y) at tile-local (x, z), clamped to the tile (TileContent's rule)."""
    s = heights.shape[0] - 1
    return ndimage.map_coordinates(
        heights.astype(np.float64), [np.clip(z / edge * s, 0, s), np.clip(x / edge * s, 0, s)], order=1
    )


def _axes(content: TileContent) -> tuple[np.ndarray, np.ndarray]:
    """(vertical sigma [N], surface area [N]: 2 sigma by 2 sigma over the two largest axes)."""
    splats = content.splats
    rot = matrix_from_xyzw(normalised_xyzw(splats.rotations))
    scales = splats.scales.astype(np.float64)
    sigma_y = np.sqrt(np.sum((rot[:, 1, :] * scales) ** 2, axis=1))
    ordered = np.sort(scales, axis=1)
    return sigma_y, 4.0 * ordered[:, 2] * ordered[:, 1]


def find_blocks(content: TileContent, edge: float, x0: float, z0: float) -> Blocks | None:
    """The tile's blocks, or None where nothing stands on its ground."""
    heights = np.asarray(content.heights, np.float64)
    s = heights.shape[0] - 1
    g = max(1, min(s, MAX_CELLS, int(edge / MIN_CELL_M)))
    cell = edge / g
    splats = content.splats
    if len(splats) == 0:
        return None
    pos = splats.positions.astype(np.float64)
    x, z = pos[:, 0] - x0, pos[:, 2] - z0
    rise = pos[:, 1] - ground_under(heights, edge, x, z)
    col, row = np.floor(x / cell).astype(np.int64), np.floor(z / cell).astype(np.int64)
    inside = (col >= 0) & (col < g) & (row >= 0) & (row < g)
    sigma_y, area = _axes(content)
    stands = inside & (splats.opacities >= MIN_OPACITY) & (rise > max(RISE_M, 0.5 * cell))
    if not stands.any():
        return None
    cell_id = np.where(stands, row * g + col, -1)
    cover = np.bincount(
        cell_id[stands], weights=(splats.opacities * np.minimum(area, cell * cell))[stands], minlength=g * g
    )
    # The top: a high quantile of the standing splats' tops per cell (sorted within each cell).
    ids, tops = cell_id[stands], (pos[:, 1] + sigma_y)[stands]
    order = np.lexsort((tops, ids))
    ids, tops = ids[order], tops[order]
    counts = np.bincount(ids, minlength=g * g)
    starts = np.concatenate([[0], np.cumsum(counts)[:-1]])
    has = (counts > 0) & (cover >= MIN_COVER * cell * cell)
    if not has.any():
        return None
    pick = starts + np.floor(TOP_QUANTILE * np.maximum(counts - 1, 0)).astype(np.int64)
    top = np.full(g * g, np.nan)
    top[has] = tops[np.minimum(pick[has], len(tops) - 1)]
    step = 0.25 * cell
    top = np.ceil(top / step) * step
    floor = _floor_under_cells(heights, g) - FLOOR_M
    top = np.where(top > floor.ravel() + max(RISE_M, 0.5 * cell), top, np.nan).reshape(g, g)
    if np.isnan(top).all():
        return None
    in_block = np.zeros(len(splats), bool)
    in_block[inside] = ~np.isnan(top[row[inside], col[inside]])
    # Every splat in a block's cell is the block's (a facade's foot too, and what lies under a
    # house), so the ground's bake there is the street round it, not the house.
    carried = in_block
    return Blocks(edge, top, floor, carried)


def _floor_under_cells(heights: np.ndarray, g: int) -> np.ndarray:
    """[G, G] the lowest heightfield sample on or inside each cell's square (the triangulated
    ground over a cell never dips below the samples that span it)."""
    s = heights.shape[0] - 1
    # Sample index range of cell k: [floor(k s / g), ceil((k + 1) s / g)].
    lo = np.floor(np.arange(g) * s / g).astype(int)
    hi = np.ceil((np.arange(g) + 1) * s / g).astype(int)
    rows = np.stack([heights[lo[r] : hi[r] + 1].min(axis=0) for r in range(g)])
    return np.stack([rows[:, lo[c] : hi[c] + 1].min(axis=1) for c in range(g)], axis=1)


# -- faces -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Walls:
    """The wall quads on lines of one axis, facing one way, and the runs they are charted in.

    For axis "x" a wall lies on the line x = line * cell, spans z from ``start * cell`` to
    ``stop * cell``; for axis "z" the roles of x and z swap.
    """

    axis: str  # "x" or "z": the axis the walls' normal points along
    sign: int  # +1 or -1
    line: np.ndarray  # [Q] int
    start: np.ndarray  # [Q] int, along-cells
    stop: np.ndarray  # [Q] int
    bottom: np.ndarray  # [Q] world Y
    top: np.ndarray  # [Q] world Y
    run: np.ndarray  # [Q] index into runs
    runs: np.ndarray  # [R, 5]: line, start, stop (along-cells), bottom, top of each run's chart


def _walls(blocks: Blocks, axis: str, sign: int) -> Walls:
    """Walls facing ``sign`` along ``axis``, with their runs (consecutive edges on one line)."""
    top, floor = (blocks.top, blocks.floor) if axis == "x" else (blocks.top.T, blocks.floor.T)
    g = top.shape[0]
    # Work in [along, across] arrays where ``across`` is the axis the normal points along.
    h = np.where(np.isnan(top), -np.inf, top)
    pad = np.full((g, 1), -np.inf)
    if sign > 0:  # cell c's +side edge is line c + 1; its neighbour is cell c + 1
        own, other, own_floor, lines = h, np.concatenate([h[:, 1:], pad], 1), floor, np.arange(1, g + 1)
    else:
        own, other, own_floor, lines = h, np.concatenate([pad, h[:, :-1]], 1), floor, np.arange(0, g)
    exists = own > other
    bottom = np.where(np.isfinite(other), other, own_floor)
    along, across = np.nonzero(exists)  # row-major: by along, then across
    # Runs and quads go line by line: sort by (line, along).
    order = np.lexsort((along, across))
    along, across = along[order], across[order]
    line = lines[across]
    q_top, q_bottom = own[along, across], bottom[along, across]
    ground_based = ~np.isfinite(other[along, across])
    # A run (one chart) is a stretch of a facade: consecutive edges on one line standing on the
    # ground. A step between two blocks (a roof's terrace) is its own chart, so a run's chart is
    # not stretched over spans no wall has.
    new_run = np.ones(len(line), bool)
    new_run[1:] = (line[1:] != line[:-1]) | (along[1:] != along[:-1] + 1)
    step = ~ground_based
    same_step = step[1:] & step[:-1] & (q_top[1:] == q_top[:-1]) & (q_bottom[1:] == q_bottom[:-1])
    new_run[1:] |= (step[1:] | step[:-1]) & ~same_step
    run = np.cumsum(new_run) - 1
    # Merge consecutive edges of one run with the same top and the same kind of foot (the
    # neighbour's top, which must match; or the floor, whose lowest is kept).
    same = np.zeros(len(line), bool)
    same[1:] = (
        ~new_run[1:]
        & (q_top[1:] == q_top[:-1])
        & (ground_based[1:] == ground_based[:-1])
        & (ground_based[1:] | (q_bottom[1:] == q_bottom[:-1]))
    )
    quad = np.cumsum(~same) - 1
    n_quads = int(quad[-1]) + 1 if len(quad) else 0
    first = np.flatnonzero(~same)
    q_stop = np.zeros(n_quads, np.int64)
    np.maximum.at(q_stop, quad, along + 1)
    q_low = np.full(n_quads, np.inf)
    np.minimum.at(q_low, quad, q_bottom)
    runs_first = np.flatnonzero(new_run)
    n_runs = len(runs_first)
    r_stop = np.zeros(n_runs, np.int64)
    np.maximum.at(r_stop, run, along + 1)
    r_bottom, r_top = np.full(n_runs, np.inf), np.full(n_runs, -np.inf)
    np.minimum.at(r_bottom, run, q_bottom)
    np.maximum.at(r_top, run, q_top)
    runs = np.stack(
        [line[runs_first].astype(np.float64), along[runs_first].astype(np.float64), r_stop, r_bottom, r_top], 1
    ).reshape(-1, 5)
    return Walls(axis, sign, line[first], along[first], q_stop, q_low, q_top[first], run[first], runs)


def _top_rectangles(top: np.ndarray) -> list[tuple[int, int, int, int, float]]:
    """Equal-height cells merged greedily: (row0, col0, row1, col1, height), half-open."""
    g = top.shape[0]
    used = np.isnan(top)
    rects = []
    for r in range(g):
        for c in range(g):
            if used[r, c]:
                continue
            height = top[r, c]
            c1 = c + 1
            while c1 < g and not used[r, c1] and top[r, c1] == height:
                c1 += 1
            r1 = r + 1
            while r1 < g and not used[r1, c:c1].any() and bool(np.all(top[r1, c:c1] == height)):
                r1 += 1
            used[r:r1, c:c1] = True
            rects.append((r, c, r1, c1, float(height)))
    return rects


# -- atlas -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Chart:
    row: int  # the chart's corner in the atlas, texels (gutter included)
    col: int
    height: int  # texels, gutter included
    width: int


def _shelf_pack(sizes: list[tuple[int, int]], width: int) -> tuple[list[tuple[int, int]], int]:
    """Place (height, width) rectangles in rows of ``width``, tallest first; (corners, height used)."""
    order = sorted(range(len(sizes)), key=lambda i: (-sizes[i][0], -sizes[i][1], i))
    corners: list[tuple[int, int]] = [(0, 0)] * len(sizes)
    x = y = shelf = 0
    for i in order:
        h, w = sizes[i]
        if w > width:
            return corners, 1 << 30  # cannot fit at all
        if x + w > width:
            y, x, shelf = y + shelf, 0, 0
        corners[i] = (y, x)
        x += w
        shelf = max(shelf, h)
    return corners, y + shelf


@dataclass(frozen=True)
class Layout:
    width: int
    height: int
    texels_per_m: float  # on the walls
    ground: Chart
    tops: Chart
    walls: list[list[Chart]]  # per Walls record, per run


def layout_atlas(walls: list[Walls], cell_m: float, edge: float, size: int) -> Layout:
    """Charts for the ground, the tops and every wall run in an atlas ``2 size`` wide and
    ``size``, ``2 size`` or (when the walls would get under half their density in that)
    ``4 size`` high; the walls' texel density is the largest, up to ``2 size / edge``, that fits."""
    width = 2 * size
    extents = [(float(run[2] - run[1]) * cell_m, float(run[4] - run[3])) for w in walls for run in w.runs]
    best = 2.0 * size / edge

    def fit(limit: int) -> tuple[float, list[tuple[int, int]], list[tuple[int, int]], int]:
        tpm = best
        while True:
            sizes = [(size, size), (size, size)] + [
                (int(np.ceil(tall * tpm)) + 2 * GUTTER, int(np.ceil(long * tpm)) + 2 * GUTTER) for long, tall in extents
            ]
            corners, used = _shelf_pack(sizes, width)
            if used <= limit or tpm < 1 / 64:  # past that only the gutters are left: let it grow
                return tpm, sizes, corners, used
            tpm *= 2**-0.25

    tpm, sizes, corners, used = fit(width)
    if tpm < best / 2:
        tpm, sizes, corners, used = fit(2 * width)
    height = max(size, 1 << int(np.ceil(np.log2(used))))
    charts = [Chart(r, c, h, w) for (r, c), (h, w) in zip(corners, sizes, strict=True)]
    per_record, k = [], 2
    for w in walls:
        per_record.append(charts[k : k + len(w.runs)])
        k += len(w.runs)
    return Layout(width, height, tpm, charts[0], charts[1], per_record)


def _wall_splats(
    content: TileContent, blocks: Blocks, x0: float, z0: float, walls: list[Walls], layout: Layout
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(atlas rows, cols (texel-centre coordinates), weights, splat indices, footprints in texels):
    every splat near a wall, projected horizontally onto it, once per wall it is near."""
    splats = content.splats
    cell, g, tpm = blocks.cell_m, blocks.cells, layout.texels_per_m
    pos = splats.positions.astype(np.float64)
    local = {"x": pos[:, 0] - x0, "z": pos[:, 2] - z0}
    rise = pos[:, 1] - ground_under(np.asarray(content.heights), blocks.edge, local["x"], local["z"])
    _, area = _axes(content)
    near = (rise > WALL_MIN_RISE_M) & (splats.opacities > 0.02)
    footprint = np.maximum(0.5 * np.sqrt(area) * tpm, 0.25)  # a splat's size on the wall, texels
    rows, cols, weights, picked = [], [], [], []
    for record, charts in zip(walls, layout.walls, strict=True):
        if not len(record.line):
            continue
        across, along = (local["x"], local["z"]) if record.axis == "x" else (local["z"], local["x"])
        table = np.full((g + 1, g), -1, np.int64)  # the quad on each (line, along-cell)
        for q in range(len(record.line)):
            table[record.line[q], record.start[q] : record.stop[q]] = q
        a_cell = np.floor(along / cell).astype(np.int64)
        nearest_line = np.rint(across / cell).astype(np.int64)
        corner_row = np.array([c.row for c in charts], np.float64) + GUTTER
        corner_col = np.array([c.col for c in charts], np.float64) + GUTTER
        run_start, run_top = record.runs[:, 1] * cell, record.runs[:, 4]
        for k in (-2, -1, 0, 1, 2):  # every line within reach of a splat
            line = nearest_line + k
            offset = record.sign * (across - line * cell)  # > 0: in front of the wall
            ok = near & (a_cell >= 0) & (a_cell < g) & (line >= 0) & (line <= g)
            ok &= (offset <= WALL_FRONT_CELLS * cell) & (offset >= -WALL_BEHIND_CELLS * cell)
            quad = np.where(ok, table[np.clip(line, 0, g), np.clip(a_cell, 0, g - 1)], -1)
            sel = np.flatnonzero(quad >= 0)
            q = quad[sel]
            y = pos[sel, 1]
            span = (y >= record.bottom[q] - 0.5 * cell) & (y <= record.top[q] + 0.5 * cell)
            sel, q, y = sel[span], q[span], y[span]
            run = record.run[q]
            depth = np.maximum(0.0, -offset[sel])  # behind the plane: the nearest layer counts most
            rows.append(corner_row[run] + (run_top[run] - y) * tpm - 0.5)
            cols.append(corner_col[run] + (along[sel] - run_start[run]) * tpm - 0.5)
            weights.append(splats.opacities[sel] * np.exp(-depth / (0.25 * cell)) * footprint[sel] ** 2)
            picked.append(sel)
    if not picked:
        return np.zeros(0), np.zeros(0), np.zeros(0), np.zeros(0, np.int64), np.zeros(0)
    sel = np.concatenate(picked)
    return np.concatenate(rows), np.concatenate(cols), np.concatenate(weights), sel, footprint[sel]


def _tops_image(content: TileContent, blocks: Blocks, x0: float, z0: float, size: int) -> np.ndarray:
    """[size, size, 3] float: the carried splats from straight above, each block's highest most."""
    splats = content.splats
    cell = blocks.cell_m
    pos = splats.positions.astype(np.float64)
    carried = np.flatnonzero(blocks.carried)
    x, z = pos[carried, 0] - x0, pos[carried, 2] - z0
    top = blocks.top[np.floor(z / cell).astype(int), np.floor(x / cell).astype(int)]
    _, area = _axes(content)
    texel = blocks.edge / size
    footprint = np.maximum(0.5 * np.sqrt(area[carried]) / texel, 0.25)
    weight = splats.opacities[carried] * np.exp(-(top - pos[carried, 1]) / max(0.5, cell)) * footprint**2
    sigma = float(np.clip(np.median(footprint), 0.5, size / 8))
    image, covered = deposit(z / texel - 0.5, x / texel - 0.5, weight, splats.colors[carried], (size, size), sigma)
    return fill_holes(image, covered)


def _window(chart: Chart) -> tuple[slice, slice]:
    return slice(chart.row, chart.row + chart.height), slice(chart.col, chart.col + chart.width)


def _paste(atlas: np.ndarray, chart: Chart, image: np.ndarray) -> None:
    """``image`` into the chart's inside, its edge texels repeated over the gutter."""
    atlas[_window(chart)] = np.pad(image, ((GUTTER, GUTTER), (GUTTER, GUTTER), (0, 0)), mode="edge")


def bake_atlas(
    content: TileContent, blocks: Blocks, x0: float, z0: float, walls: list[Walls], layout: Layout, ground: np.ndarray
) -> np.ndarray:
    """[H, W, 3] float in [0, 1]: the ground image, the tops and the walls in their charts."""
    atlas = np.zeros((layout.height, layout.width, 3))
    inner = layout.ground.height - 2 * GUTTER
    _paste(atlas, layout.ground, ground)
    _paste(atlas, layout.tops, _tops_image(content, blocks, x0, z0, inner))
    rows, cols, weights, picked, footprint = _wall_splats(content, blocks, x0, z0, walls, layout)
    sigma = float(np.clip(np.median(footprint), 0.5, 2.0)) if len(picked) else 1.0
    image, covered = deposit(rows, cols, weights, content.splats.colors[picked], atlas.shape[:2], sigma)
    splats = content.splats
    fallback = np.average(
        np.clip(splats.colors[blocks.carried], 0, 1), axis=0, weights=splats.opacities[blocks.carried]
    )
    charted = np.zeros(atlas.shape[:2], bool)
    for chart in (layout.ground, layout.tops):
        charted[_window(chart)] = True
    for charts in layout.walls:
        for chart in charts:
            window = _window(chart)
            # A wall no splat reaches (the back of a house the photo never saw): its block's colour.
            atlas[window] = fill_holes(image[window], covered[window]) if covered[window].any() else fallback
            charted[window] = True
    return fill_holes(atlas, charted)  # the spare texels too, so mipmaps stay near the charts' colours


# -- geometry --------------------------------------------------------------------------------------


def _quads(corners: np.ndarray, normal: np.ndarray, uvs: np.ndarray) -> dict[str, np.ndarray]:
    """Quads [Q, 4, 3] (corners in order round the quad) with one normal each [Q, 3] and UVs
    [Q, 4, 2], as two triangles each, wound counter-clockwise seen from the normal's side."""
    q = corners.shape[0]
    base = (np.arange(q) * 4)[:, None]
    tris = (base + np.array([0, 1, 2, 0, 2, 3])).reshape(-1, 3)
    face = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    flip = np.repeat(np.einsum("ij,ij->i", face, normal) < 0, 2)
    tris[flip] = tris[flip][:, [0, 2, 1]]
    return {
        "positions": corners.reshape(-1, 3),
        "normals": np.repeat(normal, 4, axis=0),
        "uvs": uvs.reshape(-1, 2),
        "indices": tris,
    }


def block_mesh(blocks: Blocks, walls: list[Walls], layout: Layout) -> dict[str, np.ndarray]:
    """Tops and walls, tile-local, with their atlas UVs (glTF: u across, v down the image)."""
    cell, inner = blocks.cell_m, layout.tops.height - 2 * GUTTER
    scale = np.array([layout.width, layout.height], np.float64)
    parts = []
    rects = np.array(_top_rectangles(blocks.top), np.float64).reshape(-1, 5)
    if len(rects):
        r0, c0, r1, c1, h = rects.T
        xs = np.stack([c0, c1, c1, c0], 1) * cell
        zs = np.stack([r0, r0, r1, r1], 1) * cell
        corners = np.stack([xs, np.repeat(h[:, None], 4, 1), zs], -1)
        uv = np.stack(
            [layout.tops.col + GUTTER + xs / blocks.edge * inner, layout.tops.row + GUTTER + zs / blocks.edge * inner],
            -1,
        )
        parts.append(_quads(corners, np.tile([0.0, 1.0, 0.0], (len(rects), 1)), uv / scale))
    for record, charts in zip(walls, layout.walls, strict=True):
        if not len(record.line):
            continue
        across = np.repeat((record.line * cell)[:, None], 4, 1).astype(np.float64)
        along = np.stack([record.start, record.stop, record.stop, record.start], 1) * cell
        ys = np.stack([record.bottom, record.bottom, record.top, record.top], 1)
        xz = (across, along) if record.axis == "x" else (along, across)
        corners = np.stack([xz[0], ys, xz[1]], -1)
        normal = np.zeros((len(record.line), 3))
        normal[:, 0 if record.axis == "x" else 2] = record.sign
        run = record.run
        chart_row = np.array([c.row for c in charts], np.float64)[run] + GUTTER
        chart_col = np.array([c.col for c in charts], np.float64)[run] + GUTTER
        run_start, run_top = record.runs[run, 1] * cell, record.runs[run, 4]
        uv = np.stack(
            [
                chart_col[:, None] + (along - run_start[:, None]) * layout.texels_per_m,
                chart_row[:, None] + (run_top[:, None] - ys) * layout.texels_per_m,
            ],
            -1,
        )
        parts.append(_quads(corners, normal, uv / scale))
    offsets = np.cumsum([0] + [p["positions"].shape[0] for p in parts])
    return {
        "positions": np.concatenate([p["positions"] for p in parts]),
        "normals": np.concatenate([p["normals"] for p in parts]),
        "uvs": np.concatenate([p["uvs"] for p in parts]),
        "indices": np.concatenate([p["indices"] + o for p, o in zip(parts, offsets, strict=False)]),
    }


@dataclass(frozen=True)
class Standing:
    """What a tile's mesh adds for its blocks: the block faces, the atlas, where the ground goes."""

    mesh: dict[str, np.ndarray]  # positions, normals, uvs (in the atlas), indices; tile-local
    atlas: np.ndarray  # [H, W, 3] float in [0, 1]
    ground_uv: tuple[np.ndarray, np.ndarray]  # (scale [2], offset [2]): ground uv 0..1 -> the atlas


def build_standing(
    content: TileContent, blocks: Blocks, x0: float, z0: float, size: int, ground: np.ndarray
) -> Standing:
    """The blocks' faces and the atlas holding ``ground`` ([size - 2 GUTTER]^2, the ground's
    bake without the carried splats), the tops and the walls."""
    walls = [_walls(blocks, axis, sign) for axis in ("x", "z") for sign in (1, -1)]
    layout = layout_atlas(walls, blocks.cell_m, blocks.edge, size)
    atlas = bake_atlas(content, blocks, x0, z0, walls, layout, ground)
    inner = layout.ground.height - 2 * GUTTER
    dims = np.array([layout.width, layout.height], np.float64)
    offset = np.array([layout.ground.col + GUTTER, layout.ground.row + GUTTER], np.float64) / dims
    return Standing(block_mesh(blocks, walls, layout), atlas, (inner / dims, offset))
