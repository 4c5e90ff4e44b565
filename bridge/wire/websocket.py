"""The WebSocket stream's wire format, both directions (the server adapter and the Python client).

Control messages are JSON text frames (their JSON Schema: proto/worldbridge/v1/stream.schema.json);
tiles are binary frames. The whole contract for a client author: docs/protocol.md.

Viewer -> server (text): the proto3 JSON form of ``ViewerUpdate`` — the same fields, with their
proto names or lowerCamelCase — plus an optional ``"token"`` (the bearer token, for clients that
cannot set headers, honoured on the first message only). Formats may be given by short name
(``"spz"``), enum name (``"TILE_FORMAT_SPZ"``) or number; unknown ones are reported and skipped.
Unknown fields are ignored, as protobuf does. Example::

    {"sequence": 1, "pose": {"position": {"x": 0, "y": 2, "z": 0}, "forward": {"x": 0, "y": 0, "z": -1},
     "velocity": {"x": 0, "y": 0, "z": -20}}, "view_radius_m": 256,
     "budget": {"max_bytes_in_flight": 8388608, "formats": ["spz"]}, "acks": [{"lod": 0, "ix": 0, "iz": -1}]}

Server -> viewer (text): exactly one of ``{"hello": {...}}`` (the first message of every stream),
``{"progress": {...}}``, ``{"unload": {"key": {...}}}``, ``{"error": {"code": 3, "status":
"INVALID_ARGUMENT", "message": "..."}}`` or ``{"heartbeat": {"server_unix_ms": ...}}`` (fields as
in ``TileEvent``; numbers are JSON numbers; formats are short names).

Server -> viewer (binary): a tile in one or more frames (each at most the viewer's
``max_chunk_bytes``, header included; 65,535 by default), each an 80-byte little-endian header
and a piece of the tile's bytes. A tile's frames come one after another, in order, with nothing
between them::

    offset  size  field
    0       4     magic b"WBT2" (the 2 is this layout's version)
    4       1     lod, uint8
    5       1     format, uint8: the TileFormat enum value (1 PLY, 2 SPZ, 3 GLB, 4 STREAM, 5 GLTF_SPLATS, ...)
    6       1     flags: bit 0 = the tile's first frame, bit 1 = its last (a one-frame tile has both)
    7       1     reserved, 0
    8       8     ix, int64
    16      8     iz, int64
    24      4     splat_count, uint32
    28      4     reserved, 0
    32      8     offset of this piece in the tile's bytes, uint64
    40      8     total_bytes of the tile, uint64
    48      32    sha256 of the whole tile's bytes (raw digest; hex of it is the tile's /v1/blobs/ name)
    80      ...   the piece: bytes [offset, offset + frame length - 80) of the tile

Reassembly: on a first frame, allocate total_bytes; copy each piece at its offset; on the last
frame check that offset + piece length == total_bytes and that the bytes hash to the sha256.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import struct
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from bridge.core.errors import Code
from bridge.stream.messages import (
    Heartbeat,
    Hello,
    Progress,
    StreamErrorEvent,
    StreamEvent,
    TileChanged,
    TileSent,
    TileUnloaded,
    ViewerMessage,
)
from bridge.wire import convert
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.world.keys import TileKey

MAGIC = b"WBT2"
HEADER = struct.Struct("<4sBBBxqqI4xQQ32s")
HEADER_BYTES = HEADER.size  # 80
FIRST, LAST = 1, 2
MAX_CONTROL_MESSAGE_BYTES = 256 * 1024  # one viewer update, acks included (~5,000 acks)
# Godot's WebSocketPeer takes messages of at most inbound_buffer_size, 65,535 bytes by default:
# a default Godot client works without asking.
DEFAULT_FRAME_BYTES = 65_535
MAX_FRAME_BYTES = 16 * 1024 * 1024


@dataclass(frozen=True)
class ControlMessage:
    message: ViewerMessage
    token: str | None  # present only if the viewer sent one


@dataclass(frozen=True)
class TileFrame:
    """One binary frame: a piece of a tile at ``offset`` of ``total_bytes``."""

    key: TileKey
    format: str
    sha256: str
    splat_count: int
    offset: int
    total_bytes: int
    first: bool
    last: bool
    data: bytes


def parse_control(text: str | bytes) -> ControlMessage:
    """A viewer's text frame -> ViewerMessage; anything malformed becomes ``invalid`` with why."""
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return ControlMessage(ViewerMessage(invalid=f"not JSON: {exc}"), None)
    except RecursionError:  # 100,000 nested brackets fit in a control message
        return ControlMessage(ViewerMessage(invalid="not JSON this server reads: nested too deeply"), None)
    if not isinstance(raw, dict):
        return ControlMessage(ViewerMessage(invalid="a control message must be a JSON object"), None)
    token = raw.pop("token", None)
    if token is not None and not isinstance(token, str):
        return ControlMessage(ViewerMessage(invalid="token must be a string"), None)
    try:
        formats = _take_formats(raw)
        update = json_format.ParseDict(_quote_non_finite(raw), pb.ViewerUpdate(), ignore_unknown_fields=True)
        message = convert.viewer_message(update, formats)
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as exc:
        return ControlMessage(ViewerMessage(invalid=f"bad viewer update: {exc}"), token)
    except RecursionError:
        return ControlMessage(ViewerMessage(invalid="bad viewer update: nested too deeply"), token)
    return ControlMessage(message, token)


def _format_name(value: Any) -> str:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"a format is a name or an enum number, not {value!r}")
    if isinstance(value, int):
        return convert.listed_format_name(value)
    if value.startswith("TILE_FORMAT_"):
        return value.removeprefix("TILE_FORMAT_").lower().replace("_", "-")
    return value


def _take_formats(raw: dict[str, Any]) -> tuple[str, ...] | None:
    """The budget's formats as names, taken out of ``raw`` (read here, so an unknown name is
    reported and skipped by the stream, not a parse error); held tiles' short names become
    their enum numbers (an unknown one is left for the stream to skip)."""
    for held in raw.get("held") or ():
        if isinstance(held, dict) and isinstance(held.get("format"), str):
            name = _format_name(held["format"])
            held["format"] = convert.FORMAT_ENUMS.get(name, 0)
    budget = raw.get("budget")
    if not isinstance(budget, dict) or "formats" not in budget:
        return None
    formats = budget.pop("formats")
    if not isinstance(formats, list):
        raise TypeError("budget.formats must be a list")
    return tuple(_format_name(f) for f in formats)


def _quote_non_finite(value: Any) -> Any:
    # Python's json reads NaN/Infinity, which proto3 JSON only takes quoted; quote them, so a NaN
    # pose reaches the session and is refused there with the same words as over gRPC.
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, dict):
        return {k: _quote_non_finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_quote_non_finite(v) for v in value]
    return value


def key_json(key: TileKey) -> dict[str, int]:
    return {"lod": key.lod, "ix": key.ix, "iz": key.iz}


def hello_json(hello: Hello) -> dict[str, Any]:
    return {
        "protocol_version": hello.protocol_version,
        "server_version": hello.server_version,
        "generator": hello.generator,
        "generator_version": hello.generator_version,
        "formats": list(hello.formats),
        "session_id": hello.session_id,
        "resumed": hello.resumed,
        "resumed_tiles": hello.resumed_tiles,
        "limits": dataclasses.asdict(hello.limits),
    }


def event_json(event: StreamEvent) -> str:
    """A server event other than a tile as its text frame."""
    if isinstance(event, Hello):
        return json.dumps({"hello": hello_json(event)})
    if isinstance(event, Heartbeat):
        return json.dumps({"heartbeat": {"server_unix_ms": event.server_unix_ms}})
    if isinstance(event, TileUnloaded):
        return json.dumps({"unload": {"key": key_json(event.key)}})
    if isinstance(event, TileChanged):
        return json.dumps({"changed": {"key": key_json(event.key), "directive_version": event.directive_version}})
    if isinstance(event, Progress):
        return json.dumps(
            {
                "progress": {
                    "tiles_wanted": event.tiles_wanted,
                    "tiles_sent": event.tiles_sent,
                    "tiles_pending": event.tiles_pending,
                    "bytes_sent": event.bytes_sent,
                    "sequence": event.sequence,
                }
            }
        )
    if isinstance(event, StreamErrorEvent):
        return error_json(event.code, event.message)
    raise TypeError(f"{event!r} is not a text event")


def error_json(code: int, message: str) -> str:
    """``code`` is the google.rpc number; ``status`` its name, as HTTP errors carry it."""
    return json.dumps({"error": {"code": int(code), "status": Code(code).name, "message": message}})


def tile_frames(event: TileSent, max_frame_bytes: int = DEFAULT_FRAME_BYTES) -> list[bytes]:
    """The tile as binary frames of at most ``max_frame_bytes`` each, header included."""
    if max_frame_bytes <= HEADER_BYTES:
        raise ValueError(f"a frame of {max_frame_bytes} bytes cannot hold the {HEADER_BYTES}-byte header")
    piece = max_frame_bytes - HEADER_BYTES
    data = event.data
    offsets = range(0, len(data), piece) if data else range(1)
    frames = []
    for i, offset in enumerate(offsets):
        flags = (FIRST if i == 0 else 0) | (LAST if offset + piece >= len(data) else 0)
        header = HEADER.pack(
            MAGIC,
            event.key.lod,
            convert.FORMAT_ENUMS[event.format],
            flags,
            event.key.ix,
            event.key.iz,
            event.splat_count,
            offset,
            len(data),
            bytes.fromhex(event.sha256),
        )
        frames.append(header + data[offset : offset + piece])
    return frames


def parse_tile_frame(frame: bytes) -> TileFrame:
    """Raises ValueError for a frame that is not a WBT2 tile frame."""
    if len(frame) < HEADER_BYTES:
        raise ValueError(f"a tile frame is at least {HEADER_BYTES} bytes; got {len(frame)}")
    magic, lod, fmt, flags, ix, iz, splats, offset, total, digest = HEADER.unpack_from(frame)
    if magic != MAGIC:
        raise ValueError(f"tile frame magic {magic!r} is not {MAGIC!r}")
    return TileFrame(
        TileKey(lod, ix, iz),
        convert.format_name(fmt),
        digest.hex(),
        splats,
        offset,
        total,
        bool(flags & FIRST),
        bool(flags & LAST),
        frame[HEADER_BYTES:],
    )


class FrameAssembler:
    """Joins a tile's frames (they arrive in order, one tile at a time) and checks its hash."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []
        self._expected = 0  # the offset the next piece must have

    def add(self, frame: TileFrame) -> TileFrame | None:
        """The whole tile when ``frame`` is its last; ValueError on a gap, overrun or bad hash."""
        if frame.first:
            self._parts, self._expected = [], 0
        elif not self._parts and self._expected == 0:
            raise ValueError(f"a frame of tile {frame.key} at offset {frame.offset} came without its first")
        if frame.offset != self._expected:
            raise ValueError(f"tile {frame.key}: piece at offset {frame.offset}, expected {self._expected}")
        self._parts.append(frame.data)
        self._expected += len(frame.data)
        if self._expected > frame.total_bytes:
            raise ValueError(f"tile {frame.key} overran its {frame.total_bytes} bytes")
        if not frame.last:
            return None
        data = b"".join(self._parts)
        self._parts, self._expected = [], 0
        if len(data) != frame.total_bytes:
            raise ValueError(f"tile {frame.key} ended at {len(data)} of {frame.total_bytes} bytes")
        if hashlib.sha256(data).hexdigest() != frame.sha256:
            raise ValueError(f"tile {frame.key} arrived damaged: its bytes do not hash to {frame.sha256}")
        return TileFrame(frame.key, frame.format, frame.sha256, frame.splat_count, 0, len(data), True, True, data)
