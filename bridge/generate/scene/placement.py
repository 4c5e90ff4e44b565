"""Standing a scene upright in our world: its up axis, its ground plane, its scale and its spawn.

Trainers and world models write scenes in frames of their own: y down (COLMAP/OpenCV, which the
PLY reader already turns to y up), z up, or a frame tilted by the first camera's pitch. We find
up from the scene itself: a scene of the ground and what stands on it is flat, so its positions'
least-variance direction is the ground's normal (the covariance's smallest eigenvector); the
side the heights' long tail points to is up (things stand on the ground, few hang below it).
Where the tail does not tell (a room, say), a normal near the file's own +y takes its sign. The
ground is the densest height band in the lower half of the scene. Given the trainer's first
camera (cameras.py), the spawn stands there, looking where it looked. Otherwise: worlds and
trainers put the first camera at the file's origin, so the spawn stands there when that lies at
a plausible height above the ground; failing that, at the footprint's centre, at eye height
(stated in the world info either way). The world is then moved so the spawn is at x = z = 0
looking along -z with the ground at y = 0, where the photo generator's continuation expects them.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bridge.formats._quat import matrix_from_xyzw, normalised_xyzw, wxyz_from_matrix
from bridge.formats.splats import SplatCloud

SAMPLE = 200_000  # splats the statistics read (every k-th): enough, and bounded time
FLAT_RATIO = 0.25  # smallest over middle variance below which the scene counts as flat
SKEW_DECISIVE = 0.25  # heights' skewness that tells up from down (what stands makes the upper tail)
NEAR_FILE_UP_DEG = 30.0  # else a found up this close to the file's own takes the file's sign
GROUND_SHARE = 0.3  # the lowest splats along a first guess of up taken as ground, to refit it
GROUND_REFITS = 2
EYE_HEIGHT_M = 1.6
SPAWN_HEIGHT_RANGE_M = (0.3, 100.0)  # an origin this high above the ground is taken as the camera
HEIGHT_BINS = 200
TRAINER_TO_OURS = np.array([1.0, -1.0, -1.0])  # OpenCV (y down, z forward) to ours: y and z flipped


@dataclass(frozen=True)
class Placement:
    """world = scale * (rotation @ file - offset); described in ``notes`` for the world info."""

    rotation: np.ndarray  # [3, 3] from the file's frame (after its reader's conversion) to ours
    offset: np.ndarray  # [3] in the rotated frame, scene units: the spawn's foot on the ground
    scale: float  # metres per scene unit
    spawn_height_m: float  # eye above the ground
    notes: dict[str, object]
    spawn_forward: tuple[float, float, float] = (0.0, 0.0, -1.0)  # where the spawn looks, our frame

    def apply(self, cloud: SplatCloud) -> SplatCloud:
        r = self.rotation
        positions = (cloud.positions.astype(np.float64) @ r.T - self.offset) * self.scale
        turned = r[None] @ matrix_from_xyzw(normalised_xyzw(cloud.rotations))
        return SplatCloud.from_arrays(
            positions, cloud.scales * self.scale, wxyz_from_matrix(turned), cloud.opacities, cloud.colors
        )


def place(cloud: SplatCloud, scale: float | None = None, camera: tuple[float, ...] | None = None) -> Placement:
    """Where ``cloud`` stands in our world; ``scale`` in metres per unit, None to guess (1);
    ``camera`` the spawn (x, y, z, forward x, y, z) in the trainer's frame (see cameras.py),
    None for the file's origin looking along its forward."""
    stride = max(1, math.ceil(len(cloud) / SAMPLE))
    points = cloud.positions[::stride].astype(np.float64)
    weights = cloud.opacities[::stride].astype(np.float64)
    up, how = _up_axis(points)
    rotation = _rotation_between(up, np.array([0.0, 1.0, 0.0]))
    # The trainer's frame (y down, z forward) to ours, as the PLY reader turns the splats.
    eye_at = None if camera is None else np.array(camera[:3]) * TRAINER_TO_OURS
    looking = np.array([0.0, 0.0, -1.0]) if camera is None else np.array(camera[3:]) * TRAINER_TO_OURS
    # Turn about the new up so the spawn's view (by default the file's -z) looks along -z.
    forward = rotation @ looking
    heading = math.atan2(-forward[0], -forward[2]) if math.hypot(forward[0], forward[2]) > 1e-6 else 0.0
    rotation = _yaw(-heading) @ rotation
    turned = points @ rotation.T
    ground = _ground_height(turned[:, 1], weights)
    metres = 1.0 if scale is None else float(scale)
    if not (math.isfinite(metres) and metres > 0):
        raise ValueError(f"scene scale {scale} is not a positive number of metres per unit")
    origin_height = -ground * metres
    if eye_at is not None:
        camera_at = rotation @ eye_at
        foot = np.array([camera_at[0], ground, camera_at[2]])
        camera_height = (camera_at[1] - ground) * metres
        if SPAWN_HEIGHT_RANGE_M[0] <= camera_height <= SPAWN_HEIGHT_RANGE_M[1]:
            eye, spawn_from = camera_height, "the trainer's first camera (scene_spawn)"
        else:
            eye = EYE_HEIGHT_M
            spawn_from = (
                f"under the trainer's first camera (scene_spawn), {EYE_HEIGHT_M} m up (it is {camera_height:.2f} m up)"
            )
    elif SPAWN_HEIGHT_RANGE_M[0] <= origin_height <= SPAWN_HEIGHT_RANGE_M[1]:
        foot = np.array([0.0, ground, 0.0])
        eye, spawn_from = origin_height, "the file's origin (where trainers and world models put the first camera)"
    else:
        centre = np.median(turned[:, [0, 2]], axis=0)
        foot = np.array([centre[0], ground, centre[1]])
        eye = EYE_HEIGHT_M
        spawn_from = f"the footprint's centre, {EYE_HEIGHT_M} m up (the file's origin is {origin_height:.2f} m up)"
    notes: dict[str, object] = {
        "up_axis_in_file": [round(float(v), 6) for v in up],
        "up_axis_found_by": how,
        "ground_in_file_units": round(float(ground), 6),
        "scale_m_per_unit": metres,
        "scale_from": "options" if scale is not None else "a guess: 1 scene unit = 1 metre",
        "spawn": spawn_from,
        "spawn_height_m": round(float(eye), 4),
    }
    if camera is None:  # level along -z: the file's own forward is only a heading, not a pitch
        return Placement(rotation, foot, metres, float(eye), notes)
    view = rotation @ looking  # the trainer's camera looked this way, pitch and all
    return Placement(rotation, foot, metres, float(eye), notes, tuple(float(v) for v in view / np.linalg.norm(view)))


def _up_axis(points: np.ndarray) -> tuple[np.ndarray, str]:
    file_up = np.array([0.0, 1.0, 0.0])
    if len(points) < 16:
        return file_up, "the file's own +y (too few splats to tell)"
    centred = points - points.mean(axis=0)
    values, vectors = np.linalg.eigh(centred.T @ centred / len(points))
    if values[0] >= FLAT_RATIO * values[1]:
        return file_up, "the file's own +y (the scene is not flat enough to tell)"
    normal = vectors[:, 0]
    heights = centred @ normal
    skew = float(np.mean(heights**3) / max(np.mean(heights**2), 1e-30) ** 1.5)
    if abs(skew) >= SKEW_DECISIVE:
        normal, how = normal * np.sign(skew), "the ground's normal, on the side things stand on"
    elif abs(normal @ file_up) >= math.cos(math.radians(NEAR_FILE_UP_DEG)):
        normal, how = normal * np.sign(normal @ file_up), "the ground's normal, on the file's +y side"
    else:
        return file_up, "the file's own +y (the ground's normal has no clear upper side)"
    # What stands on the ground tilts the whole scene's axes (tall things at one end); the
    # lowest splats along the first guess are mostly ground: their flattest direction is its normal.
    for _ in range(GROUND_REFITS):
        heights = centred @ normal
        low = centred[heights <= np.percentile(heights, GROUND_SHARE * 100)]
        low = low - low.mean(axis=0)
        refit = np.linalg.eigh(low.T @ low / len(low))[1][:, 0]
        normal = refit * np.sign(refit @ normal)
    return normal, how


def _ground_height(heights: np.ndarray, weights: np.ndarray) -> float:
    """The densest (opacity-weighted) height band in the lower half of the scene."""
    lo, mid = np.percentile(heights, [1.0, 50.0])
    if mid - lo < 1e-9:
        return float(mid)
    below = heights <= mid
    counts, edges = np.histogram(heights[below], bins=HEIGHT_BINS, range=(lo, mid), weights=weights[below])
    best = int(np.argmax(counts))
    return float((edges[best] + edges[best + 1]) / 2)


def _rotation_between(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """The smallest rotation taking unit ``a`` to unit ``b`` (Rodrigues)."""
    v = np.cross(a, b)
    c = float(a @ b)
    if c < -1 + 1e-12:  # opposite: half a turn about any axis perpendicular to a
        axis = np.cross(a, [1.0, 0.0, 0.0] if abs(a[0]) < 0.9 else [0.0, 0.0, 1.0])
        axis /= np.linalg.norm(axis)
        return 2 * np.outer(axis, axis) - np.eye(3)
    k = np.array([[0.0, -v[2], v[1]], [v[2], 0.0, -v[0]], [-v[1], v[0], 0.0]])
    return np.eye(3) + k + k @ k / (1 + c)


def _yaw(angle: float) -> np.ndarray:
    """Rotation by ``angle`` radians about +y."""
    c, s = math.cos(angle), math.sin(angle)
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
