"""An imported scene's viewer starts at its trainer's first camera (cameras.json beside the PLY,
INRIA's layout), looking where it looked: the same scene moved and turned in its file, with the
camera moved with it, gives the same first view. Broken camera files are refused, saying why."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from bridge.formats.ply import encode_ply
from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions
from bridge.generate.scene import ImportGenerator
from bridge.generate.scene.cameras import spawn_from_cameras
from bridge.generate.scene.source import SceneError
from bridge.render.images import psnr
from tests.scene_support import photo_scene, turned

YAW_DEG = 40.0
MOVED_BY = np.array([6.0, 1.5, -4.0])  # in our frame (y up): the file's origin is no longer the camera
TO_TRAINER = np.array([1.0, -1.0, -1.0])  # ours (y up, z back) to OpenCV (y down, z forward)


def _yaw(degrees: float) -> np.ndarray:
    c, s = np.cos(np.radians(degrees)), np.sin(np.radians(degrees))
    return np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])


def _moved_scene() -> SplatCloud:
    cloud = turned(photo_scene(), _yaw(YAW_DEG))
    return SplatCloud(
        cloud.positions + MOVED_BY.astype(np.float32), cloud.scales, cloud.rotations, cloud.opacities, cloud.colors
    )


def _camera_entry(camera_id: int, position_ours: np.ndarray, forward_ours: np.ndarray) -> dict:
    """A camera as INRIA's trainer writes it: centre and camera-to-world rotation (rows), OpenCV frame."""
    forward = forward_ours * TO_TRAINER
    down = np.array([0.0, -1.0, 0.0]) * TO_TRAINER  # our down, in the trainer's frame
    right = np.cross(down, forward)
    rotation = np.stack([right, down, forward], axis=1)  # columns: the camera's x, y, z
    return {
        "id": camera_id,
        "img_name": f"{camera_id:05d}",
        "width": 1280,
        "height": 720,
        "position": (position_ours * TO_TRAINER).tolist(),
        "rotation": rotation.tolist(),
        "fx": 1000.0,
        "fy": 1000.0,
    }


def _cameras_json() -> bytes:
    forward = _yaw(YAW_DEG) @ np.array([0.0, 0.0, -1.0])
    first = _camera_entry(0, MOVED_BY, forward)
    later = _camera_entry(7, MOVED_BY + np.array([3.0, 0.0, 0.0]), _yaw(YAW_DEG + 90.0) @ forward)
    return json.dumps([later, first]).encode()  # listed out of order: the lowest id is the first


def _view(world) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(world.pictures["scene_view"])), dtype=np.float32) / 255.0


def test_the_viewer_starts_at_the_trainers_first_camera() -> None:
    # The scene as made, its camera at the origin looking along -z (the trainer's +z).
    at_origin = (0.0, 0.0, 0.0, 0.0, 0.0, 1.0)
    original = ImportGenerator().prepare_source(encode_ply(photo_scene()), GeneratorOptions(scene_spawn=at_origin))
    moved = encode_ply(_moved_scene())
    spawn = spawn_from_cameras(_cameras_json())
    np.testing.assert_allclose(spawn[:3], MOVED_BY * TO_TRAINER, atol=1e-6)  # camera 0's, not 7's
    with_camera = ImportGenerator().prepare_source(moved, GeneratorOptions(scene_spawn=spawn))
    without = ImportGenerator().prepare_source(moved, GeneratorOptions())
    # Stood at the camera, the moved scene is seen as the original is from its origin.
    assert psnr(_view(with_camera), _view(original)) > 30.0
    np.testing.assert_allclose(with_camera.spawn.position, original.spawn.position, atol=0.05)
    np.testing.assert_allclose(with_camera.spawn.forward, original.spawn.forward, atol=1e-3)
    # Without it the importer starts at the file's origin, now 7 m from the camera.
    assert psnr(_view(without), _view(original)) < 20.0
    notes = json.loads(with_camera.pictures["scene.json"])
    assert notes["spawn"] == "the trainer's first camera (scene_spawn)"


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[]", "holds no cameras"),
        (b'{"position": [0, 0, 0]}', "holds no cameras"),
        (b'[{"id": 0, "position": [0, 0], "rotation": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}]', "position has shape"),
        (b'[{"id": 0, "position": [0, 0, 0]}]', "has no rotation"),
        (b'[{"id": 0, "position": [0, 0, 0], "rotation": [[2, 0, 0], [0, 1, 0], [0, 0, 1]]}]', "is not a rotation"),
        (b'[{"id": 0, "position": [0, NaN, 0], "rotation": [[1, 0, 0], [0, 1, 0], [0, 0, 1]]}]', "not finite"),
    ],
)
def test_a_broken_cameras_file_is_refused_saying_why(data: bytes, reason: str) -> None:
    with pytest.raises(SceneError, match=reason):
        spawn_from_cameras(data)
