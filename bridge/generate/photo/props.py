"""Upright objects cut out of the photo and stood up across the continuation.

The band between the photo's skyline and its horizon holds what stands up in the scene:
buildings, trees, ridges. We cut it into pieces at the skyline's valleys; a piece with sky above
most of it is a prop. Props stand on a world-anchored grid of cells, at most one per cell, chosen
and posed by hashing the cell, so every tile finds the same props wherever it is made. A prop is
two crossed vertical planes of splats (it never vanishes edge-on), built coarser at coarser LODs
from the same cut-out, and belongs to the one tile its foot stands in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bridge.formats.splats import SplatCloud
from bridge.generate.hashing import hash_to_unit
from bridge.generate.photo.analysis import KIND_SKY, PhotoAnalysis
from bridge.world.camera import Camera

CELL_M = 48.0  # one prop at most per cell of this edge
PRESENCE = 0.3  # probability that a cell holds a prop
PIECE_WIDTH_PX = (24, 96)  # a piece of the skyline band is cut between these widths (working pixels)
MIN_HEIGHT_PX = 10  # pieces lower than this are ground, not objects
MAX_ASPECT = 4.0  # pieces taller than this many widths are slivers of something larger, not objects
TEXEL_PX = 2  # a LOD-0 prop splat covers TEXEL_PX x TEXEL_PX pixels of its cut-out
SPLAT_OVERLAP = 0.7  # splat std dev as a fraction of its spacing
THICKNESS = 0.1
EDGE_TAPER = 0.2  # a piece's left and right fifths fade out, so cuts never show as straight edges
SCALE_RANGE = (1.0, 1.8)  # the backdrop stands nearer than most of what it shows: props grow
MIN_SPLATS = 3  # at LODs where a prop would be fewer splats than this, it is left out
HIDDEN_MARGIN_PX = 3.0  # a prop seen from the spawn must stay this far below the photo's skyline


@dataclass(frozen=True)
class Cutout:
    colours: np.ndarray  # [h, w, 3] float32, the photo's own colours
    alpha: np.ndarray  # [h, w] float32, 0 outside the object
    metres_per_px: float  # its size where the photo shows it (on the backdrop)

    @property
    def half_width_m(self) -> float:
        return self.colours.shape[1] * self.metres_per_px / 2


@dataclass(frozen=True)
class PropLayer:
    """A prop's splats at one LOD, in its own frame: x across, y up from its foot, centred."""

    across: np.ndarray  # [n] metres
    up: np.ndarray  # [n] metres
    colours: np.ndarray  # [n, 3]
    opacity: np.ndarray  # [n]
    sigma_m: float


def cut_props(analysis: PhotoAnalysis) -> list[Cutout]:
    """The photo's skyline band cut into props (none when the photo shows no sky to cut against)."""
    h = analysis.kind.shape[0]
    not_sky = analysis.kind != KIND_SKY
    # The band's foot: the horizon, a little below it (objects stand on ground short of it).
    foot = int(min(h, max(1, round(analysis.horizon_v + 0.02 * h))))
    top = np.argmax(not_sky, axis=0)  # first non-sky row per column
    top = np.where(not_sky.any(axis=0), top, h)
    sky_above = analysis.sky[0]  # the column reaches the top as sky: something stands against it
    depth_px = np.clip(foot - top, 0, None)
    if not sky_above.any() or depth_px.max() < MIN_HEIGHT_PX:
        return []
    metres_per_px = analysis.lift_radius_m / analysis.camera.intrinsics.fx
    cutouts = []
    for left, right in _pieces(top, sky_above):
        columns = slice(left, right)
        row0 = int(top[columns].min())
        if np.median(depth_px[columns]) < MIN_HEIGHT_PX or foot - row0 > MAX_ASPECT * (right - left):
            continue
        alpha = not_sky[row0:foot, columns].astype(np.float32)
        alpha = ndimage.binary_erosion(alpha > 0, iterations=1, border_value=1).astype(np.float32)
        width = right - left
        x = (np.arange(width) + 0.5) / width
        taper = np.clip(np.minimum(x, 1 - x) / EDGE_TAPER, 0, 1)
        alpha *= (taper * taper * (3 - 2 * taper))[None, :]
        colours = analysis.image[row0:foot, columns].astype(np.float32)
        cutouts.append(Cutout(colours=colours, alpha=alpha, metres_per_px=metres_per_px))
    return cutouts


def _pieces(top: np.ndarray, sky_above: np.ndarray) -> list[tuple[int, int]]:
    """Column ranges over runs of columns with sky above them (an object the frame cuts off at the
    top is not whole); each piece ends at the lowest skyline (a valley) within the allowed widths."""
    lo, hi = PIECE_WIDTH_PX
    labels, _ = ndimage.label(sky_above)
    pieces = []
    for run in ndimage.find_objects(labels):
        left, end = run[0].start, run[0].stop
        while end - left >= lo:
            window = top[left + lo : min(end, left + hi + 1)]
            # A run exactly ``lo`` wide has no valley to search: it is one piece.
            right = min(end, left + lo + int(np.argmax(window))) if window.size else end
            if end - right < lo:  # no room for another piece: this one takes the rest
                right = end if end - left <= hi else right
            pieces.append((left, right))
            left = right
    return pieces


def prop_layer(cutout: Cutout, detail: float) -> PropLayer:
    """The cut-out as splats at ``detail``: TEXEL_PX * detail pixels per splat (at least one),
    opacity-weighted colours."""
    k = max(1, round(TEXEL_PX * detail))
    h, w = cutout.alpha.shape
    rows, cols = -(-h // k), -(-w // k)
    pad = ((rows * k - h, 0), (0, cols * k - w))  # pad at the top: the foot row stays whole
    alpha = np.pad(cutout.alpha, pad).reshape(rows, k, cols, k)
    colours = np.pad(cutout.colours, (*pad, (0, 0))).reshape(rows, k, cols, k, 3)
    weight = alpha.sum(axis=(1, 3))
    mean_alpha = weight / (k * k)
    mean_colour = (colours * alpha[..., None]).sum(axis=(1, 3)) / np.maximum(weight, 1e-6)[..., None]
    keep = mean_alpha > 0.05
    r, c = np.nonzero(keep)
    spacing = k * cutout.metres_per_px
    return PropLayer(
        across=((c + 0.5) * k - w / 2) * cutout.metres_per_px,
        up=(rows - r - 0.5) * spacing,
        colours=mean_colour[keep],
        opacity=np.clip(mean_alpha[keep], 0, 0.99),
        sigma_m=spacing * SPLAT_OVERLAP,
    )


@dataclass(frozen=True)
class SpawnView:
    """What props must keep clear of, read once per world: the spawn camera, the lifted photo's
    radius, and the photo's skyline (per column, the first row that is not sky)."""

    camera: Camera
    lift_radius_m: float
    skyline: np.ndarray  # [w] float rows

    @classmethod
    def of(cls, analysis: PhotoAnalysis) -> SpawnView:
        not_sky = analysis.kind != KIND_SKY
        height = not_sky.shape[0]
        skyline = np.where(not_sky.any(axis=0), np.argmax(not_sky, axis=0), height).astype(np.float64)
        return cls(analysis.camera, analysis.lift_radius_m, skyline)

    def skyline_rise(self, columns: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """[N] tan of the elevation of the ray through each of ``columns`` (clipped to the frame)
        at ``rows`` (default: the skyline's row there): a point ``d`` metres out over the ground
        stands under the skyline while it is lower than the camera's height + d * this."""
        k = self.camera.intrinsics
        columns = np.clip(columns, 0, k.width - 1)
        rows = self.skyline[columns.astype(np.int64)] if rows is None else rows
        rays = self.camera.rays_through(columns, rows)
        return rays[:, 1] / np.maximum(np.hypot(rays[:, 0], rays[:, 2]), 1e-9)


@dataclass(frozen=True)
class Placement:
    x: np.ndarray
    y: np.ndarray  # the ground under each foot
    z: np.ndarray
    which: np.ndarray  # index into the cut-outs
    yaw: np.ndarray  # radians
    scale: np.ndarray
    mirror: np.ndarray  # bool

    def subset(self, keep: np.ndarray) -> Placement:
        return Placement(*(getattr(self, f)[keep] for f in ("x", "y", "z", "which", "yaw", "scale", "mirror")))


def placements(
    bounds: tuple[float, float, float, float],
    cutouts: list[Cutout],
    seed: int,
    keep_clear: SpawnView,
    ground_height: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = None,
) -> Placement:
    """The props whose foot stands inside ``bounds`` (x0, z0, x1, z1), away from the lifted photo
    and hidden behind its skyline from the spawn (standing on ``ground_height``, or y = 0)."""
    x0, z0, x1, z1 = bounds
    ci = np.arange(math.floor(x0 / CELL_M), math.ceil(x1 / CELL_M))
    cj = np.arange(math.floor(z0 / CELL_M), math.ceil(z1 / CELL_M))
    gi, gj = (a.ravel() for a in np.meshgrid(ci, cj, indexing="ij"))
    present = hash_to_unit(gi, gj, seed, 11) < PRESENCE
    gi, gj = gi[present], gj[present]
    x = (gi + 0.15 + 0.7 * hash_to_unit(gi, gj, seed, 12)) * CELL_M
    z = (gj + 0.15 + 0.7 * hash_to_unit(gi, gj, seed, 13)) * CELL_M
    inside = (x >= x0) & (x < x1) & (z >= z0) & (z < z1)  # the cells overlap the tile; the feet decide
    gi, gj, x, z = gi[inside], gj[inside], x[inside], z[inside]
    which = np.minimum((hash_to_unit(gi, gj, seed, 14) * len(cutouts)).astype(np.int64), len(cutouts) - 1)
    scale = SCALE_RANGE[0] + (SCALE_RANGE[1] - SCALE_RANGE[0]) * hash_to_unit(gi, gj, seed, 15)
    half_width = np.array([c.half_width_m for c in cutouts])[which] * scale
    height = np.array([c.alpha.shape[0] * c.metres_per_px for c in cutouts])[which] * scale
    foot_y = ground_height(x, z) if ground_height is not None else np.zeros_like(x)
    keep = _clear_of_photo(x, z, foot_y + height, half_width, keep_clear)
    return Placement(
        x=x[keep],
        y=foot_y[keep],
        z=z[keep],
        which=which[keep],
        yaw=(hash_to_unit(gi, gj, seed, 16) * math.pi)[keep],
        scale=scale[keep],
        mirror=(hash_to_unit(gi, gj, seed, 17) < 0.5)[keep],
    )


def _clear_of_photo(
    x: np.ndarray, z: np.ndarray, top_y: np.ndarray, half_width: np.ndarray, spawn: SpawnView
) -> np.ndarray:
    """Props clear of the lifted photo's ground and, seen from the spawn, hidden behind what the
    photo shows: wholly outside its frame, or with their top below its skyline (they stand
    beyond the backdrop, so the backdrop covers the rest). The first view stays the photo."""
    camera = spawn.camera
    dx, dz = x - camera.position[0], z - camera.position[2]
    distance = np.hypot(dx, dz)
    beyond_lift = distance - half_width > spawn.lift_radius_m * 1.2
    # The prop's top edge as the spawn sees it: its two ends, across the line of sight.
    across = np.stack([-dz, dz * 0.0, dx], axis=1) / np.maximum(distance, 1e-9)[:, None]
    top = np.stack([x, top_y, z], axis=1)
    ends = [top + across * half_width[:, None], top - across * half_width[:, None]]
    (uv_a, depth_a), (uv_b, depth_b) = (camera.project(e) for e in ends)
    k = camera.intrinsics
    in_front = (depth_a > 0) & (depth_b > 0)
    behind = (depth_a <= 0) & (depth_b <= 0)
    left = np.minimum(uv_a[:, 0], uv_b[:, 0]) - HIDDEN_MARGIN_PX
    right = np.maximum(uv_a[:, 0], uv_b[:, 0]) + HIDDEN_MARGIN_PX
    outside_frame = in_front & ((right < 0) | (left >= k.width))
    span_lowest = span_max(spawn.skyline, left, right)  # the skyline's lowest row over the prop's span
    top_v = np.minimum(uv_a[:, 1], uv_b[:, 1]) - HIDDEN_MARGIN_PX
    below_skyline = in_front & (top_v >= span_lowest)
    return beyond_lift & (behind | outside_frame | below_skyline)


def span_max(values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """max(values[ceil(left) .. floor(right)]) per span, the spans clipped to the array."""
    n = values.size
    lo = np.clip(np.floor(np.nan_to_num(left, nan=0.0)), 0, n - 1).astype(np.int64)
    hi = np.clip(np.ceil(np.nan_to_num(right, nan=n - 1.0)), 0, n - 1).astype(np.int64)
    out = np.empty(lo.size)
    for i in range(lo.size):  # a handful of props per tile
        out[i] = values[lo[i] : max(hi[i], lo[i]) + 1].max()
    return out


def prop_splats(placed: Placement, layers: list[PropLayer]) -> SplatCloud:
    """Each placed prop as two crossed vertical planes of its layer's splats, its foot on the ground."""
    clouds = []
    for i in range(placed.x.size):
        layer = layers[int(placed.which[i])]
        n = layer.across.size
        if n < MIN_SPLATS:
            continue
        scale = float(placed.scale[i])
        across = layer.across * scale * (-1.0 if placed.mirror[i] else 1.0)
        for yaw in (float(placed.yaw[i]), float(placed.yaw[i]) + math.pi / 2):
            # The plane's local x runs along (cos yaw, 0, -sin yaw); its normal is (sin yaw, 0, cos yaw).
            x = placed.x[i] + across * math.cos(yaw)
            z = placed.z[i] - across * math.sin(yaw)
            positions = np.stack([x, placed.y[i] + layer.up * scale, z], axis=1)
            sigma = layer.sigma_m * scale
            scales = np.tile([sigma, sigma, sigma * THICKNESS], (n, 1))
            rotations = np.tile([math.cos(yaw / 2), 0.0, math.sin(yaw / 2), 0.0], (n, 1))
            clouds.append(SplatCloud.from_arrays(positions, scales, rotations, layer.opacity, layer.colours))
    return SplatCloud.concat(clouds)
