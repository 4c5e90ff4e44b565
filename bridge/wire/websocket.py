"""The WebSocket stream's wire format, both directions (the server adapter and the Python client).

Control messages are JSON text frames; tiles are binary frames. See docs/streaming.md.

Viewer -> server (text): the proto3 JSON form of ``ViewerUpdate`` — the same fields, with their
proto names or lowerCamelCase — plus an optional ``"token"`` (the bearer token, for clients that
cannot set headers, honoured on the first message only). Formats may be given by enum name
(``"TILE_FORMAT_SPZ"``), number, or short name (``"spz"``). Example::

    {"sequence": 1, "pose": {"position": {"x": 0, "y": 2, "z": 0}, "forward": {"x": 0, "y": 0, "z": -1},
     "velocity": {"x": 0, "y": 0, "z": -20}}, "view_radius_m": 256,
     "budget": {"max_bytes_in_flight": 8388608, "formats": ["spz"]}, "acks": [{"lod": 0, "ix": 0, "iz": -1}]}

Server -> viewer (text): exactly one of ``{"progress": {...}}``, ``{"unload": {"key": {...}}}``,
``{"error": {"code": 3, "message": "..."}}`` (fields as in ``TileEvent``; numbers are JSON numbers).

Server -> viewer (binary): one whole tile per message, after a 60-byte little-endian header::

    offset  size  field
    0       4     magic b"WBT1" (the 1 is this layout's version)
    4       1     lod, uint8
    5       1     format, uint8: the TileFormat enum value (1 PLY, 2 SPZ, 3 GLB, 4 STREAM, 5 GLTF_SPLATS)
    6       2     reserved, 0
    8       8     ix, int64
    16      8     iz, int64
    24      4     splat_count, uint32
    28      32    sha256 of the tile bytes (raw digest; hex of it is the tile's /v1/blobs/ name)
    60      ...   the tile bytes, to the end of the message
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format

from bridge.stream.messages import Progress, StreamErrorEvent, TileSent, TileUnloaded, ViewerMessage
from bridge.wire import convert
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.world.keys import TileKey

MAGIC = b"WBT1"
HEADER = struct.Struct("<4sBBHqqI32s")
HEADER_BYTES = HEADER.size  # 60
MAX_CONTROL_MESSAGE_BYTES = 256 * 1024  # one viewer update, acks included (~5,000 acks)


@dataclass(frozen=True)
class ControlMessage:
    message: ViewerMessage
    token: str | None  # present only if the viewer sent one


@dataclass(frozen=True)
class TileFrame:
    key: TileKey
    format: str
    sha256: str
    splat_count: int
    data: bytes


def parse_control(text: str | bytes) -> ControlMessage:
    """A viewer's text frame -> ViewerMessage; anything malformed becomes ``invalid`` with why."""
    try:
        raw = json.loads(text)
    except (ValueError, UnicodeDecodeError) as exc:
        return ControlMessage(ViewerMessage(invalid=f"not JSON: {exc}"), None)
    if not isinstance(raw, dict):
        return ControlMessage(ViewerMessage(invalid="a control message must be a JSON object"), None)
    token = raw.pop("token", None)
    if token is not None and not isinstance(token, str):
        return ControlMessage(ViewerMessage(invalid="token must be a string"), None)
    try:
        _normalise_formats(raw)
        update = json_format.ParseDict(_quote_non_finite(raw), pb.ViewerUpdate())
        message = convert.viewer_message(update)
    except (json_format.ParseError, ValueError, TypeError, AttributeError) as exc:
        return ControlMessage(ViewerMessage(invalid=f"bad viewer update: {exc}"), token)
    return ControlMessage(message, token)


def _normalise_formats(raw: dict[str, Any]) -> None:
    budget = raw.get("budget")
    if not isinstance(budget, dict) or not isinstance(budget.get("formats"), list):
        return
    budget["formats"] = [
        convert.FORMAT_ENUMS[f] if isinstance(f, str) and f in convert.FORMAT_ENUMS else f for f in budget["formats"]
    ]


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


def event_json(event: TileUnloaded | Progress | StreamErrorEvent) -> str:
    if isinstance(event, TileUnloaded):
        return json.dumps({"unload": {"key": key_json(event.key)}})
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
    return error_json(event.code, event.message)


def error_json(code: int, message: str) -> str:
    return json.dumps({"error": {"code": code, "message": message}})


def tile_frame(event: TileSent) -> bytes:
    header = HEADER.pack(
        MAGIC,
        event.key.lod,
        convert.FORMAT_ENUMS[event.format],
        0,
        event.key.ix,
        event.key.iz,
        event.splat_count,
        bytes.fromhex(event.sha256),
    )
    return header + event.data


def parse_tile_frame(frame: bytes) -> TileFrame:
    """Raises ValueError for a frame that is not a WBT1 tile."""
    if len(frame) < HEADER_BYTES:
        raise ValueError(f"a tile frame is at least {HEADER_BYTES} bytes; got {len(frame)}")
    magic, lod, fmt, _, ix, iz, splats, digest = HEADER.unpack_from(frame)
    if magic != MAGIC:
        raise ValueError(f"tile frame magic {magic!r} is not {MAGIC!r}")
    return TileFrame(TileKey(lod, ix, iz), convert.format_name(fmt), digest.hex(), splats, frame[HEADER_BYTES:])
