"""A viewer's pose: the one shape it has from the wire to the interest set."""

from __future__ import annotations

import math
from dataclasses import dataclass

Vec3 = tuple[float, float, float]

DEFAULT_VFOV_DEG = 60.0
DEFAULT_VIEWPORT_PX = 720


@dataclass(frozen=True)
class Pose:
    """Where a viewer is, where it looks and how fast it moves (world frame, metres, seconds).

    As sent, 0 for the FOV, viewport or radius means "keep the current value or the default";
    :meth:`resolved` fills them in, and the session holds only resolved poses."""

    position: Vec3
    forward: Vec3
    velocity: Vec3 = (0.0, 0.0, 0.0)
    vertical_fov_deg: float = 0.0
    viewport_height_px: int = 0
    radius_m: float = 0.0

    def focal_px(self) -> float:
        return self.viewport_height_px / 2.0 / math.tan(math.radians(self.vertical_fov_deg) / 2.0)

    def resolved(self, previous: Pose | None, default_radius_m: float) -> Pose:
        """This pose with each 0 field taken from ``previous``, or from the defaults at first."""
        return Pose(
            position=self.position,
            forward=self.forward,
            velocity=self.velocity,
            vertical_fov_deg=self.vertical_fov_deg or (previous.vertical_fov_deg if previous else DEFAULT_VFOV_DEG),
            viewport_height_px=self.viewport_height_px
            or (previous.viewport_height_px if previous else DEFAULT_VIEWPORT_PX),
            radius_m=self.radius_m or (previous.radius_m if previous else default_radius_m),
        )
