"""The photo lifted at its own resolution, for the tiles a viewer holds near the spawn.

The analysis (sky, horizon, depth, what stands) works at 640 pixels across, and the lift at that
size renders the photo back at 33-38 dB there; but people look at the spawn at the photo's own size
(a browser at 960 or 1280 pixels), where a 640-pixel lift reads 20-27 dB: each splat covers two
by two of the photo's pixels. Here every pixel of the photo (scaled to at most FINE_MAX_PIXELS)
gets its own splat: its geometry is the working pixel's under it (kind and depth read at the
fine pixel's centre, so nothing about the scene changes), its size a fine pixel's, and its colour
solved against the photo at that size (:func:`bridge.generate.photo.solve.solve_colours`, with the
analysis seen at the fine size). The apron around the frame is the working lift's, unchanged.

Only tiles finer than the working lift's detail wear it (see generator.detail_scale): a viewer
holds those within a few tens of metres, or out to the lift radius on a large screen, so far tiles
stay as light as before.
"""

from __future__ import annotations

import dataclasses

import numpy as np
from PIL import Image

from bridge.formats.splats import SplatCloud
from bridge.generate.photo.analysis import KIND_SKY, PhotoAnalysis
from bridge.generate.photo.lift import _splats_at
from bridge.generate.photo.solve import SpawnSight, solve_colours_seen

FINE_MAX_PIXELS = 2_000_000  # a larger photo is lifted at this many pixels (area-averaged down to it)
# A photo less than this many times wider than the working image gains too little from its own
# resolution to be worth four times the splats: it is lifted at the working size only.
MIN_FINE_FACTOR = 1.25
# The sizes the fine colours are fitted at (as fractions of the fine size) and their weights. Four
# splats to a pixel render by depth order, not as their mean, so colours fitted at the fine size
# alone alias when drawn at half of it (lyra2_06: 41.9 dB at 1280 px, 25.0 at 640); fitted at the
# sizes between at once, they render the photo at any of them.
FINE_SIGHTS = ((1.0, 1.0), (0.75, 1.0), (0.5, 1.0))


def fine_size(photo_shape: tuple[int, ...], working_width: int) -> tuple[int, int] | None:
    """(width, height) the photo is lifted at near the spawn, or None where that is the working size."""
    height, width = photo_shape[:2]
    shrink = min(1.0, float(np.sqrt(FINE_MAX_PIXELS / (width * height))))
    fine_w, fine_h = max(1, int(width * shrink)), max(1, int(height * shrink))  # down: never over the cap
    return (fine_w, fine_h) if fine_w >= MIN_FINE_FACTOR * working_width else None


def fine_image(photo: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """[H, W, 3] float32 in [0, 1]: the photo at the fine size (area-averaged where it shrinks)."""
    if photo.shape[1] == size[0] and photo.shape[0] == size[1]:
        return photo.astype(np.float32) / 255.0
    return np.asarray(Image.fromarray(photo).resize(size, Image.Resampling.BOX), dtype=np.float32) / 255.0


@dataclasses.dataclass(frozen=True)
class FineGrid:
    """The fine pixels' centres in working pixels, and each one's kind (its working pixel's)."""

    u: np.ndarray  # [H, W] float64
    v: np.ndarray  # [H, W] float64
    kind: np.ndarray  # [H, W] uint8
    stride: float  # working pixels per fine pixel

    @classmethod
    def of(cls, analysis: PhotoAnalysis, size: tuple[int, int]) -> FineGrid:
        fine_w, fine_h = size
        h, w = analysis.kind.shape
        rows, cols = (np.arange(fine_h) + 0.5) * h / fine_h, (np.arange(fine_w) + 0.5) * w / fine_w
        v, u = np.meshgrid(rows, cols, indexing="ij")
        kind = analysis.kind[np.clip(v.astype(np.int64), 0, h - 1), np.clip(u.astype(np.int64), 0, w - 1)]
        return cls(u, v, kind, w / fine_w)

    @property
    def lifted(self) -> np.ndarray:
        return self.kind != KIND_SKY


def lift_fine(analysis: PhotoAnalysis, grid: FineGrid, colours: np.ndarray, apron: SplatCloud) -> SplatCloud:
    """The frame's splats, one per lifted fine pixel in row-major order, in ``colours`` ([H, W, 3]),
    then ``apron`` (the working lift's)."""
    lifted = grid.lifted
    n = int(lifted.sum())
    frame = _splats_at(
        analysis, grid.u[lifted], grid.v[lifted], grid.kind[lifted], colours[lifted], np.full(n, grid.stride)
    )
    return SplatCloud.concat([frame, apron])


def solve_fine(analysis: PhotoAnalysis, grid: FineGrid, photo: np.ndarray, cloud: SplatCloud) -> np.ndarray:
    """[H, W, 3] colours for ``cloud`` (:func:`lift_fine`'s, in any colours) whose render reproduces
    the photo (``photo``: uint8, any size) at the fine size and at the smaller sizes of FINE_SIGHTS
    at once."""
    k = analysis.camera.intrinsics
    fine_h, fine_w = grid.kind.shape
    sights = []
    for scale, weight in FINE_SIGHTS:
        size = (max(1, round(fine_w * scale)), max(1, round(fine_h * scale)))
        camera = analysis.camera.with_intrinsics(k.scaled(*size))
        sights.append(SpawnSight(camera, fine_image(photo, size), FineGrid.of(analysis, size).lifted, weight))
    seen_fine = dataclasses.replace(analysis, image=sights[0].image, kind=grid.kind, camera=sights[0].camera)
    return solve_colours_seen(seen_fine, cloud, sights)
