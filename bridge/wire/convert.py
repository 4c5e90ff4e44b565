"""Proto messages <-> core values. The only module that knows both sides."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

from bridge.formats import FORMATS
from bridge.stream.messages import BudgetUpdate, HeldTileClaim, Hello, StreamLimits, ViewerMessage
from bridge.stream.pose import PoseUpdate
from bridge.stream.session import DEFAULT_FORMAT
from bridge.wire._proto.worldbridge.v1 import types_pb2 as types
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey
from bridge.world.store import WorldRow

# The wire's enum names each format TILE_FORMAT_<NAME>: derived from the format records, so a
# new format needs its enum value in the proto and nothing here.
FORMAT_NAMES = {types.TileFormat.Value(f"TILE_FORMAT_{name.upper().replace('-', '_')}"): name for name in FORMATS}
FORMAT_ENUMS = {name: value for value, name in FORMAT_NAMES.items()}
# Acks one update may carry: a viewer acks tiles as they arrive, and the bytes in flight bound
# how many can be outstanding. Counted before any is converted, so a flood costs nothing.
MAX_ACKS_PER_UPDATE = 4096


def format_name(value: int) -> str:
    """Enum -> format name; UNSPECIFIED means the default (SPZ); anything unknown raises ValueError."""
    if value == types.TILE_FORMAT_UNSPECIFIED:
        return DEFAULT_FORMAT
    if value not in FORMAT_NAMES:
        raise ValueError(f"unknown tile format {value}")
    return FORMAT_NAMES[value]


def listed_format_name(value: int) -> str:
    """Enum -> name for a viewer's list of formats: an unknown value keeps a name that says so
    (the stream reports and skips it, rather than refusing the whole update)."""
    return FORMAT_NAMES.get(value, f"TileFormat {value}")


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
        scene_scale=row.spec.scene_scale,
        scene_spawn=list(row.spec.scene_spawn),
    )


def _vec_if_set(message: pb.ViewerPose, name: str) -> tuple[float, float, float] | None:
    return vec(getattr(message, name)) if message.HasField(name) else None


def pose_update(update: pb.ViewerUpdate) -> PoseUpdate | None:
    """The update's pose, with unset vectors as None (kept by the session); a radius sent
    without a pose is a pose update of its own. None when it carries neither."""
    radius = update.view_radius_m
    if not update.HasField("pose"):
        return PoseUpdate(radius_m=radius) if radius else None
    p = update.pose
    return PoseUpdate(
        position=_vec_if_set(p, "position"),
        forward=_vec_if_set(p, "forward"),
        velocity=_vec_if_set(p, "velocity"),
        vertical_fov_deg=p.vertical_fov_deg,
        viewport_height_px=p.viewport_height_px,
        radius_m=radius,
        viewport_width_px=p.viewport_width_px,
    )


def viewer_message(update: pb.ViewerUpdate, format_names: tuple[str, ...] | None = None) -> ViewerMessage:
    """A ViewerUpdate as the core's message. ``format_names``: the budget's formats when the
    transport read them itself (the WebSocket's JSON names them by string)."""
    if len(update.acks) > MAX_ACKS_PER_UPDATE:
        raise ValueError(
            f"the update acks {len(update.acks)} tiles; at most {MAX_ACKS_PER_UPDATE} per update (send the rest later)"
        )
    budget = None
    if update.HasField("budget"):
        b = update.budget
        budget = BudgetUpdate(
            max_bytes_in_flight=b.max_bytes_in_flight,
            max_resident_splats=b.max_resident_splats,
            formats=format_names if format_names is not None else tuple(listed_format_name(f) for f in b.formats),
        )
    return ViewerMessage(
        world_id=update.world_id,
        pose=pose_update(update),
        budget=budget,
        acks=[key_from_proto(k) for k in update.acks],
        sequence=update.sequence,
        resume_session_id=update.resume_session_id,
        held=[
            HeldTileClaim(key_from_proto(h.key), listed_format_name(h.format), h.content_sha256) for h in update.held
        ],
        max_chunk_bytes=update.max_chunk_bytes,
    )


def hello_to_proto(hello: Hello) -> pb.StreamHello:
    return pb.StreamHello(
        protocol_version=hello.protocol_version,
        server_version=hello.server_version,
        generator=hello.generator,
        generator_version=hello.generator_version,
        formats=[FORMAT_ENUMS[f] for f in hello.formats],
        session_id=hello.session_id,
        resumed=hello.resumed,
        resumed_tiles=hello.resumed_tiles,
        limits=pb.StreamLimits(**dataclasses.asdict(hello.limits)),
    )


def hello_from_proto(hello: pb.StreamHello) -> Hello:
    return Hello(
        protocol_version=hello.protocol_version,
        server_version=hello.server_version,
        generator=hello.generator,
        generator_version=hello.generator_version,
        formats=tuple(listed_format_name(f) for f in hello.formats),
        session_id=hello.session_id,
        resumed=hello.resumed,
        resumed_tiles=hello.resumed_tiles,
        limits=StreamLimits(**{f.name: getattr(hello.limits, f.name) for f in dataclasses.fields(StreamLimits)}),
    )
