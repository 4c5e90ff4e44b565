from bridge.wire._proto.worldbridge.v1 import types_pb2 as _types_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class UploadGlbRequest(_message.Message):
    __slots__ = ("world_id", "glb")
    WORLD_ID_FIELD_NUMBER: _ClassVar[int]
    GLB_FIELD_NUMBER: _ClassVar[int]
    world_id: str
    glb: bytes
    def __init__(self, world_id: _Optional[str] = ..., glb: _Optional[bytes] = ...) -> None: ...

class GlbInfo(_message.Message):
    __slots__ = ("sha256", "size", "triangles", "width_m", "height_m", "depth_m")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    TRIANGLES_FIELD_NUMBER: _ClassVar[int]
    WIDTH_M_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_M_FIELD_NUMBER: _ClassVar[int]
    DEPTH_M_FIELD_NUMBER: _ClassVar[int]
    sha256: str
    size: int
    triangles: int
    width_m: float
    height_m: float
    depth_m: float
    def __init__(self, sha256: _Optional[str] = ..., size: _Optional[int] = ..., triangles: _Optional[int] = ..., width_m: _Optional[float] = ..., height_m: _Optional[float] = ..., depth_m: _Optional[float] = ...) -> None: ...

class ApplyDirectiveRequest(_message.Message):
    __slots__ = ("world_id", "directive_json")
    WORLD_ID_FIELD_NUMBER: _ClassVar[int]
    DIRECTIVE_JSON_FIELD_NUMBER: _ClassVar[int]
    world_id: str
    directive_json: str
    def __init__(self, world_id: _Optional[str] = ..., directive_json: _Optional[str] = ...) -> None: ...

class RevertDirectiveRequest(_message.Message):
    __slots__ = ("world_id", "directive_id")
    WORLD_ID_FIELD_NUMBER: _ClassVar[int]
    DIRECTIVE_ID_FIELD_NUMBER: _ClassVar[int]
    world_id: str
    directive_id: int
    def __init__(self, world_id: _Optional[str] = ..., directive_id: _Optional[int] = ...) -> None: ...

class DirectiveResult(_message.Message):
    __slots__ = ("version", "directive_id", "touched_tiles", "notes")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DIRECTIVE_ID_FIELD_NUMBER: _ClassVar[int]
    TOUCHED_TILES_FIELD_NUMBER: _ClassVar[int]
    NOTES_FIELD_NUMBER: _ClassVar[int]
    version: int
    directive_id: int
    touched_tiles: int
    notes: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, version: _Optional[int] = ..., directive_id: _Optional[int] = ..., touched_tiles: _Optional[int] = ..., notes: _Optional[_Iterable[str]] = ...) -> None: ...

class ListDirectivesRequest(_message.Message):
    __slots__ = ("world_id",)
    WORLD_ID_FIELD_NUMBER: _ClassVar[int]
    world_id: str
    def __init__(self, world_id: _Optional[str] = ...) -> None: ...

class DirectiveEntry(_message.Message):
    __slots__ = ("version", "op", "directive_id", "directive_json", "created_unix_ms", "in_effect")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    OP_FIELD_NUMBER: _ClassVar[int]
    DIRECTIVE_ID_FIELD_NUMBER: _ClassVar[int]
    DIRECTIVE_JSON_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    IN_EFFECT_FIELD_NUMBER: _ClassVar[int]
    version: int
    op: str
    directive_id: int
    directive_json: str
    created_unix_ms: int
    in_effect: bool
    def __init__(self, version: _Optional[int] = ..., op: _Optional[str] = ..., directive_id: _Optional[int] = ..., directive_json: _Optional[str] = ..., created_unix_ms: _Optional[int] = ..., in_effect: _Optional[bool] = ...) -> None: ...

class ListDirectivesResponse(_message.Message):
    __slots__ = ("version", "entries")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    version: int
    entries: _containers.RepeatedCompositeFieldContainer[DirectiveEntry]
    def __init__(self, version: _Optional[int] = ..., entries: _Optional[_Iterable[_Union[DirectiveEntry, _Mapping]]] = ...) -> None: ...

class ExportRegionRequest(_message.Message):
    __slots__ = ("world_id", "x0", "z0", "x1", "z1", "format", "lod", "spz_version", "tiles_content", "merged")
    WORLD_ID_FIELD_NUMBER: _ClassVar[int]
    X0_FIELD_NUMBER: _ClassVar[int]
    Z0_FIELD_NUMBER: _ClassVar[int]
    X1_FIELD_NUMBER: _ClassVar[int]
    Z1_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    LOD_FIELD_NUMBER: _ClassVar[int]
    SPZ_VERSION_FIELD_NUMBER: _ClassVar[int]
    TILES_CONTENT_FIELD_NUMBER: _ClassVar[int]
    MERGED_FIELD_NUMBER: _ClassVar[int]
    world_id: str
    x0: float
    z0: float
    x1: float
    z1: float
    format: str
    lod: int
    spz_version: int
    tiles_content: str
    merged: bool
    def __init__(self, world_id: _Optional[str] = ..., x0: _Optional[float] = ..., z0: _Optional[float] = ..., x1: _Optional[float] = ..., z1: _Optional[float] = ..., format: _Optional[str] = ..., lod: _Optional[int] = ..., spz_version: _Optional[int] = ..., tiles_content: _Optional[str] = ..., merged: _Optional[bool] = ...) -> None: ...

class ExportEvent(_message.Message):
    __slots__ = ("progress", "file")
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    FILE_FIELD_NUMBER: _ClassVar[int]
    progress: ExportProgress
    file: ExportFileChunk
    def __init__(self, progress: _Optional[_Union[ExportProgress, _Mapping]] = ..., file: _Optional[_Union[ExportFileChunk, _Mapping]] = ...) -> None: ...

class ExportProgress(_message.Message):
    __slots__ = ("tiles_done", "tiles_total", "bytes_done")
    TILES_DONE_FIELD_NUMBER: _ClassVar[int]
    TILES_TOTAL_FIELD_NUMBER: _ClassVar[int]
    BYTES_DONE_FIELD_NUMBER: _ClassVar[int]
    tiles_done: int
    tiles_total: int
    bytes_done: int
    def __init__(self, tiles_done: _Optional[int] = ..., tiles_total: _Optional[int] = ..., bytes_done: _Optional[int] = ...) -> None: ...

class ExportFileChunk(_message.Message):
    __slots__ = ("path", "sha256", "total_bytes", "offset", "data", "last")
    class Limits(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        LIMITS_UNSPECIFIED: _ClassVar[ExportFileChunk.Limits]
        MAX_CHUNK_BYTES: _ClassVar[ExportFileChunk.Limits]
    LIMITS_UNSPECIFIED: ExportFileChunk.Limits
    MAX_CHUNK_BYTES: ExportFileChunk.Limits
    PATH_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    path: str
    sha256: str
    total_bytes: int
    offset: int
    data: bytes
    last: bool
    def __init__(self, path: _Optional[str] = ..., sha256: _Optional[str] = ..., total_bytes: _Optional[int] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ..., last: _Optional[bool] = ...) -> None: ...

class CreateWorldRequest(_message.Message):
    __slots__ = ("photo", "name", "generator", "options")
    PHOTO_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    OPTIONS_FIELD_NUMBER: _ClassVar[int]
    photo: bytes
    name: str
    generator: str
    options: WorldOptions
    def __init__(self, photo: _Optional[bytes] = ..., name: _Optional[str] = ..., generator: _Optional[str] = ..., options: _Optional[_Union[WorldOptions, _Mapping]] = ...) -> None: ...

class WorldOptions(_message.Message):
    __slots__ = ("base_tile_m", "seed", "scene_scale", "scene_spawn")
    BASE_TILE_M_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SCENE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SCENE_SPAWN_FIELD_NUMBER: _ClassVar[int]
    base_tile_m: float
    seed: int
    scene_scale: float
    scene_spawn: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, base_tile_m: _Optional[float] = ..., seed: _Optional[int] = ..., scene_scale: _Optional[float] = ..., scene_spawn: _Optional[_Iterable[float]] = ...) -> None: ...

class CreateWorldResponse(_message.Message):
    __slots__ = ("world", "created")
    WORLD_FIELD_NUMBER: _ClassVar[int]
    CREATED_FIELD_NUMBER: _ClassVar[int]
    world: World
    created: bool
    def __init__(self, world: _Optional[_Union[World, _Mapping]] = ..., created: _Optional[bool] = ...) -> None: ...

class GetWorldRequest(_message.Message):
    __slots__ = ("world_id",)
    WORLD_ID_FIELD_NUMBER: _ClassVar[int]
    world_id: str
    def __init__(self, world_id: _Optional[str] = ...) -> None: ...

class ListWorldsRequest(_message.Message):
    __slots__ = ("page_size", "page_token")
    PAGE_SIZE_FIELD_NUMBER: _ClassVar[int]
    PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    page_size: int
    page_token: str
    def __init__(self, page_size: _Optional[int] = ..., page_token: _Optional[str] = ...) -> None: ...

class ListWorldsResponse(_message.Message):
    __slots__ = ("worlds", "next_page_token")
    WORLDS_FIELD_NUMBER: _ClassVar[int]
    NEXT_PAGE_TOKEN_FIELD_NUMBER: _ClassVar[int]
    worlds: _containers.RepeatedCompositeFieldContainer[World]
    next_page_token: str
    def __init__(self, worlds: _Optional[_Iterable[_Union[World, _Mapping]]] = ..., next_page_token: _Optional[str] = ...) -> None: ...

class World(_message.Message):
    __slots__ = ("id", "name", "photo_sha256", "generator", "generator_version", "base_tile_m", "seed", "spawn", "created_unix_ms", "photo_width", "photo_height", "scene_scale", "scene_spawn")
    ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    PHOTO_SHA256_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_VERSION_FIELD_NUMBER: _ClassVar[int]
    BASE_TILE_M_FIELD_NUMBER: _ClassVar[int]
    SEED_FIELD_NUMBER: _ClassVar[int]
    SPAWN_FIELD_NUMBER: _ClassVar[int]
    CREATED_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    PHOTO_WIDTH_FIELD_NUMBER: _ClassVar[int]
    PHOTO_HEIGHT_FIELD_NUMBER: _ClassVar[int]
    SCENE_SCALE_FIELD_NUMBER: _ClassVar[int]
    SCENE_SPAWN_FIELD_NUMBER: _ClassVar[int]
    id: str
    name: str
    photo_sha256: str
    generator: str
    generator_version: str
    base_tile_m: float
    seed: int
    spawn: _types_pb2.CameraSpec
    created_unix_ms: int
    photo_width: int
    photo_height: int
    scene_scale: float
    scene_spawn: _containers.RepeatedScalarFieldContainer[float]
    def __init__(self, id: _Optional[str] = ..., name: _Optional[str] = ..., photo_sha256: _Optional[str] = ..., generator: _Optional[str] = ..., generator_version: _Optional[str] = ..., base_tile_m: _Optional[float] = ..., seed: _Optional[int] = ..., spawn: _Optional[_Union[_types_pb2.CameraSpec, _Mapping]] = ..., created_unix_ms: _Optional[int] = ..., photo_width: _Optional[int] = ..., photo_height: _Optional[int] = ..., scene_scale: _Optional[float] = ..., scene_spawn: _Optional[_Iterable[float]] = ...) -> None: ...

class GetTileRequest(_message.Message):
    __slots__ = ("world_id", "key", "format")
    WORLD_ID_FIELD_NUMBER: _ClassVar[int]
    KEY_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    world_id: str
    key: _types_pb2.TileKey
    format: _types_pb2.TileFormat
    def __init__(self, world_id: _Optional[str] = ..., key: _Optional[_Union[_types_pb2.TileKey, _Mapping]] = ..., format: _Optional[_Union[_types_pb2.TileFormat, str]] = ...) -> None: ...

class GetAssetRequest(_message.Message):
    __slots__ = ("world_id", "name")
    WORLD_ID_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    world_id: str
    name: str
    def __init__(self, world_id: _Optional[str] = ..., name: _Optional[str] = ...) -> None: ...

class AssetChunk(_message.Message):
    __slots__ = ("name", "media_type", "total_bytes", "offset", "data")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    name: str
    media_type: str
    total_bytes: int
    offset: int
    data: bytes
    def __init__(self, name: _Optional[str] = ..., media_type: _Optional[str] = ..., total_bytes: _Optional[int] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ...) -> None: ...

class ViewerUpdate(_message.Message):
    __slots__ = ("world_id", "pose", "view_radius_m", "budget", "acks", "sequence", "resume_session_id", "held", "max_chunk_bytes")
    WORLD_ID_FIELD_NUMBER: _ClassVar[int]
    POSE_FIELD_NUMBER: _ClassVar[int]
    VIEW_RADIUS_M_FIELD_NUMBER: _ClassVar[int]
    BUDGET_FIELD_NUMBER: _ClassVar[int]
    ACKS_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    RESUME_SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    HELD_FIELD_NUMBER: _ClassVar[int]
    MAX_CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    world_id: str
    pose: ViewerPose
    view_radius_m: float
    budget: Budget
    acks: _containers.RepeatedCompositeFieldContainer[_types_pb2.TileKey]
    sequence: int
    resume_session_id: str
    held: _containers.RepeatedCompositeFieldContainer[HeldTile]
    max_chunk_bytes: int
    def __init__(self, world_id: _Optional[str] = ..., pose: _Optional[_Union[ViewerPose, _Mapping]] = ..., view_radius_m: _Optional[float] = ..., budget: _Optional[_Union[Budget, _Mapping]] = ..., acks: _Optional[_Iterable[_Union[_types_pb2.TileKey, _Mapping]]] = ..., sequence: _Optional[int] = ..., resume_session_id: _Optional[str] = ..., held: _Optional[_Iterable[_Union[HeldTile, _Mapping]]] = ..., max_chunk_bytes: _Optional[int] = ...) -> None: ...

class HeldTile(_message.Message):
    __slots__ = ("key", "format", "content_sha256")
    KEY_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    key: _types_pb2.TileKey
    format: _types_pb2.TileFormat
    content_sha256: str
    def __init__(self, key: _Optional[_Union[_types_pb2.TileKey, _Mapping]] = ..., format: _Optional[_Union[_types_pb2.TileFormat, str]] = ..., content_sha256: _Optional[str] = ...) -> None: ...

class ViewerPose(_message.Message):
    __slots__ = ("position", "forward", "velocity", "vertical_fov_deg", "viewport_height_px", "viewport_width_px")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    FORWARD_FIELD_NUMBER: _ClassVar[int]
    VELOCITY_FIELD_NUMBER: _ClassVar[int]
    VERTICAL_FOV_DEG_FIELD_NUMBER: _ClassVar[int]
    VIEWPORT_HEIGHT_PX_FIELD_NUMBER: _ClassVar[int]
    VIEWPORT_WIDTH_PX_FIELD_NUMBER: _ClassVar[int]
    position: _types_pb2.Vec3
    forward: _types_pb2.Vec3
    velocity: _types_pb2.Vec3
    vertical_fov_deg: float
    viewport_height_px: int
    viewport_width_px: int
    def __init__(self, position: _Optional[_Union[_types_pb2.Vec3, _Mapping]] = ..., forward: _Optional[_Union[_types_pb2.Vec3, _Mapping]] = ..., velocity: _Optional[_Union[_types_pb2.Vec3, _Mapping]] = ..., vertical_fov_deg: _Optional[float] = ..., viewport_height_px: _Optional[int] = ..., viewport_width_px: _Optional[int] = ...) -> None: ...

class Budget(_message.Message):
    __slots__ = ("max_bytes_in_flight", "max_resident_splats", "formats")
    MAX_BYTES_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_RESIDENT_SPLATS_FIELD_NUMBER: _ClassVar[int]
    FORMATS_FIELD_NUMBER: _ClassVar[int]
    max_bytes_in_flight: int
    max_resident_splats: int
    formats: _containers.RepeatedScalarFieldContainer[_types_pb2.TileFormat]
    def __init__(self, max_bytes_in_flight: _Optional[int] = ..., max_resident_splats: _Optional[int] = ..., formats: _Optional[_Iterable[_Union[_types_pb2.TileFormat, str]]] = ...) -> None: ...

class TileEvent(_message.Message):
    __slots__ = ("tile", "unload", "progress", "error", "hello", "heartbeat", "changed")
    TILE_FIELD_NUMBER: _ClassVar[int]
    UNLOAD_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    ERROR_FIELD_NUMBER: _ClassVar[int]
    HELLO_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    tile: TileChunk
    unload: TileUnload
    progress: StreamProgress
    error: StreamError
    hello: StreamHello
    heartbeat: StreamHeartbeat
    changed: TileChanged
    def __init__(self, tile: _Optional[_Union[TileChunk, _Mapping]] = ..., unload: _Optional[_Union[TileUnload, _Mapping]] = ..., progress: _Optional[_Union[StreamProgress, _Mapping]] = ..., error: _Optional[_Union[StreamError, _Mapping]] = ..., hello: _Optional[_Union[StreamHello, _Mapping]] = ..., heartbeat: _Optional[_Union[StreamHeartbeat, _Mapping]] = ..., changed: _Optional[_Union[TileChanged, _Mapping]] = ...) -> None: ...

class TileChanged(_message.Message):
    __slots__ = ("key", "directive_version")
    KEY_FIELD_NUMBER: _ClassVar[int]
    DIRECTIVE_VERSION_FIELD_NUMBER: _ClassVar[int]
    key: _types_pb2.TileKey
    directive_version: int
    def __init__(self, key: _Optional[_Union[_types_pb2.TileKey, _Mapping]] = ..., directive_version: _Optional[int] = ...) -> None: ...

class StreamHello(_message.Message):
    __slots__ = ("protocol_version", "server_version", "generator", "generator_version", "formats", "session_id", "resumed", "resumed_tiles", "limits")
    PROTOCOL_VERSION_FIELD_NUMBER: _ClassVar[int]
    SERVER_VERSION_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_FIELD_NUMBER: _ClassVar[int]
    GENERATOR_VERSION_FIELD_NUMBER: _ClassVar[int]
    FORMATS_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    RESUMED_FIELD_NUMBER: _ClassVar[int]
    RESUMED_TILES_FIELD_NUMBER: _ClassVar[int]
    LIMITS_FIELD_NUMBER: _ClassVar[int]
    protocol_version: int
    server_version: str
    generator: str
    generator_version: str
    formats: _containers.RepeatedScalarFieldContainer[_types_pb2.TileFormat]
    session_id: str
    resumed: bool
    resumed_tiles: int
    limits: StreamLimits
    def __init__(self, protocol_version: _Optional[int] = ..., server_version: _Optional[str] = ..., generator: _Optional[str] = ..., generator_version: _Optional[str] = ..., formats: _Optional[_Iterable[_Union[_types_pb2.TileFormat, str]]] = ..., session_id: _Optional[str] = ..., resumed: _Optional[bool] = ..., resumed_tiles: _Optional[int] = ..., limits: _Optional[_Union[StreamLimits, _Mapping]] = ...) -> None: ...

class StreamLimits(_message.Message):
    __slots__ = ("max_chunk_bytes", "max_update_bytes", "max_bytes_in_flight", "max_view_radius_m", "max_streams_per_client", "heartbeat_interval_s", "first_message_timeout_s", "max_held_tiles")
    MAX_CHUNK_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_UPDATE_BYTES_FIELD_NUMBER: _ClassVar[int]
    MAX_BYTES_IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    MAX_VIEW_RADIUS_M_FIELD_NUMBER: _ClassVar[int]
    MAX_STREAMS_PER_CLIENT_FIELD_NUMBER: _ClassVar[int]
    HEARTBEAT_INTERVAL_S_FIELD_NUMBER: _ClassVar[int]
    FIRST_MESSAGE_TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    MAX_HELD_TILES_FIELD_NUMBER: _ClassVar[int]
    max_chunk_bytes: int
    max_update_bytes: int
    max_bytes_in_flight: int
    max_view_radius_m: float
    max_streams_per_client: int
    heartbeat_interval_s: float
    first_message_timeout_s: float
    max_held_tiles: int
    def __init__(self, max_chunk_bytes: _Optional[int] = ..., max_update_bytes: _Optional[int] = ..., max_bytes_in_flight: _Optional[int] = ..., max_view_radius_m: _Optional[float] = ..., max_streams_per_client: _Optional[int] = ..., heartbeat_interval_s: _Optional[float] = ..., first_message_timeout_s: _Optional[float] = ..., max_held_tiles: _Optional[int] = ...) -> None: ...

class StreamHeartbeat(_message.Message):
    __slots__ = ("server_unix_ms",)
    SERVER_UNIX_MS_FIELD_NUMBER: _ClassVar[int]
    server_unix_ms: int
    def __init__(self, server_unix_ms: _Optional[int] = ...) -> None: ...

class TileChunk(_message.Message):
    __slots__ = ("key", "format", "content_sha256", "total_bytes", "offset", "data", "last", "splat_count")
    class Limits(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        LIMITS_UNSPECIFIED: _ClassVar[TileChunk.Limits]
        MAX_CHUNK_BYTES: _ClassVar[TileChunk.Limits]
    LIMITS_UNSPECIFIED: TileChunk.Limits
    MAX_CHUNK_BYTES: TileChunk.Limits
    KEY_FIELD_NUMBER: _ClassVar[int]
    FORMAT_FIELD_NUMBER: _ClassVar[int]
    CONTENT_SHA256_FIELD_NUMBER: _ClassVar[int]
    TOTAL_BYTES_FIELD_NUMBER: _ClassVar[int]
    OFFSET_FIELD_NUMBER: _ClassVar[int]
    DATA_FIELD_NUMBER: _ClassVar[int]
    LAST_FIELD_NUMBER: _ClassVar[int]
    SPLAT_COUNT_FIELD_NUMBER: _ClassVar[int]
    key: _types_pb2.TileKey
    format: _types_pb2.TileFormat
    content_sha256: str
    total_bytes: int
    offset: int
    data: bytes
    last: bool
    splat_count: int
    def __init__(self, key: _Optional[_Union[_types_pb2.TileKey, _Mapping]] = ..., format: _Optional[_Union[_types_pb2.TileFormat, str]] = ..., content_sha256: _Optional[str] = ..., total_bytes: _Optional[int] = ..., offset: _Optional[int] = ..., data: _Optional[bytes] = ..., last: _Optional[bool] = ..., splat_count: _Optional[int] = ...) -> None: ...

class TileUnload(_message.Message):
    __slots__ = ("key",)
    KEY_FIELD_NUMBER: _ClassVar[int]
    key: _types_pb2.TileKey
    def __init__(self, key: _Optional[_Union[_types_pb2.TileKey, _Mapping]] = ...) -> None: ...

class StreamProgress(_message.Message):
    __slots__ = ("tiles_wanted", "tiles_sent", "tiles_pending", "bytes_sent", "sequence")
    TILES_WANTED_FIELD_NUMBER: _ClassVar[int]
    TILES_SENT_FIELD_NUMBER: _ClassVar[int]
    TILES_PENDING_FIELD_NUMBER: _ClassVar[int]
    BYTES_SENT_FIELD_NUMBER: _ClassVar[int]
    SEQUENCE_FIELD_NUMBER: _ClassVar[int]
    tiles_wanted: int
    tiles_sent: int
    tiles_pending: int
    bytes_sent: int
    sequence: int
    def __init__(self, tiles_wanted: _Optional[int] = ..., tiles_sent: _Optional[int] = ..., tiles_pending: _Optional[int] = ..., bytes_sent: _Optional[int] = ..., sequence: _Optional[int] = ...) -> None: ...

class StreamError(_message.Message):
    __slots__ = ("code", "message")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    code: int
    message: str
    def __init__(self, code: _Optional[int] = ..., message: _Optional[str] = ...) -> None: ...
