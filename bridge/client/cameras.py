"""Cameras from the wire: a World's spawn CameraSpec as a renderable Camera."""

from __future__ import annotations

from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.world.camera import Camera, Intrinsics


def spawn_camera(world: pb.World, width: int) -> Camera:
    """The photo's camera at ``width`` pixels (the photo's aspect ratio kept)."""
    spec = world.spawn
    height = round(spec.height * width / spec.width)
    full = Intrinsics(spec.width, spec.height, spec.fx, spec.fy, spec.cx, spec.cy)
    p, f, u = spec.position, spec.forward, spec.up
    return Camera.looking((p.x, p.y, p.z), (f.x, f.y, f.z), full.scaled(width, height), up=(u.x, u.y, u.z))
