"""What the layout keeps clear of, so that the first view stays the photo.

Seen from the spawn, a building or tree may stand anywhere the photo's frame does not see it
(wholly outside the camera's frustum), or behind the photo's backdrop: beyond the lifted area
with its whole outline below the photo's skyline. Everywhere else the photo's own lifted
geometry is what stands.
"""

from __future__ import annotations

import numpy as np

from bridge.generate.photo.props import SpawnView, span_max

FRAME_MARGIN_PX = 24.0  # the lift's apron, and a margin for splats' reach beyond their centres
SKYLINE_MARGIN_PX = 3.0
BEYOND_LIFT = 1.05  # of the lift radius: behind the backdrop


def allowed_tops(spawn: SpawnView, corners: np.ndarray) -> np.ndarray:
    """[n] the highest world y each object (outline ``corners`` [n, m, 3]) may rise to: inf where
    the spawn does not see it or it stands behind the backdrop; where it stands beyond the lift
    in the photo's view, as high as the photo's skyline reaches over its span at its nearest
    point (a lower house there hides behind the backdrop); -inf where it may not stand at all."""
    n = corners.shape[0]
    if n == 0:
        return np.zeros(0)
    clear = boxes_clear(spawn, corners)
    camera = spawn.camera
    ground = np.hypot(corners[..., 0] - camera.position[0], corners[..., 2] - camera.position[2])
    beyond = (ground > spawn.lift_radius_m * BEYOND_LIFT).all(axis=1)
    uv, depth = camera.project(corners.reshape(-1, 3))
    in_front = (depth > 0.05).reshape(n, -1).all(axis=1)
    u = uv[:, 0].reshape(n, -1)
    left, right = u.min(axis=1) - SKYLINE_MARGIN_PX, u.max(axis=1) + SKYLINE_MARGIN_PX
    row = span_max(spawn.skyline, left, right) + SKYLINE_MARGIN_PX
    centre_u = np.clip((left + right) / 2, 0, camera.intrinsics.width - 1)
    rays = camera.rays_through(centre_u, row)
    elevation = rays[:, 1] / np.maximum(np.hypot(rays[:, 0], rays[:, 2]), 1e-9)  # tan of the ray's rise
    top = camera.position[1] + ground.min(axis=1) * elevation
    fits = beyond & in_front
    return np.where(clear, np.inf, np.where(fits, top, -np.inf))


def boxes_clear(spawn: SpawnView, corners: np.ndarray) -> np.ndarray:
    """[n] bool for ``corners`` [n, m, 3] (each object's outline, world frame): may it stand?"""
    if corners.shape[0] == 0:
        return np.zeros(0, dtype=bool)
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
    unseen = outside_planes.all(axis=1).any(axis=1)
    # Behind the backdrop: beyond the lift and, on screen, below the skyline over its whole span.
    ground = np.hypot(corners[..., 0] - camera.position[0], corners[..., 2] - camera.position[2])
    beyond = (ground > spawn.lift_radius_m * BEYOND_LIFT).all(axis=1)
    uv, depth = camera.project(corners.reshape(-1, 3))
    in_front = (depth > 0.05).reshape(n, m).all(axis=1)
    u, v = uv[:, 0].reshape(n, m), uv[:, 1].reshape(n, m)
    left, right = u.min(axis=1) - SKYLINE_MARGIN_PX, u.max(axis=1) + SKYLINE_MARGIN_PX
    below = v.min(axis=1) - SKYLINE_MARGIN_PX >= span_max(spawn.skyline, left, right)
    hidden = beyond & in_front & below
    return unseen | hidden


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
