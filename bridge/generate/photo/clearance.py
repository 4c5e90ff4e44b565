"""What the layout keeps clear of, so that the first view stays the photo.

Seen from the spawn, a building or tree may stand anywhere the photo's frame does not see it
(wholly outside the camera's frustum), or behind the photo's own geometry: farther out than
anything the photo lifted in the columns it spans, with its whole outline below the photo's
skyline (a street photo's facades end 10-40 m out; the town goes on behind them). Everywhere
else the photo's own lifted geometry is what stands. And nothing stands within a clearing around
the spawn: a wall a step beside the viewer, built for being seen from the street, is a blur
filling half the view when the viewer turns round at the spawn.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.generate.photo.spawn_view import SpawnView, span_max

FRAME_MARGIN_PX = 24.0  # the lift's apron, and a margin for splats' reach beyond their centres
SKYLINE_MARGIN_PX = 3.0
BEYOND_LIFT = 1.05  # of the photo's reach over an object's columns: behind its geometry
BEYOND_MARGIN_M = 2.0  # and this much more, for the splats' reach
SPAWN_CLEARING_M = 12.0  # ground distance from the spawn camera within which nothing is built


@dataclass(frozen=True)
class _Seen:
    """Each object's outline as the spawn sees it (computed once for both questions below)."""

    unseen: np.ndarray  # [n] wholly outside the frustum
    beyond: np.ndarray  # [n] wholly farther out than the lifted photo over its columns
    in_front: np.ndarray  # [n] wholly in front of the camera
    nearest_m: np.ndarray  # [n] ground distance of its nearest corner
    crowds_spawn: np.ndarray  # [n] its footprint reaches into the clearing around the spawn
    left: np.ndarray  # [n] its span on screen, columns, widened by the skyline margin
    right: np.ndarray
    top_v: np.ndarray  # [n] its highest point on screen, row


def _seen(spawn: SpawnView, corners: np.ndarray) -> _Seen:
    camera = spawn.camera
    k = camera.intrinsics
    n, m, _ = corners.shape
    local = (corners.reshape(-1, 3) - camera.position) @ camera.rotation  # camera frame: x right, y up, z back
    x, y, d = local[:, 0], local[:, 1], -local[:, 2]
    margin = FRAME_MARGIN_PX
    # Conservative frustum culling: outside if every corner lies beyond one and the same plane.
    outside_planes = np.stack(
        [
            d <= 0.05,
            k.fx * x + (k.cx + margin) * d < 0,
            k.fx * x - (k.width + margin - k.cx) * d > 0,
            k.fy * y - (k.cy + margin) * d > 0,
            k.fy * y + (k.height + margin - k.cy) * d < 0,
        ],
        axis=1,
    ).reshape(n, m, 5)
    ground = np.hypot(corners[..., 0] - camera.position[0], corners[..., 2] - camera.position[2])
    # Distance from the spawn to each outline's box on the ground, not to its corners: a long
    # facade passes nearer than either end.
    low, high = corners.min(axis=1), corners.max(axis=1)  # [n, 3] each
    gap = np.maximum(np.maximum(low - camera.position, camera.position - high), 0.0)
    box_distance = np.hypot(gap[:, 0], gap[:, 2])
    uv, depth = camera.project(corners.reshape(-1, 3))
    u, v = uv[:, 0].reshape(n, m), uv[:, 1].reshape(n, m)
    left, right = u.min(axis=1) - SKYLINE_MARGIN_PX, u.max(axis=1) + SKYLINE_MARGIN_PX
    return _Seen(
        unseen=outside_planes.all(axis=1).any(axis=1),
        beyond=box_distance > span_max(spawn.backdrop_m, left, right) * BEYOND_LIFT + BEYOND_MARGIN_M,
        in_front=(depth > 0.05).reshape(n, m).all(axis=1),
        nearest_m=ground.min(axis=1),
        crowds_spawn=box_distance < SPAWN_CLEARING_M,
        left=left,
        right=right,
        top_v=v.min(axis=1),
    )


def allowed_tops(spawn: SpawnView, corners: np.ndarray) -> np.ndarray:
    """[n] the highest world y each object (outline ``corners`` [n, m, 3]) may rise to: inf where
    the spawn does not see it or it stands behind the backdrop; where it stands beyond the lift
    in the photo's view, as high as the photo's skyline reaches over its span at its nearest
    point (a lower house there hides behind the backdrop); -inf where it may not stand at all."""
    if corners.shape[0] == 0:
        return np.zeros(0)
    seen = _seen(spawn, corners)
    skyline_row = span_max(spawn.skyline, seen.left, seen.right)
    rise = spawn.skyline_rise((seen.left + seen.right) / 2, skyline_row + SKYLINE_MARGIN_PX)
    top = spawn.camera.position[1] + seen.nearest_m * rise
    fits = seen.beyond & seen.in_front & ~seen.crowds_spawn
    return np.where(_clear(seen, skyline_row), np.inf, np.where(fits, top, -np.inf))


def boxes_clear(spawn: SpawnView, corners: np.ndarray) -> np.ndarray:
    """[n] bool for ``corners`` [n, m, 3] (each object's outline, world frame): may it stand?"""
    if corners.shape[0] == 0:
        return np.zeros(0, dtype=bool)
    seen = _seen(spawn, corners)
    return _clear(seen, span_max(spawn.skyline, seen.left, seen.right))


def _clear(seen: _Seen, skyline_row: np.ndarray) -> np.ndarray:
    """Out of the spawn's clearing, and unseen or hidden: farther out than the photo's geometry
    and below its skyline over its whole span."""
    below = seen.top_v - SKYLINE_MARGIN_PX >= skyline_row
    return ~seen.crowds_spawn & (seen.unseen | (seen.beyond & seen.in_front & below))


def box_corners(
    x: np.ndarray, z: np.ndarray, half_x: np.ndarray, half_z: np.ndarray, y0: np.ndarray, y1: np.ndarray
) -> np.ndarray:
    """[n, 8, 3] corners of axis-aligned boxes (a conservative outline of a turned footprint
    when the halves are its circumscribed extents)."""
    sx = np.array([-1, 1, -1, 1, -1, 1, -1, 1])
    sz = np.array([-1, -1, 1, 1, -1, -1, 1, 1])
    top = np.array([0, 0, 0, 0, 1, 1, 1, 1], dtype=bool)
    cx = x[:, None] + sx[None, :] * half_x[:, None]
    cz = z[:, None] + sz[None, :] * half_z[:, None]
    cy = np.where(top[None, :], y1[:, None], y0[:, None])
    return np.stack([cx, cy, cz], axis=2)
