"""A viewer's pose: the one shape it has from the wire to the interest set."""

from __future__ import annotations

import math
from dataclasses import dataclass

Vec3 = tuple[float, float, float]

DEFAULT_VFOV_DEG = 60.0
DEFAULT_VIEWPORT_PX = 720
DEFAULT_ASPECT = 16.0 / 9.0  # a viewer that names no viewport width: the widest common image
FORWARD = (0.0, 0.0, -1.0)  # glTF's forward: where a first pose without one looks
STILL = (0.0, 0.0, 0.0)


@dataclass(frozen=True)
class Pose:
    """Where a viewer is, where it looks and how fast it moves (world frame, metres, seconds).

    As sent, 0 for the FOV, viewport or radius means "keep the current value or the default";
    :meth:`resolved` fills them in, and the session holds only resolved poses."""

    position: Vec3
    forward: Vec3
    velocity: Vec3 = STILL
    vertical_fov_deg: float = 0.0
    viewport_height_px: int = 0
    radius_m: float = 0.0
    viewport_width_px: int = 0  # with the height, the image's aspect (0: 16:9)

    def focal_px(self) -> float:
        return self.viewport_height_px / 2.0 / math.tan(math.radians(self.vertical_fov_deg) / 2.0)

    @property
    def aspect(self) -> float:
        """Image width over height: the horizontal view cone's share of the vertical one."""
        if self.viewport_width_px and self.viewport_height_px:
            return self.viewport_width_px / self.viewport_height_px
        return DEFAULT_ASPECT

    def resolved(self, previous: Pose | None, default_radius_m: float) -> Pose:
        """This pose with each 0 field taken from ``previous``, or from the defaults at first."""
        return PoseUpdate.of(self).resolved(previous, default_radius_m)


@dataclass(frozen=True)
class PoseUpdate:
    """A pose as a viewer update carries it: every field optional. None (vectors) and 0 (the
    rest) keep the current value; the session merges it into the pose it holds."""

    position: Vec3 | None = None
    forward: Vec3 | None = None
    velocity: Vec3 | None = None
    vertical_fov_deg: float = 0.0
    viewport_height_px: int = 0
    radius_m: float = 0.0
    viewport_width_px: int = 0

    @classmethod
    def of(cls, pose: Pose) -> PoseUpdate:
        """A whole pose as an update (its 0 fields still keep the current values)."""
        return cls(
            pose.position,
            pose.forward,
            pose.velocity,
            pose.vertical_fov_deg,
            pose.viewport_height_px,
            pose.radius_m,
            pose.viewport_width_px,
        )

    def resolved(self, previous: Pose | None, default_radius_m: float) -> Pose:
        """The pose after this update; ValueError when there is no position at all yet."""
        position = self.position or (previous.position if previous else None)
        if position is None:
            raise ValueError("the first pose must set a position")
        return Pose(
            position=position,
            forward=self.forward or (previous.forward if previous else FORWARD),
            velocity=self.velocity or (previous.velocity if previous else STILL),
            vertical_fov_deg=self.vertical_fov_deg or (previous.vertical_fov_deg if previous else DEFAULT_VFOV_DEG),
            viewport_height_px=self.viewport_height_px
            or (previous.viewport_height_px if previous else DEFAULT_VIEWPORT_PX),
            radius_m=self.radius_m or (previous.radius_m if previous else default_radius_m),
            viewport_width_px=self.viewport_width_px or (previous.viewport_width_px if previous else 0),
        )
