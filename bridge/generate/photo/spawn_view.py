"""The photo's view from the spawn, read once per world: what the layout, the terrain and the
continuation keep clear of so that the first view stays the photo (bridge.generate.photo.clearance).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.generate.photo.analysis import KIND_SKY, PhotoAnalysis, skyline_rows
from bridge.world.camera import Camera


@dataclass(frozen=True)
class SpawnView:
    """What the continuation must keep clear of, read once per world: the spawn camera, the lifted photo's
    radius, the photo's skyline (per column, the first row below its lowest sky pixel) and how far out its
    lifted geometry reaches in each column (what stands farther, under the skyline, is hidden)."""

    camera: Camera
    lift_radius_m: float
    skyline: np.ndarray  # [w] float rows
    backdrop_m: np.ndarray  # [w] ground distance of the column's farthest lifted point (lift radius if none)

    @classmethod
    def of(cls, analysis: PhotoAnalysis) -> SpawnView:
        not_sky = analysis.kind != KIND_SKY
        skyline = skyline_rows(~not_sky).astype(np.float64)
        reach = analysis.ground_reach()
        lifted = not_sky & np.isfinite(reach)
        farthest = np.where(lifted, reach, 0.0).max(axis=0)
        backdrop = np.where(lifted.any(axis=0), np.minimum(farthest, analysis.lift_radius_m), analysis.lift_radius_m)
        return cls(analysis.camera, analysis.lift_radius_m, skyline, backdrop.astype(np.float64))

    def skyline_rise(self, columns: np.ndarray, rows: np.ndarray | None = None) -> np.ndarray:
        """[N] tan of the elevation of the ray through each of ``columns`` (clipped to the frame)
        at ``rows`` (default: the skyline's row there): a point ``d`` metres out over the ground
        stands under the skyline while it is lower than the camera's height + d * this."""
        k = self.camera.intrinsics
        columns = np.clip(columns, 0, k.width - 1)
        rows = self.skyline[columns.astype(np.int64)] if rows is None else rows
        rays = self.camera.rays_through(columns, rows)
        return rays[:, 1] / np.maximum(np.hypot(rays[:, 0], rays[:, 2]), 1e-9)


def span_max(values: np.ndarray, left: np.ndarray, right: np.ndarray) -> np.ndarray:
    """max(values[ceil(left) .. floor(right)]) per span, the spans clipped to the array."""
    n = values.size
    lo = np.clip(np.floor(np.nan_to_num(left, nan=0.0)), 0, n - 1).astype(np.int64)
    hi = np.clip(np.ceil(np.nan_to_num(right, nan=n - 1.0)), 0, n - 1).astype(np.int64)
    out = np.empty(lo.size)
    for i in range(lo.size):  # a handful of objects per call
        out[i] = values[lo[i] : max(hi[i], lo[i]) + 1].max()
    return out
