"""The quality report's views: each job renders some views of held tiles and measures them.

Every function here is a job for :class:`bridge.quality.pool.ViewPool`: ``job(context, ...)``,
picklable arguments, a result that depends on nothing else, so it runs the same in the report's
process or in a worker. Pictures are written by the job that renders them, under their own names.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage

from bridge.client.players import PlayerPose, ground_heading
from bridge.client.views import render_view, spawn_comparison
from bridge.formats.splats import SplatCloud
from bridge.likeness import LikenessReference, save_rgba, standard_cloud
from bridge.quality.pool import HeldSet, ReportContext, held_cloud
from bridge.render.images import save_png
from bridge.render.rasterize import RenderResult, render
from bridge.render.sky import sky_background
from bridge.world.camera import Camera

DRIFT_VIEW_WIDTH = 160  # pixels, the views measured for drift (statistics, not detail)
STRIP_VIEW_WIDTH = 320  # pixels, the views along the walk that are written out
SIDE_OFFSETS_M = (-60.0, -30.0, 0.0, 30.0, 60.0)  # bench/drift_noise.py: why five


@dataclass(frozen=True)
class LikenessView:
    name: str  # also the picture's name, with ".png"
    camera: Camera


@dataclass(frozen=True)
class StepViews:
    """What one step of the walk measured (None where it measured nothing of that kind)."""

    appearance: np.ndarray | None  # drift: the mean appearance of the forward views
    strip: np.ndarray | None  # the forward view for the strip


def spawn_psnr(context: ReportContext, tiles: HeldSet, camera: Camera, standard: bool, picture: str | None) -> float:
    """The spawn view against the photo (PSNR, dB); ``standard``: as standard renderers draw the
    splats; ``picture``: also write "photo | render" under that name."""
    cloud = held_cloud(context, tiles)
    value, comparison = spawn_comparison(
        standard_cloud(cloud) if standard else cloud, camera, context.sky, context.photo
    )
    if picture is not None:
        save_png(comparison, context.out / picture)
    return value


def plain_view(context: ReportContext, tiles: HeldSet, camera: Camera, picture: str) -> str:
    """Render the view and write it under ``picture``."""
    save_png(render_view(held_cloud(context, tiles), camera, context.sky), context.out / picture)
    return picture


def likeness_reference(context: ReportContext, tiles: HeldSet, view: LikenessView) -> tuple[LikenessReference, dict]:
    """The photo's own view: the reference of every likeness ratio, and its own entry."""
    rendered = _render(context, tiles, view.camera)
    reference = LikenessReference.of(context.photo, rendered, view.camera)
    return reference, _record(context, reference, view, rendered)


def likeness_view(context: ReportContext, tiles: HeldSet, view: LikenessView, reference: LikenessReference) -> dict:
    """One view's likeness entry; its RGBA picture written."""
    return _record(context, reference, view, _render(context, tiles, view.camera))


def step_views(
    context: ReportContext,
    tiles: HeldSet,
    spawn: Camera,
    pose: PlayerPose,
    measured: bool,
    in_strip: bool,
) -> StepViews:
    """The views of one step of the walk, from one join of its held tiles."""
    cloud = held_cloud(context, tiles)
    appearance = strip = None
    if measured:
        views = [_forward_view(cloud, spawn, pose, context.sky, DRIFT_VIEW_WIDTH, side) for side in SIDE_OFFSETS_M]
        appearance = np.mean([appearance_of(view) for view in views], axis=0)
    if in_strip:
        strip = _forward_view(cloud, spawn, pose, context.sky, STRIP_VIEW_WIDTH)
    return StepViews(appearance, strip)


def appearance_of(image: np.ndarray) -> np.ndarray:
    """[mean r, mean g, mean b, contrast, sharpness] of the lower half (the world, not the sky)."""
    ground = image[image.shape[0] // 2 :]
    luminance = ground @ np.array([0.2126, 0.7152, 0.0722])
    sharpness = float(np.abs(ndimage.laplace(luminance)).mean())
    return np.array([*ground.reshape(-1, 3).mean(axis=0), luminance.std(), sharpness])


def _forward_view(
    cloud: SplatCloud, spawn: Camera, pose: PlayerPose, sky: np.ndarray, width: int, side_m: float = 0.0
) -> np.ndarray:
    """The player's forward view, ``width`` pixels wide, from ``side_m`` to the right of the walk line."""
    k = spawn.intrinsics.scaled(width, round(spawn.intrinsics.height * width / spawn.intrinsics.width))
    right = np.cross(ground_heading(np.array(pose.forward)), [0.0, 1.0, 0.0])
    return render_view(cloud, Camera.looking(np.array(pose.position) + right * side_m, pose.forward, k), sky)


def _render(context: ReportContext, tiles: HeldSet, camera: Camera) -> RenderResult:
    return render(held_cloud(context, tiles), camera, sky_background(context.sky, camera))


def _record(context: ReportContext, reference: LikenessReference, view: LikenessView, rendered: RenderResult) -> dict:
    entry = reference.figures(view.name, rendered, view.camera)
    entry["eye_m"] = [round(float(v), 2) for v in view.camera.position]
    save_rgba(rendered, Path(context.out) / f"{view.name}.png")
    return entry
