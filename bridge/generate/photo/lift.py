"""The spawn: the photo's pixels lifted into splats, so the first view *is* the photo.

One splat per working pixel (per ``k x k`` block at coarser LODs), at the pixel's estimated
depth, shaped to cover its pixel as seen from the photo's camera: ground splats lie flat on the
ground, stretched along the view direction by the grazing angle; backdrop splats stand upright
facing the spawn. Their colours come from :func:`solve_colours`, which undoes the blur the
renderer's splat footprint adds, so rendering from the spawn camera gives the photo back.
"""

from __future__ import annotations

import numpy as np

from bridge.formats.splats import SplatCloud
from bridge.generate.photo.analysis import KIND_GROUND, KIND_SKY, PhotoAnalysis
from bridge.render.camera import Camera

FOOTPRINT_PX = 0.5  # splat standard deviation, in pixels of the photo at the spawn
MAX_STRETCH = 24.0  # cap on how elongated a grazing ground splat may get
THICKNESS = 0.1  # splat thickness relative to its width: discs, not balls
SOLVE_ITERATIONS = 2  # more diverges: the operator is not symmetric (see solve_colours)


def solve_colours(analysis: PhotoAnalysis, iterations: int = SOLVE_ITERATIONS) -> np.ndarray:
    """[h, w, 3] splat colours whose render from the spawn camera reproduces the photo.

    A render is linear in the splat colours once the geometry is fixed (the compositing weights
    do not depend on colour), so Richardson iteration ``c <- c + (photo - render(c))`` converges
    to colours that undo the blur of each splat's footprint, the renderer's dilation and the
    depth-sorted overlap of nearer splats onto farther pixels. Sky pixels are not lifted.
    """
    from bridge.render.rasterize import render_torch  # torch: only paid for when a world is made

    image = analysis.image.astype(np.float64)
    lifted = analysis.kind != KIND_SKY
    colours = image.copy()
    camera = analysis.camera
    rows, cols = np.nonzero(lifted)  # lift() keeps non-sky pixels in this (row-major) order
    for _ in range(iterations):
        rendered = render_torch(lift(analysis, colours.astype(np.float32), 1), camera, (0.0, 0.0, 0.0)).image
        colours[rows, cols] += image[rows, cols] - rendered[rows, cols]
        np.clip(colours, -0.5, 1.5, out=colours)
    return colours.astype(np.float32)


def _block_mean(values: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    h, w = weights.shape
    hh, ww = h // k, w // k
    v = values[: hh * k, : ww * k].reshape(hh, k, ww, k, -1)
    wt = weights[: hh * k, : ww * k].reshape(hh, k, ww, k, 1).astype(np.float64)
    return ((v * wt).sum(axis=(1, 3)) / np.maximum(wt.sum(axis=(1, 3)), 1e-9)).astype(np.float32)


def _rays(camera: Camera, u: np.ndarray, v: np.ndarray) -> np.ndarray:
    """Unit world rays through pixel coordinates (u, v) of ``camera``."""
    k = camera.intrinsics
    d_gl = np.stack([(u - k.cx) / k.fx, -(v - k.cy) / k.fy, -np.ones_like(u)], axis=-1)
    d = d_gl @ camera.rotation.T
    return d / np.linalg.norm(d, axis=-1, keepdims=True)


def lift(analysis: PhotoAnalysis, colours: np.ndarray, k: int) -> SplatCloud:
    """Splats for the whole photo at ``k x k`` pixels per splat (k = 2^lod)."""
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
    rays = _rays(camera, uu[keep], vv[keep])
    kind = kind[keep]
    colour = block_colour[keep]

    height = camera.position[1]
    horizontal = np.hypot(rays[:, 0], rays[:, 2])
    down = np.maximum(-rays[:, 1], 1e-6)
    ground = kind == KIND_GROUND
    t = np.where(ground, height / down, analysis.lift_radius_m / np.maximum(horizontal, 1e-6))
    positions = camera.position + rays * t[:, None]
    positions[ground, 1] = 0.0  # exactly on the plane, not a rounding error above or below it

    across = FOOTPRINT_PX * k * t / camera.intrinsics.fx  # metres covered by the footprint sideways
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
    opacities = np.ones(len(t))
    return SplatCloud.from_arrays(positions, scales, rotations, opacities, colour)
