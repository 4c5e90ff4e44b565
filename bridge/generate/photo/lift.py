"""The spawn: the photo's pixels lifted into splats, so the first view *is* the photo.

One splat per working pixel (per ``k x k`` block at coarser LODs), at the pixel's estimated
depth, shaped to cover its pixel as seen from the photo's camera: ground splats lie flat on the
ground, stretched along the view direction by the grazing angle; upright splats lie in the
surface of what stands (see :mod:`bridge.generate.photo.uprights`), as wide as the step to their
row neighbours, so a step aside stretches that surface like a mesh rather than opening gaps;
backdrop splats stand upright facing the spawn. Their colours come from
:func:`bridge.generate.photo.solve.solve_colours`, which undoes the blur the renderer's splat
footprint adds, so rendering from the spawn camera gives the photo back.
"""

from __future__ import annotations

import numpy as np

from bridge.formats._quat import frame_from_axis, wxyz_from_matrix
from bridge.formats.splats import SplatCloud
from bridge.generate.photo.analysis import KIND_GROUND, KIND_SKY, KIND_UPRIGHT, PhotoAnalysis

FOOTPRINT_PX = 0.5  # splat standard deviation, in pixels of the photo at the spawn
MAX_STRETCH = 24.0  # cap on how elongated a grazing ground splat may get
MAX_RAMP_STRETCH = 96.0  # cap on how wide an upright splat may grow where its surface bends back (see analysis)
UPRIGHT_STAGGER = 0.25  # depth step between neighbouring upright splats, in footprints (see _splats_at)
THICKNESS = 0.1  # splat thickness relative to its width: discs, not balls
APRON_PX = 256.0  # working pixels of ground lifted around the frame, so nothing else reaches into it
# The apron carries the frame's edge colours outward; farther than this, a frame edge's one colour
# smeared sideways reads as a stain on the ground (a rock at the photo's corner became a dark
# blot beside the spawn), so the apron fades out over these working pixels and the synthesised
# ground under it shows through. At 16-64 it still ran as a dark band beside the frame at every
# 45-degree turn (lyra2_07's ground there 0.09 in luminance against 0.59 beyond); the spawn's
# view is the same with 2-8 (it sees none of the apron past the splats' own reach).
APRON_FADE_PX = (2.0, 8.0)


def frame_distance_px(u: np.ndarray, v: np.ndarray, width: int, height: int) -> np.ndarray:
    """How far (u, v) lies outside a ``width x height`` frame, in pixels (0 inside)."""
    return np.hypot(np.maximum(0, -u) + np.maximum(0, u - width), np.maximum(0, v - height))


def apron_opacity(outside_px: np.ndarray) -> np.ndarray:
    """The apron's opacity by distance from the frame: 1 next to it, fading smoothly to 0."""
    start, end = APRON_FADE_PX
    t = np.clip((end - outside_px) / (end - start), 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _block_mean(values: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    h, w = weights.shape
    hh, ww = h // k, w // k
    v = values[: hh * k, : ww * k].reshape(hh, k, ww, k, -1)
    wt = weights[: hh * k, : ww * k].reshape(hh, k, ww, k, 1).astype(np.float64)
    return ((v * wt).sum(axis=(1, 3)) / np.maximum(wt.sum(axis=(1, 3)), 1e-9)).astype(np.float32)


def apron_pixels(width: int, height: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, stride, distance) of the apron: pixel positions left, right of and below the frame,
    out to APRON_PX, in rings whose stride doubles with the distance from the frame (>= 2 strides
    away), so no apron splat reaches back into the frame; and each one's distance from it."""
    us, vs, strides, outs = [], [], [], []
    stride = k
    inner = 0.0
    while inner < APRON_PX:
        outer = min(APRON_PX, max(4.0 * stride, inner + stride))
        u = np.arange(-outer, width + outer, stride) + stride / 2.0
        v = np.arange(0.0, height + outer, stride) + stride / 2.0
        uu, vv = np.meshgrid(u, v)
        out = frame_distance_px(uu, vv, width, height)
        ring = (out > inner) & (out <= outer)
        us.append(uu[ring])
        vs.append(vv[ring])
        strides.append(np.full(int(ring.sum()), float(stride)))
        outs.append(out[ring])
        inner = outer
        stride *= 2
    return np.concatenate(us), np.concatenate(vs), np.concatenate(strides), np.concatenate(outs)


def lift(analysis: PhotoAnalysis, colours: np.ndarray, k: int, extension: np.ndarray | None = None) -> SplatCloud:
    """Splats for the whole photo at ``k x k`` pixels per splat (k = 1 near, 2^n on coarser tiles), plus, given the
    photo's ``extension`` colours, the apron of ground splats around the frame."""
    camera = analysis.camera
    h, w = analysis.kind.shape
    hh, ww = h // k, w // k
    not_sky = analysis.kind != KIND_SKY
    block_colour = _block_mean(colours, not_sky, k)
    # The block's kind is its centre pixel's; its ray goes through the block's centre.
    centre_rows = np.arange(hh) * k + k // 2
    centre_cols = np.arange(ww) * k + k // 2
    kind = analysis.kind[np.ix_(centre_rows, centre_cols)]
    vv, uu = np.meshgrid(np.arange(hh) * k + k / 2.0, np.arange(ww) * k + k / 2.0, indexing="ij")
    keep = kind != KIND_SKY
    frame = _splats_at(analysis, uu[keep], vv[keep], kind[keep], block_colour[keep], np.full(int(keep.sum()), k))
    if extension is None:
        return frame
    au, av, stride, outside = apron_pixels(w, h, k)
    ui = np.clip(au.astype(np.int64), 0, w - 1)
    vi = np.clip(av.astype(np.int64), 0, h - 1)
    rays = camera.rays_through(au, av)
    down = -rays[:, 1]
    with np.errstate(divide="ignore"):
        reach = np.where(down > 1e-6, camera.position[1] / down * np.hypot(rays[:, 0], rays[:, 2]), np.inf)
    opacity = apron_opacity(outside)
    on_ground = (reach <= analysis.lift_radius_m) & (opacity > 0)
    apron = _splats_at(
        analysis,
        au[on_ground],
        av[on_ground],
        np.full(int(on_ground.sum()), KIND_GROUND, dtype=np.uint8),
        extension[vi[on_ground], ui[on_ground]],
        stride[on_ground],
    )
    faded = opacity[on_ground].astype(np.float32)
    apron = SplatCloud(apron.positions, apron.scales, apron.rotations, faded, apron.colors)
    return SplatCloud.concat([frame, apron])


def _splats_at(
    analysis: PhotoAnalysis, u: np.ndarray, v: np.ndarray, kind: np.ndarray, colour: np.ndarray, stride: np.ndarray
) -> SplatCloud:
    """Splats through pixel positions (u, v), each covering ``stride`` pixels of the spawn view."""
    camera = analysis.camera
    rays = camera.rays_through(u, v)
    height = camera.position[1]
    horizontal = np.maximum(np.hypot(rays[:, 0], rays[:, 2]), 1e-6)
    down = np.maximum(-rays[:, 1], 1e-6)
    ground = kind == KIND_GROUND
    upright = kind == KIND_UPRIGHT
    # Standing and backdrop splats lie this far out over the ground (the apron has neither).
    distance = np.full(len(u), analysis.lift_radius_m)
    if upright.any():
        reach = analysis.ground_reach()
        h, w = reach.shape
        row = np.clip(v[upright].astype(np.int64), 0, h - 1)
        distance[upright] = reach[row, np.clip(u[upright].astype(np.int64), 0, w - 1)]
    t = np.where(ground, height / down, distance / horizontal)
    across = FOOTPRINT_PX * stride * t / camera.intrinsics.fx  # metres covered by the footprint sideways
    # Upright neighbours stand at nearly one depth from the spawn, so a stream codec's position
    # grid can swap which of two overlapping ones is drawn first (costing dB at the spawn).
    # Staggered along their own rays, by a fraction of their size, in a 2x2 pattern, every pair
    # of neighbours keeps a definite order; along the ray nothing moves on the spawn's screen.
    pattern = 2 * (np.floor(v / stride) % 2) + np.floor(u / stride) % 2
    t = t + np.where(upright, pattern * UPRIGHT_STAGGER * across, 0.0)
    positions = camera.position + rays * t[:, None]
    positions[ground, 1] = 0.0  # exactly on the plane, not a rounding error above or below it
    # Ground: the footprint stretches along the view direction by 1 / sin(grazing angle).
    stretch = np.clip(1.0 / down, 1.0, MAX_STRETCH)
    # Standing: rows stretch by 1 / cos(elevation) on a vertical surface.
    upright_stretch = np.clip(1.0 / horizontal, 1.0, MAX_STRETCH)
    # Backdrop splats face the spawn (local z along the ray's horizontal direction). An upright
    # splat lies in its surface as its row's neighbours define it, as wide as the step to them:
    # seen from the spawn that is its pixel, seen from aside it closes up to its neighbours like
    # a mesh would (where the surface bends back to the backdrop, see analysis.lift_depth).
    yaw = np.arctan2(rays[:, 0], rays[:, 2])
    rotations = np.stack([np.cos(yaw / 2), np.zeros_like(yaw), np.sin(yaw / 2), np.zeros_like(yaw)], axis=1)
    width = across.copy()
    if upright.any():
        step = _row_step(analysis, reach, u[upright], v[upright], stride[upright])
        length = np.linalg.norm(step, axis=1)
        beside = length > 1e-9  # with no neighbour on either side it faces the spawn
        which = np.flatnonzero(upright)[beside]
        rotations[which] = wxyz_from_matrix(_frame(step[beside] / length[beside, None]))
        width[upright] = np.clip(FOOTPRINT_PX * length, across[upright], MAX_RAMP_STRETCH * across[upright])
    scales = np.where(
        ground[:, None],
        np.stack([across, across * THICKNESS, across * stretch], axis=1),
        np.stack([width, across * upright_stretch, across * THICKNESS], axis=1),
    )
    return SplatCloud.from_arrays(positions, scales, rotations, np.ones(len(t)), colour)


def _row_step(
    analysis: PhotoAnalysis, reach: np.ndarray, u: np.ndarray, v: np.ndarray, stride: np.ndarray
) -> np.ndarray:
    """[N, 3] the step between the points ``stride`` pixels left and right of (u, v), per stride:
    a central difference, one-sided beside the sky, zero between two skies."""
    camera = analysis.camera
    h, w = reach.shape
    row = np.clip(v.astype(np.int64), 0, h - 1)

    def point(at: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        distance = reach[row, np.clip(at.astype(np.int64), 0, w - 1)]
        seen = np.isfinite(distance) & (at >= 0) & (at < w)
        rays = camera.rays_through(at, v)
        scale = np.where(seen, distance, 0.0) / np.maximum(np.hypot(rays[:, 0], rays[:, 2]), 1e-6)
        return rays * scale[:, None], seen

    (left, has_left), (centre, _), (right, has_right) = (point(u + o * stride) for o in (-1.0, 0.0, 1.0))
    both, only_right, only_left = has_left & has_right, has_right & ~has_left, has_left & ~has_right
    step = np.zeros_like(centre)
    step[both] = (right[both] - left[both]) / 2
    step[only_right] = right[only_right] - centre[only_right]
    step[only_left] = centre[only_left] - left[only_left]
    return step


def _frame(along: np.ndarray) -> np.ndarray:
    """[N, 3, 3] rotations whose local +x is ``along`` (unit) and local +y as near world up as that allows."""
    m = frame_from_axis(along)  # local +z along, +x horizontal, +y the rest of up
    return np.stack([m[..., 2], m[..., 1], -m[..., 0]], axis=2)  # turned a quarter about local +y
