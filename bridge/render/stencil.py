"""The renderer's compositing weights for splats that sit on the pixel grid, gathered by a stencil.

:func:`bridge.render.blend.composite_weights` serves any cloud: it enumerates every pixel of every
splat's footprint and sorts those (pixel, splat) pairs by pixel, which for a lifted photo (one
splat per pixel) is millions of pairs through a global sort. Here a splat whose whole footprint
(α >= 1/255) lies in the 5 x 5 pixels around its centre pixel sits in that pixel's cell of a grid,
and a pixel's candidates are the splats in the 25 cells around it: the pairs come grouped by pixel,
at most 25 to a pixel to put in depth order. Splats that do not fit the grid (a wider footprint, a
second splat in a taken cell, a tile edge clipping the footprint) are enumerated as blend does and
merged into their pixels' lists. The weights are blend's up to float32 rounding (α is evaluated in
float32 within the stencil); tests/render/test_stencil.py holds the two together.

A band of pixels' candidate lists are [P, C] arrays, one list a row: sorted row by row, composited
a column (one step down every list) at a time, and already in the order of CSR rows.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from bridge.formats.splats import SplatCloud
from bridge.render.blend import _ALPHA_THRESHOLD, _MAX_ALPHA, _TRANSMITTANCE_THRESHOLD, _footprint_table, _pairs
from bridge.world.camera import Camera

_REACH = 2  # pixels from the centre pixel, each way
_BAND = 1 << 14  # pixels composited at a time
_CELLS = tuple((dx, dy) for dy in range(-_REACH, _REACH + 1) for dx in range(-_REACH, _REACH + 1))
# A candidate's sort key: its depth rank in the high half, α's float32 bits riding along in the
# low half; little-endian, so that a sorted key array reads back as these two fields without a copy.
_HALVES = np.dtype([("alpha", "<f4"), ("rank", "<i4")])


def stencil_weights(
    cloud: SplatCloud, camera: Camera, pixels: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """The compositing weights onto ``pixels`` (ascending flat indices) as CSR rows (rows, indptr,
    splat, weight): CSR row i holds pixel ``pixels[rows[i]]``'s (input splat index int32, α T
    float32) front to back, so that its render is sum(weight * colour) + T_final * background.
    ``rows`` holds every position in ``pixels`` once, in no particular order."""
    k = camera.intrinsics
    table = _footprint_table(cloud, camera)
    rank = np.empty(table["order"].shape[0], dtype=np.int64)
    rank[table["order"]] = np.arange(rank.shape[0])
    on_grid, cell = _grid_splats(table, rank, k.width, k.height)
    grid = _grid_images(table, rank, on_grid, cell, (k.height, k.width))
    row, loose = _loose_pairs(table, rank, ~on_grid, pixels, (k.height, k.width))
    out = _CsrRows(pixels.shape[0] * len(_CELLS) + loose.shape[0], table["source"][table["order"]])
    # A band of pixels at a time: the working arrays stay small, in cache and reused; at full size
    # each was fresh pages from the system, which made a cold run about twice as slow.
    for start in range(0, pixels.shape[0], _BAND):
        stop = min(start + _BAND, pixels.shape[0])
        keys = _grid_candidates(grid, pixels[start:stop], k.width)
        lo, hi = np.searchsorted(row, (start, stop))
        for rows, key in _band_lists(keys, row[lo:hi] - start, loose[lo:hi]):
            out.add(rows + start, *_composite(key))
    return out.csr()


def _band_lists(keys: np.ndarray, row: np.ndarray, loose: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """A band's candidate lists as (rows, [R, C] keys): the rows no loose pair reaches, then those
    loose pairs reach (``row``, ascending, and ``loose``) with those pairs appended."""
    plain = np.ones(keys.shape[0], dtype=bool)
    plain[row] = False
    lists = [(np.flatnonzero(plain), keys[plain])]
    return lists + [(rows, np.concatenate([keys[rows], extra], axis=1)) for rows, extra in _loose_lists(row, loose)]


def _grid_splats(
    table: dict[str, np.ndarray], rank: np.ndarray, width: int, height: int
) -> tuple[np.ndarray, np.ndarray]:
    """(on_grid mask over the table, flat centre-pixel index): a splat is on the grid when its
    footprint lies in the 5 x 5 pixels around its centre pixel, unclipped, and it is the nearest
    splat whose centre falls in that pixel."""
    u, v = table["u"], table["v"]
    cx, cy = np.floor(u), np.floor(v)
    inside = (cx >= 0) & (cx < width) & (cy >= 0) & (cy < height)
    # The box of the α >= 1/255 ellipse within the square; a tile rectangle reaching 3 px past the
    # centre clips nothing in it.
    fits = inside & (table["radius"] > _REACH)
    fits &= (table["x0"] >= cx - _REACH) & (table["x1"] <= cx + _REACH)
    fits &= (table["y0"] >= cy - _REACH) & (table["y1"] <= cy + _REACH)
    cell = (np.where(inside, cy, 0) * width + np.where(inside, cx, 0)).astype(np.int64)
    idx = np.flatnonzero(fits)
    nearest = np.full(width * height, rank.shape[0], dtype=np.int64)
    np.minimum.at(nearest, cell[idx], rank[idx])
    on_grid = np.zeros(u.shape[0], dtype=bool)
    on_grid[idx[nearest[cell[idx]] == rank[idx]]] = True
    return on_grid, cell


class _Grid(NamedTuple):
    """The grid splats' fields on padded images, each cell holding its splat's (or 0)."""

    centre_x: np.ndarray  # the splat's centre relative to its cell's centre, pixels
    centre_y: np.ndarray
    half_a: np.ndarray  # the conic, halved and negated
    b: np.ndarray
    half_c: np.ndarray
    opacity: np.ndarray
    high: np.ndarray  # int64: the depth rank << 32; an empty cell's ranks behind every splat


def _grid_images(
    table: dict[str, np.ndarray], rank: np.ndarray, on_grid: np.ndarray, cell: np.ndarray, shape: tuple[int, int]
) -> _Grid:
    """The grid, padded by the stencil's reach. float32: offsets from a cell's centre are small, so
    their rounding moves α by ~1e-7."""
    height, width = shape
    padded = (height + 2 * _REACH, width + 2 * _REACH)
    idx = np.flatnonzero(on_grid)
    where = (cell[idx] // width + _REACH) * padded[1] + cell[idx] % width + _REACH

    def image(values: np.ndarray, fill: float | int = 0.0, dtype: type = np.float32) -> np.ndarray:
        out = np.full(padded, fill, dtype=dtype)
        out.ravel()[where] = values
        return out

    return _Grid(
        image(table["u"][idx] - cell[idx] % width - 0.5),
        image(table["v"][idx] - cell[idx] // width - 0.5),
        image(-0.5 * table["a"][idx]),
        image(-table["b"][idx]),
        image(-0.5 * table["c"][idx]),
        image(table["opacity"][idx]),
        image(rank[idx] << 32, np.int64(rank.shape[0]) << 32, np.int64),
    )


def _grid_candidates(grid: _Grid, pixels: np.ndarray, width: int) -> np.ndarray:
    """[P, 25] keys (see _HALVES) of the grid splats around each of ``pixels`` (ascending): α 0
    where a cell's splat's α there is under 1/255, an empty key (see _Grid.high) where it is empty."""
    top, bottom = int(pixels[0]) // width, int(pixels[-1]) // width + 1
    at = pixels - top * width  # within the rows [top, bottom)
    padded = (pixels // width + _REACH) * (width + 2 * _REACH) + pixels % width + _REACH
    keys = np.empty((pixels.shape[0], len(_CELLS)), dtype="<i8")
    for j, (dx, dy) in enumerate(_CELLS):
        # The splat whose cell is (dx, dy) away from each pixel: a shifted view of the grid.
        view = (slice(top + _REACH - dy, bottom + _REACH - dy), slice(_REACH - dx, _REACH - dx + width))
        off_x = np.float32(dx) - grid.centre_x[view]
        off_y = np.float32(dy) - grid.centre_y[view]
        exponent = off_x * (grid.half_a[view] * off_x + grid.b[view] * off_y) + grid.half_c[view] * off_y * off_y
        alpha = np.minimum(grid.opacity[view] * np.exp(exponent), np.float32(_MAX_ALPHA)).ravel()[at]
        alpha *= alpha >= _ALPHA_THRESHOLD  # under the threshold the renderer skips the pair
        keys[:, j] = grid.high.ravel().take(padded - (dy * (width + 2 * _REACH) + dx)) | alpha.view(np.uint32)
    return keys


def _loose_pairs(
    table: dict[str, np.ndarray], rank: np.ndarray, loose: np.ndarray, pixels: np.ndarray, shape: tuple[int, int]
) -> tuple[np.ndarray, np.ndarray]:
    """(position in ``pixels``, key) of the off-grid splats' pairs on ``pixels``, enumerated as blend
    does, by position."""
    row_of = np.full(shape[0] * shape[1], -1, dtype=np.int64)
    row_of[pixels] = np.arange(pixels.shape[0])
    pix, splat, alpha = _pairs(table, np.flatnonzero(loose), np.zeros(row_of.shape[0], dtype=bool), shape[1])
    row = row_of[pix]
    wanted = np.flatnonzero(row >= 0)
    wanted = wanted[np.argsort(row[wanted])]  # by pixel
    keys = (rank[splat[wanted]] << 32) | alpha[wanted].astype(np.float32).view(np.uint32)
    return row[wanted], keys.astype("<i8")


def _loose_lists(row: np.ndarray, key: np.ndarray) -> list[tuple[np.ndarray, np.ndarray]]:
    """The loose pairs (``row`` ascending) as (rows, [M, L] keys padded with 0, which sorts first as
    a splat of α 0) per group of rows with about as many pairs (1, 2, 3-4, 5-8, ...), to pad each
    only to its group's longest."""
    first = np.flatnonzero(np.diff(row, prepend=-1))
    rows, counts = row[first], np.diff(np.append(first, row.shape[0]))
    depth = np.arange(row.shape[0]) - np.repeat(first, counts)  # the pair's place in its row's list
    group = np.ceil(np.log2(counts)).astype(np.uint8)
    lists = []
    for g in np.unique(group):
        mine = group == g
        picked = np.repeat(mine, counts)
        extra = np.zeros((int(mine.sum()), int(counts[mine].max())), dtype="<i8")
        extra[np.repeat(np.arange(extra.shape[0]), counts[mine]), depth[picked]] = key[picked]
        lists.append((rows[mine], extra))
    return lists


def _composite(key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Each pixel's candidates ([P, C] keys, sorted here in place) composited front to back
    (rasterize._blend): ([P, C] depth rank, [P, C] weight α T), the weight 0 for empty candidates
    and from where the pixel stops: at the first splat that would take T to <= 1e-4, leaving that
    splat out."""
    key.sort(axis=1)
    halves = key.view(_HALVES)
    alpha = np.ascontiguousarray(halves["alpha"].T)  # [C, P]: a step down every list per row
    trans = np.empty((alpha.shape[0] + 1, alpha.shape[1]), dtype=np.float32)
    trans[0] = 1.0
    np.subtract(1.0, alpha, out=trans[1:])
    for j in range(1, trans.shape[0]):
        trans[j] *= trans[j - 1]  # T behind candidate j - 1
    weight = alpha * trans[:-1]
    weight *= trans[1:] > _TRANSMITTANCE_THRESHOLD
    return halves["rank"], np.ascontiguousarray(weight.T)


class _CsrRows:
    """CSR rows added a block at a time, into arrays sized for the most they can hold (the pages
    never written are never touched)."""

    def __init__(self, capacity: int, source: np.ndarray) -> None:
        self.source = source  # depth rank -> input splat
        self.splat = np.empty(capacity, dtype=np.int32)
        self.value = np.empty(capacity, dtype=np.float32)
        self.rows: list[np.ndarray] = []
        self.counts: list[np.ndarray] = []
        self.filled = 0

    def add(self, rows: np.ndarray, rank: np.ndarray, weight: np.ndarray) -> None:
        """Rows ``rows`` from [R, C] depth ranks and weights, zero weights left out."""
        kept = weight > 0
        end = self.filled + int(np.count_nonzero(kept))
        np.take(self.source, rank[kept], out=self.splat[self.filled : end])
        self.value[self.filled : end] = weight[kept]
        self.rows.append(rows)
        self.counts.append(np.count_nonzero(kept, axis=1))
        self.filled = end

    def csr(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(rows, indptr, splat, weight)."""
        counts = np.concatenate([np.zeros(1, dtype=np.int64), *self.counts])
        rows = np.concatenate([np.zeros(0, dtype=np.int64), *self.rows])
        return rows, np.cumsum(counts), self.splat[: self.filled], self.value[: self.filled]
