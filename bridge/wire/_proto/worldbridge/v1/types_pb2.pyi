from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TileFormat(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TILE_FORMAT_UNSPECIFIED: _ClassVar[TileFormat]
    TILE_FORMAT_PLY: _ClassVar[TileFormat]
    TILE_FORMAT_SPZ: _ClassVar[TileFormat]
    TILE_FORMAT_GLB: _ClassVar[TileFormat]
    TILE_FORMAT_STREAM: _ClassVar[TileFormat]
    TILE_FORMAT_GLTF_SPLATS: _ClassVar[TileFormat]
    TILE_FORMAT_SPLAT_TEXTURES: _ClassVar[TileFormat]
TILE_FORMAT_UNSPECIFIED: TileFormat
TILE_FORMAT_PLY: TileFormat
TILE_FORMAT_SPZ: TileFormat
TILE_FORMAT_GLB: TileFormat
TILE_FORMAT_STREAM: TileFormat
TILE_FORMAT_GLTF_SPLATS: TileFormat
TILE_FORMAT_SPLAT_TEXTURES: TileFormat

class Vec3(_message.Message):
    __slots__ = ("x", "y", "z")
    X_FIELD_NUMBER: _ClassVar[int]
    Y_FIELD_NUMBER: _ClassVar[int]
    Z_FIELD_NUMBER: _ClassVar[int]
    x: float
    y: float
    z: float
    def __init__(self, x: _Optional[float] = ..., y: _Optional[float] = ..., z: _Optional[float] = ...) -> None: ...

class TileKey(_message.Message):
    __slots__ = ("lod", "ix", "iz")
    LOD_FIELD_NUMBER: _ClassVar[int]
    IX_FIELD_NUMBER: _ClassVar[int]
    IZ_FIELD_NUMBER: _ClassVar[int]
    lod: int
    ix: int
    iz: int
    def __init__(self, lod: _Optional[int] = ..., ix: _Optional[int] = ..., iz: _Optional[int] = ...) -> None: ...

class CameraSpec(_message.Message):
    __slots__ = ("position", "forward", "up", "vertical_fov_deg", "width", "height", "fx", "fy", "cx", "cy")
    POSITION_FIELD_NUMBER: _ClassVar[int]
    FORWARD_FIELD_NUMBER: _ClassVar[int]
    UP_FIELD_NUMBER: _ClassVar[int]
    VERTICAL_FOV_DEG_FIELD_NUMBER: _ClassVar[int]
    WIDTH_FIELD_NUMBER: _ClassVar[int]
    HEIGHT_FIELD_NUMBER: _ClassVar[int]
    FX_FIELD_NUMBER: _ClassVar[int]
    FY_FIELD_NUMBER: _ClassVar[int]
    CX_FIELD_NUMBER: _ClassVar[int]
    CY_FIELD_NUMBER: _ClassVar[int]
    position: Vec3
    forward: Vec3
    up: Vec3
    vertical_fov_deg: float
    width: int
    height: int
    fx: float
    fy: float
    cx: float
    cy: float
    def __init__(self, position: _Optional[_Union[Vec3, _Mapping]] = ..., forward: _Optional[_Union[Vec3, _Mapping]] = ..., up: _Optional[_Union[Vec3, _Mapping]] = ..., vertical_fov_deg: _Optional[float] = ..., width: _Optional[int] = ..., height: _Optional[int] = ..., fx: _Optional[float] = ..., fy: _Optional[float] = ..., cx: _Optional[float] = ..., cy: _Optional[float] = ...) -> None: ...
