"""Proto messages <-> core values. The only module that knows both sides."""

from __future__ import annotations

import math
from collections.abc import Sequence

from bridge.formats import FORMATS
from bridge.stream.messages import BudgetUpdate, ViewerMessage
from bridge.stream.pose import Pose
from bridge.wire._proto.worldbridge.v1 import types_pb2 as types
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey
from bridge.world.store import WorldRow

# The wire's enum names each format TILE_FORMAT_<NAME>: derived from the format records, so a
# new format needs its enum value in the proto and nothing here.
FORMAT_NAMES = {types.TileFormat.Value(f"TILE_FORMAT_{name.upper().replace('-', '_')}"): name for name in FORMATS}
FORMAT_ENUMS = {name: value for value, name in FORMAT_NAMES.items()}


def format_name(value: int) -> str:
    """Enum -> format name; UNSPECIFIED means PLY; anything unknown raises ValueError."""
    if value == types.TILE_FORMAT_UNSPECIFIED:
        return "ply"
    if value not in FORMAT_NAMES:
        raise ValueError(f"unknown tile format {value}")
    return FORMAT_NAMES[value]


def key_from_proto(key: types.TileKey) -> TileKey:
    return TileKey(int(key.lod), int(key.ix), int(key.iz))


def key_to_proto(key: TileKey) -> types.TileKey:
    return types.TileKey(lod=key.lod, ix=key.ix, iz=key.iz)


def vec(v: types.Vec3) -> tuple[float, float, float]:
    return (v.x, v.y, v.z)


def vec3(values: Sequence[float]) -> types.Vec3:
    return types.Vec3(x=float(values[0]), y=float(values[1]), z=float(values[2]))


def camera_to_proto(camera: Camera) -> types.CameraSpec:
    k = camera.intrinsics
    return types.CameraSpec(
        position=vec3(camera.position),
        forward=vec3(camera.forward),
        up=vec3(camera.rotation[:, 1]),
        vertical_fov_deg=k.vertical_fov_deg,
        width=k.width,
        height=k.height,
        fx=k.fx,
        fy=k.fy,
        cx=k.cx,
        cy=k.cy,
    )


def camera_from_proto(spec: types.CameraSpec) -> Camera:
    intrinsics = Intrinsics(spec.width, spec.height, spec.fx, spec.fy, spec.cx, spec.cy)
    return Camera.looking(vec(spec.position), vec(spec.forward), intrinsics, up=vec(spec.up))


def world_to_proto(row: WorldRow) -> pb.World:
    width, height = row.spec.photo_size
    return pb.World(
        id=row.id,
        name=row.name,
        photo_sha256=row.photo_sha256,
        generator=row.generator,
        generator_version=row.generator_version,
        base_tile_m=row.spec.base_tile_m,
        seed=row.spec.seed,
        spawn=camera_to_proto(row.spec.spawn),
        created_unix_ms=row.created_unix_ms,
        photo_width=width,
        photo_height=height,
    )


def viewer_message(update: pb.ViewerUpdate) -> ViewerMessage:
    """Raises ValueError for fields that cannot even be represented (unknown format enums)."""
    pose = None
    if update.HasField("pose"):
        p = update.pose
        pose = Pose(
            position=vec(p.position),
            forward=vec(p.forward) if p.HasField("forward") else (0.0, 0.0, -1.0),
            velocity=vec(p.velocity),
            vertical_fov_deg=p.vertical_fov_deg,
            viewport_height_px=p.viewport_height_px,
            radius_m=update.view_radius_m,
        )
    elif update.view_radius_m and not math.isfinite(update.view_radius_m):
        raise ValueError(f"view_radius_m {update.view_radius_m} is not finite")
    budget = None
    if update.HasField("budget"):
        b = update.budget
        budget = BudgetUpdate(
            max_bytes_in_flight=b.max_bytes_in_flight,
            max_resident_splats=b.max_resident_splats,
            formats=tuple(format_name(f) for f in b.formats),
        )
    return ViewerMessage(
        world_id=update.world_id,
        pose=pose,
        budget=budget,
        acks=[key_from_proto(k) for k in update.acks],
        sequence=update.sequence,
    )
