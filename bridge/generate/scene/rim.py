"""Where an imported scene ends, and how the continuation takes over there without an edge.

A scene's splats stop somewhere: a trainer's capture radius, a world model's cut-off. Cut there,
the scene's ground meets the continuation's with a step in colour and height, and whatever stood
across the cut shows its inside. So (all on a grid of FIELD_CELL_M cells over the scene):

- the **footprint** is the 2 m cells under a few opaque splats, closed, holes filled, and only its
  largest connected piece: floaters far from the dense core make no footprint of their own and
  are trimmed before the boundary is decided;
- the **rim distance** is the signed distance to the footprint's (smoothed) outline, inside > 0;
- the scene's splats **fade** out (opacity) over the last FADE_M inside the rim;
- the scene's **ground** (the upper surface of the band of splats round our ground plane) is found
  per cell, its colour as a camera high above sees it, and both are carried past the rim from the
  nearest scene cell (the colour from a cell in: the outermost cells are where the scene thins);
- the continuation's ground lies on the scene's ground at the rim, sinks under it as an underlay
  inside, and outside bends back to its own terrain and colours over BLEND_M;
- the continuation's houses and trees stand whole outside the rim, or not at all (``clear_of``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bridge.formats.splats import SplatCloud

FOOTPRINT_CELL_M = 2.0
FOOTPRINT_MIN_SPLATS = 3  # per cell: a few floaters do not make a footprint
FOOTPRINT_MIN_OPACITY = 0.3
FIELD_CELL_M = 0.5  # the rim distance and ground fields' resolution
FADE_M = 4.0  # the scene fades out over this much inside its rim
OBJECT_CLEARANCE_M = 1.0  # a continuation house or tree stands at least this far outside the rim
BLEND_M = 12.0  # the continuation's ground takes the scene's height and colour this far out
GROUND_BAND_M = (-1.5, 0.6)  # round the ground plane found: the heights a cell's ground is sought in
GROUND_COVER = 0.5  # the ground is where this much of a cell is covered, reading down from the band's top
GROUND_COLOUR_BAND_M = 0.2  # splats this close to a cell's ground give its colour
# The ground's colour is what a camera high above sees of it (splats composited, as any view shows
# them), not the mean of the splats near it: the mean counts the ones hidden under others, and a
# scene's outermost cells came out darker than the ground just inside (0.38 against 0.41).
SEEN_PIXEL_M = 0.25  # on the ground, straight down
SEEN_MAX_PIXELS = 1024  # a side; a scene over 256 m across is seen coarser (0.5 m pixels at 512 m)
SEEN_FOV_DEG = 20.0  # narrow: a near-orthographic view from high above
SEEN_OPAQUE = 0.99  # a pixel that counts is covered by the scene
SEEN_MIN_SHARE = 0.25  # of a cell's pixels, seen ground, for the view to give its colour
SEEN_INSET_CELLS = 1  # the colour carried out is read this many cells in from the outline
_MARGIN_CELLS = 3 + math.ceil(BLEND_M / FOOTPRINT_CELL_M)  # empty cells round the footprint
_ZOOM = round(FOOTPRINT_CELL_M / FIELD_CELL_M)


def smoothstep(t: np.ndarray) -> np.ndarray:
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


@dataclass(frozen=True)
class SceneRim:
    """Fields over the scene on one grid: [rows (z), cols (x)] of FIELD_CELL_M cells."""

    origin: tuple[float, float]  # world (x, z) of cell (0, 0)'s corner
    distance: np.ndarray  # signed metres to the rim, inside > 0 (float32)
    ground: np.ndarray  # the scene's ground height, carried past the rim (float32)
    colour: np.ndarray  # [rows, cols, 3] its colour, likewise (float32)
    texture_mean: np.ndarray  # [3] the continuation ground's mean colour, far from the scene

    def _cells(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        h, w = self.distance.shape
        cols = np.clip(np.floor((x - self.origin[0]) / FIELD_CELL_M).astype(np.int64), 0, w - 1)
        rows = np.clip(np.floor((z - self.origin[1]) / FIELD_CELL_M).astype(np.int64), 0, h - 1)
        return rows, cols

    def at(self, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Rim distance, ground height and colour at world (x, z); off the grid the distance is
        its edge's (outside by more than BLEND_M, where the fields no longer matter)."""
        rows, cols = self._cells(np.asarray(x, dtype=np.float64), np.asarray(z, dtype=np.float64))
        return self.distance[rows, cols], self.ground[rows, cols], self.colour[rows, cols]

    def clear_of(self, x: np.ndarray, z: np.ndarray, reach: np.ndarray) -> np.ndarray:
        """Which objects at (x, z), reaching ``reach`` round, stay out of the scene by OBJECT_CLEARANCE_M."""
        return self.at(x, z)[0] < -(np.asarray(reach, dtype=np.float64) + OBJECT_CLEARANCE_M)

    def payload(self) -> dict[str, np.ndarray]:
        return {
            "rim_origin": np.array(self.origin, dtype=np.float64),
            "rim_distance": self.distance,
            "rim_ground": self.ground,
            "rim_colour": self.colour,
            "rim_texture_mean": self.texture_mean,
        }

    @classmethod
    def from_payload(cls, p: dict[str, np.ndarray]) -> SceneRim:
        o = p["rim_origin"]
        return cls(
            (float(o[0]), float(o[1])), p["rim_distance"], p["rim_ground"], p["rim_colour"], p["rim_texture_mean"]
        )


def find_rim(scene: SplatCloud) -> tuple[SceneRim, np.ndarray]:
    """The rim of ``scene`` (placed: ground at y = 0) and its footprint at FOOTPRINT_CELL_M."""
    solid = scene.positions[scene.opacities >= FOOTPRINT_MIN_OPACITY]
    if len(solid) == 0:
        solid = scene.positions if len(scene) else np.zeros((1, 3), dtype=np.float32)
    lo = (np.floor(solid[:, [0, 2]].min(axis=0) / FOOTPRINT_CELL_M) - _MARGIN_CELLS) * FOOTPRINT_CELL_M
    cols = np.floor((solid[:, 0] - lo[0]) / FOOTPRINT_CELL_M).astype(np.int64)
    rows = np.floor((solid[:, 2] - lo[1]) / FOOTPRINT_CELL_M).astype(np.int64)
    counts = np.zeros((rows.max() + 1 + _MARGIN_CELLS, cols.max() + 1 + _MARGIN_CELLS), dtype=np.int64)
    np.add.at(counts, (rows, cols), 1)
    footprint = ndimage.binary_fill_holes(ndimage.binary_closing(counts >= FOOTPRINT_MIN_SPLATS, iterations=2))
    footprint = _largest_piece(footprint)
    # The outline smoothed (bilinear over the 2 m cells), so the rim follows the scene, not a staircase.
    fine = ndimage.zoom(footprint.astype(np.float64), _ZOOM, order=1, mode="nearest", grid_mode=True) > 0.5
    distance = (
        ndimage.distance_transform_edt(fine) - ndimage.distance_transform_edt(~fine) - 0.5 * fine + 0.5 * ~fine
    ) * FIELD_CELL_M
    origin = (float(lo[0]), float(lo[1]))
    ground, colour = _ground_fields(scene, origin, fine)
    rim = SceneRim(origin, distance.astype(np.float32), ground, colour, np.full(3, 0.5, np.float32))
    return rim, footprint


def _largest_piece(cells: np.ndarray) -> np.ndarray:
    labels, count = ndimage.label(cells)
    if count <= 1:
        return cells
    sizes = np.bincount(labels.ravel())[1:]
    return labels == 1 + int(np.argmax(sizes))  # argmax takes the first of equals: deterministic


def _ground_fields(scene: SplatCloud, origin: tuple[float, float], inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per FIELD_CELL_M cell the scene's ground height and colour, found at FOOTPRINT_CELL_M
    (enough splats per cell) inside the footprint, smoothed, and carried outward to the nearest."""
    h, w = (s // _ZOOM for s in inside.shape)
    p = scene.positions.astype(np.float64)
    band = (p[:, 1] >= GROUND_BAND_M[0]) & (p[:, 1] <= GROUND_BAND_M[1])
    cols = np.floor((p[:, 0] - origin[0]) / FOOTPRINT_CELL_M).astype(np.int64)
    rows = np.floor((p[:, 2] - origin[1]) / FOOTPRINT_CELL_M).astype(np.int64)
    band &= (rows >= 0) & (rows < h) & (cols >= 0) & (cols < w)
    cell = rows[band] * w + cols[band]
    y = p[band, 1]
    # A splat's share of its cell seen from above (its two largest axes), by its opacity.
    axes = np.sort(scene.scales[band].astype(np.float64), axis=1)
    cover = scene.opacities[band] * math.pi * axes[:, 1] * axes[:, 2] / FOOTPRINT_CELL_M**2
    order = np.lexsort((-y, cell))  # by cell, top down
    cell, y, cover = cell[order], y[order], cover[order]
    starts = np.flatnonzero(np.r_[True, cell[1:] != cell[:-1]])
    total = np.add.reduceat(cover, starts)
    running = np.cumsum(cover)
    running -= np.repeat(running[starts] - cover[starts], np.diff(np.r_[starts, len(cell)]))
    need = np.repeat(np.minimum(GROUND_COVER, 0.5 * total), np.diff(np.r_[starts, len(cell)]))
    reached = running >= need
    # The first splat per cell whose running cover reaches the need (reduceat of the flags' positions).
    idx = np.where(reached, np.arange(len(cell)), len(cell))
    first = np.minimum.reduceat(idx, starts)
    heights = np.full(h * w, np.nan)
    heights[cell[starts]] = y[np.minimum(first, len(cell) - 1)]
    colours = np.full((h * w, 3), np.nan)
    near = np.abs(y - heights[cell]) <= GROUND_COLOUR_BAND_M
    weight = np.bincount(cell[near], cover[near], minlength=h * w)
    rgb = scene.colors[band][order][near].astype(np.float64)
    sums = np.stack([np.bincount(cell[near], cover[near] * rgb[:, c], minlength=h * w) for c in range(3)], axis=1)
    found = weight > 0
    colours[found] = sums[found] / weight[found, None]
    coarse_inside = inside[::_ZOOM, ::_ZOOM].ravel()
    known = coarse_inside & found & np.isfinite(heights)
    if not known.any():  # no ground in the band at all: the plane found is the ground, mid-grey
        return np.zeros(inside.shape, np.float32), np.full((*inside.shape, 3), 0.5, np.float32)
    seen = _seen_from_above(scene, origin, heights.reshape(h, w)).reshape(h * w, 3)
    # The colour carried out is read SEEN_INSET_CELLS in from the outline: the outermost cells are
    # where the scene thins out, and where it fades (FADE_M) what shows is the colour carried.
    seen_known = ndimage.binary_erosion(
        (coarse_inside & np.isfinite(seen[:, 0])).reshape(h, w), iterations=SEEN_INSET_CELLS
    ).ravel()
    if seen_known.any():
        colours, colour_known = seen, seen_known
    else:  # a scene too small or too sparse for the view: the splats' own mean near the ground
        colour_known = known
    height_grid = _carried(heights.reshape(h, w), known.reshape(h, w))
    colour_grid = np.stack([_carried(colours[:, c].reshape(h, w), colour_known.reshape(h, w)) for c in range(3)], 2)
    zoom = (_ZOOM, _ZOOM)
    fine_height = ndimage.zoom(height_grid, zoom, order=1, mode="nearest", grid_mode=True)
    fine_colour = ndimage.zoom(colour_grid, (*zoom, 1), order=1, mode="nearest", grid_mode=True)
    return fine_height.astype(np.float32), np.clip(fine_colour, 0.0, 1.0).astype(np.float32)


def _seen_from_above(scene: SplatCloud, origin: tuple[float, float], heights: np.ndarray) -> np.ndarray:
    """[rows, cols, 3] per FOOTPRINT_CELL_M cell, the colour a camera straight above sees where it
    sees the cell's ground (opaque, within GROUND_COLOUR_BAND_M of ``heights``: no roof or wall);
    NaN where it sees too little of it."""
    from bridge.render.rasterize import render_one_thread
    from bridge.world.camera import Camera, Intrinsics

    rows, cols = heights.shape
    extent = max(rows, cols) * FOOTPRINT_CELL_M
    pixels = min(math.ceil(extent / SEEN_PIXEL_M), SEEN_MAX_PIXELS)
    altitude = 0.5 * extent / math.tan(math.radians(SEEN_FOV_DEG / 2.0))
    centre = (origin[0] + 0.5 * cols * FOOTPRINT_CELL_M, origin[1] + 0.5 * rows * FOOTPRINT_CELL_M)
    k = Intrinsics.from_vertical_fov(SEEN_FOV_DEG, pixels, pixels)
    # Looking down with -z up the image: image right is +x, image down is +z.
    camera = Camera.looking((centre[0], altitude, centre[1]), (0.0, -1.0, 0.0), k, up=(0.0, 0.0, -1.0))
    view = render_one_thread(scene, camera)
    v, u = np.mgrid[0:pixels, 0:pixels] + 0.5
    depth = view.depth.astype(np.float64)
    x = centre[0] + depth * (u - k.cx) / k.fx
    z = centre[1] + depth * (v - k.cy) / k.fy
    y = altitude - depth
    col = np.floor((x - origin[0]) / FOOTPRINT_CELL_M).astype(np.int64)
    row = np.floor((z - origin[1]) / FOOTPRINT_CELL_M).astype(np.int64)
    on_grid = (view.alpha > SEEN_OPAQUE) & (row >= 0) & (row < rows) & (col >= 0) & (col < cols)
    cell = np.where(on_grid, row * cols + col, 0)
    ground = on_grid & (np.abs(y - heights.ravel()[cell]) <= GROUND_COLOUR_BAND_M)
    counts = np.bincount(cell[ground], minlength=rows * cols)
    sums = np.stack([np.bincount(cell[ground], view.image[..., c][ground], minlength=rows * cols) for c in range(3)], 1)
    per_cell = (FOOTPRINT_CELL_M / (extent / pixels)) ** 2
    enough = counts >= SEEN_MIN_SHARE * per_cell
    colours = np.full((rows * cols, 3), np.nan)
    # Rounded to the 8 bits a picture holds, as the spawn's view is: a last-bit difference in the
    # render (another CPU's vector kernels) must not reach the tiles' bytes.
    colours[enough] = np.round(sums[enough] / counts[enough, None] * 255.0) / 255.0
    return colours.reshape(rows, cols, 3)


def _carried(values: np.ndarray, known: np.ndarray) -> np.ndarray:
    """``values`` where ``known``, else the nearest known cell's; then smoothed a little (one
    cell's noise in the estimate must not become a bump in the continuation's ground)."""
    _, (rows, cols) = ndimage.distance_transform_edt(~known, return_indices=True)
    filled = values[rows, cols]
    return ndimage.gaussian_filter(filled, sigma=1.0, mode="nearest")


def fade(scene: SplatCloud, rim: SceneRim) -> tuple[SplatCloud, int]:
    """The scene trimmed to its footprint (floaters outside it dropped) and faded out over FADE_M
    inside the rim; and how many splats were trimmed."""
    distance = rim.at(scene.positions[:, 0], scene.positions[:, 2])[0].astype(np.float64)
    keep = distance > 0.0
    kept = scene.subset(keep)
    weight = smoothstep(distance[keep] / FADE_M).astype(np.float32)
    faded = SplatCloud(kept.positions, kept.scales, kept.rotations, kept.opacities * weight, kept.colors)
    return faded, int((~keep).sum())


def blend_ground(
    rim: SceneRim, x: np.ndarray, z: np.ndarray, y: np.ndarray, colours: np.ndarray | None = None, depth: float = 0.0
) -> tuple[np.ndarray, np.ndarray | None]:
    """The continuation's ground at (x, z), given its own heights ``y`` and ``colours``: on the
    scene's ground at the rim; inside, sunk ``depth`` under it as the scene fades in; outside,
    back to its own over BLEND_M. Its colours keep their texture (their difference from the
    continuation's mean) on the scene's: a flat colour would be a halo round the scene.
    Returns the new heights and colours (None if none given)."""
    distance, ground, colour = rim.at(x, z)
    distance = distance.astype(np.float64)
    take = 1.0 - smoothstep(-distance / BLEND_M)  # 1 inside and at the rim, 0 BLEND_M out
    sink = smoothstep(distance / FADE_M)  # 0 at the rim and outside, 1 FADE_M in
    height = (y * (1.0 - take) + ground * take - depth * sink).astype(np.float32)
    if colours is None:
        return height, None
    on_scene = colour + (colours - rim.texture_mean)
    mixed = colours * (1.0 - take[..., None]) + on_scene * take[..., None]
    return height, np.clip(mixed, 0.0, 1.0).astype(np.float32)
