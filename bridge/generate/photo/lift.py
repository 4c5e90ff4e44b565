"""The spawn: the photo's pixels lifted into splats, so the first view *is* the photo.

One splat per working pixel (per ``k x k`` block at coarser LODs), at the pixel's estimated
depth, shaped to cover its pixel as seen from the photo's camera: ground splats lie flat on the
ground, stretched along the view direction by the grazing angle; backdrop splats stand upright
facing the spawn. Their colours come from :func:`bridge.generate.photo.solve.solve_colours`, which undoes the blur the
renderer's splat footprint adds, so rendering from the spawn camera gives the photo back.
"""

from __future__ import annotations

import numpy as np

from bridge.formats.splats import SplatCloud
from bridge.generate.photo.analysis import KIND_GROUND, KIND_SKY, PhotoAnalysis

FOOTPRINT_PX = 0.5  # splat standard deviation, in pixels of the photo at the spawn
MAX_STRETCH = 24.0  # cap on how elongated a grazing ground splat may get
THICKNESS = 0.1  # splat thickness relative to its width: discs, not balls
APRON_PX = 256.0  # working pixels of ground lifted around the frame, so nothing else reaches into it


def _block_mean(values: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    h, w = weights.shape
    hh, ww = h // k, w // k
    v = values[: hh * k, : ww * k].reshape(hh, k, ww, k, -1)
    wt = weights[: hh * k, : ww * k].reshape(hh, k, ww, k, 1).astype(np.float64)
    return ((v * wt).sum(axis=(1, 3)) / np.maximum(wt.sum(axis=(1, 3)), 1e-9)).astype(np.float32)


def apron_pixels(width: int, height: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, stride) of the apron: pixel positions left, right of and below the frame, out to
    APRON_PX, in rings whose stride doubles with the distance from the frame (>= 2 strides away),
    so no apron splat reaches back into the frame."""
    us, vs, strides = [], [], []
    stride = k
    inner = 0.0
    while inner < APRON_PX:
        outer = min(APRON_PX, max(4.0 * stride, inner + stride))
        u = np.arange(-outer, width + outer, stride) + stride / 2.0
        v = np.arange(0.0, height + outer, stride) + stride / 2.0
        uu, vv = np.meshgrid(u, v)
        out = np.hypot(np.maximum(0, -uu) + np.maximum(0, uu - width), np.maximum(0, vv - height))
        ring = (out > inner) & (out <= outer)
        us.append(uu[ring])
        vs.append(vv[ring])
        strides.append(np.full(int(ring.sum()), float(stride)))
        inner = outer
        stride *= 2
    return np.concatenate(us), np.concatenate(vs), np.concatenate(strides)


def lift(analysis: PhotoAnalysis, colours: np.ndarray, k: int, extension: np.ndarray | None = None) -> SplatCloud:
    """Splats for the whole photo at ``k x k`` pixels per splat (k = 2^lod), plus, given the
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
    au, av, stride = apron_pixels(w, h, k)
    ui = np.clip(au.astype(np.int64), 0, w - 1)
    vi = np.clip(av.astype(np.int64), 0, h - 1)
    rays = camera.rays_through(au, av)
    down = -rays[:, 1]
    with np.errstate(divide="ignore"):
        reach = np.where(down > 1e-6, camera.position[1] / down * np.hypot(rays[:, 0], rays[:, 2]), np.inf)
    on_ground = reach <= analysis.lift_radius_m
    apron = _splats_at(
        analysis,
        au[on_ground],
        av[on_ground],
        np.full(int(on_ground.sum()), KIND_GROUND, dtype=np.uint8),
        extension[vi[on_ground], ui[on_ground]],
        stride[on_ground],
    )
    return SplatCloud.concat([frame, apron])


def _splats_at(
    analysis: PhotoAnalysis, u: np.ndarray, v: np.ndarray, kind: np.ndarray, colour: np.ndarray, stride: np.ndarray
) -> SplatCloud:
    """Splats through pixel positions (u, v), each covering ``stride`` pixels of the spawn view."""
    camera = analysis.camera
    rays = camera.rays_through(u, v)
    height = camera.position[1]
    horizontal = np.hypot(rays[:, 0], rays[:, 2])
    down = np.maximum(-rays[:, 1], 1e-6)
    ground = kind == KIND_GROUND
    t = np.where(ground, height / down, analysis.lift_radius_m / np.maximum(horizontal, 1e-6))
    positions = camera.position + rays * t[:, None]
    positions[ground, 1] = 0.0  # exactly on the plane, not a rounding error above or below it

    across = FOOTPRINT_PX * stride * t / camera.intrinsics.fx  # metres covered by the footprint sideways
    # Ground: the footprint stretches along the view direction by 1 / sin(grazing angle).
    stretch = np.clip(1.0 / np.maximum(down, 1e-6), 1.0, MAX_STRETCH)
    # Backdrop: stands upright; rows stretch by 1 / cos(elevation) on a vertical surface.
    upright_stretch = np.clip(1.0 / np.maximum(horizontal, 1e-6), 1.0, MAX_STRETCH)
    scales = np.where(
        ground[:, None],
        np.stack([across, across * THICKNESS, across * stretch], axis=1),
        np.stack([across, across * upright_stretch, across * THICKNESS], axis=1),
    )
    # Yaw so the splat's local z axis points along the ray's horizontal direction.
    yaw = np.arctan2(rays[:, 0], rays[:, 2])
    rotations = np.stack([np.cos(yaw / 2), np.zeros_like(yaw), np.sin(yaw / 2), np.zeros_like(yaw)], axis=1)
    return SplatCloud.from_arrays(positions, scales, rotations, np.ones(len(t)), colour)
