"""A trainer's cameras beside its scene: where the viewer of an imported scene starts.

3D Gaussian Splatting trainers (INRIA's and those following its layout) write ``cameras.json``
beside ``point_cloud.ply``: a list of the training cameras, each with an ``id``, a ``position``
(the camera's centre) and a ``rotation`` (3 x 3, camera to world, rows first), in the scene's own
frame (OpenCV: x right, y down, z forward, the camera looking along its +z). The first camera
(lowest id) is the one a capture starts from; an imported world's viewer starts there, looking
where it looked (``GeneratorOptions.scene_spawn``).
"""

from __future__ import annotations

import json
import math

import numpy as np

from bridge.generate.scene.source import SceneError

MAX_CAMERAS_BYTES = 64 << 20  # a capture of tens of thousands of frames
ORTHONORMAL_TOLERANCE = 1e-3  # |R^T R - I| of a rotation as trainers write it (float32 round trips)
SPAWN_VALUES = 6  # x, y, z, forward x, y, z


def spawn_from_cameras(data: bytes) -> tuple[float, ...]:
    """(x, y, z, forward x, y, z) of the first camera in ``data`` (a trainer's cameras.json), in
    the scene's frame as the file has it: what ``GeneratorOptions.scene_spawn`` takes. Raises
    SceneError, saying why, on anything that is not such a list."""
    if len(data) > MAX_CAMERAS_BYTES:
        raise SceneError(f"the cameras file is {len(data)} bytes; at most {MAX_CAMERAS_BYTES} are accepted")
    try:
        cameras = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SceneError(f"the cameras file is not JSON: {exc}") from exc
    if not isinstance(cameras, list) or not cameras:
        raise SceneError("the cameras file holds no cameras: a JSON list of a trainer's cameras was expected")
    if not all(isinstance(c, dict) for c in cameras):
        raise SceneError("each camera in the cameras file must be an object with a position and a rotation")
    first = min(cameras, key=_camera_id)  # the lowest id; the first listed among equals
    position = _numbers(first.get("position"), (3,), "position")
    rotation = _numbers(first.get("rotation"), (3, 3), "rotation")
    if np.abs(rotation.T @ rotation - np.eye(3)).max() > ORTHONORMAL_TOLERANCE:
        raise SceneError("the first camera's rotation is not a rotation (its rows are not orthonormal)")
    forward = rotation @ np.array([0.0, 0.0, 1.0])  # the camera looks along its own +z
    return tuple(float(v) for v in (*position, *forward))


def check_spawn(spawn: tuple[float, ...]) -> None:
    """ValueError unless ``spawn`` is a scene spawn: six finite numbers, the last three a direction."""
    if len(spawn) != SPAWN_VALUES:
        raise ValueError(f"scene_spawn takes {SPAWN_VALUES} numbers (x, y, z, forward x, y, z), not {len(spawn)}")
    if not all(math.isfinite(v) for v in spawn):
        raise ValueError("scene_spawn holds a number that is not finite")
    if math.hypot(*spawn[3:]) < 1e-6:
        raise ValueError("scene_spawn's forward (its last three numbers) has no direction")


def _camera_id(camera: dict) -> float:
    value = camera.get("id", 0)
    return float(value) if isinstance(value, int | float) and math.isfinite(value) else 0.0


def _numbers(value: object, shape: tuple[int, ...], name: str) -> np.ndarray:
    if value is None:
        raise SceneError(f"the first camera has no {name}")
    try:
        array = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise SceneError(f"the first camera's {name} is not a list of numbers") from exc
    if array.shape != shape:
        raise SceneError(f"the first camera's {name} has shape {list(array.shape)}, not {list(shape)}")
    if not np.isfinite(array).all():
        raise SceneError(f"the first camera's {name} holds a number that is not finite")
    return array
