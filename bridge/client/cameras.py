"""Cameras from the wire: a World's spawn CameraSpec as a renderable Camera."""

from __future__ import annotations

from bridge.wire import convert
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.world.camera import Camera


def spawn_camera(world: pb.World, width: int) -> Camera:
    """The photo's camera at ``width`` pixels (the photo's aspect ratio kept)."""
    camera = convert.camera_from_proto(world.spawn)
    k = camera.intrinsics
    return camera.with_intrinsics(k.scaled(width, round(k.height * width / k.width)))
