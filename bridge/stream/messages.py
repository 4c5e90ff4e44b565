"""What a viewer and the server say to each other on a tile stream, transport-free.

The server's stream loop (``bridge.core.pump``) takes :class:`ViewerMessage` and yields
:data:`StreamEvent`; every transport converts its wire messages to and from these, and the Python
clients hold the same types, so neither side imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.stream.pose import Pose, PoseUpdate
from bridge.world.keys import TileKey

# The contract's version: worldbridge.v1. Within it fields are only ever added.
PROTOCOL_VERSION = 1


@dataclass(frozen=True)
class BudgetUpdate:
    max_bytes_in_flight: int = 0  # 0: keep the current value or the default
    max_resident_splats: int = 0
    formats: tuple[str, ...] = ()  # names; unknown ones are reported and skipped


@dataclass(frozen=True)
class HeldTileClaim:
    """A tile a reconnecting viewer says it holds (first message only)."""

    key: TileKey
    format: str
    sha256: str


@dataclass(frozen=True)
class ViewerMessage:
    world_id: str = ""
    pose: Pose | PoseUpdate | None = None  # the view radius travels in it (radius_m)
    budget: BudgetUpdate | None = None
    acks: list[TileKey] = field(default_factory=list)
    sequence: int = 0  # echoed in Progress once applied (0: not numbered)
    invalid: str = ""  # set by a transport for a message it could not even decode: why
    resume_session_id: str = ""  # first message only
    held: list[HeldTileClaim] = field(default_factory=list)  # first message only
    max_chunk_bytes: int = 0  # the largest tile message the viewer takes (0: the transport's default)


@dataclass(frozen=True)
class TileSent:
    key: TileKey
    format: str
    sha256: str
    data: bytes
    splat_count: int
    chunk_bytes: int = 0  # the transport cuts the tile into messages of at most this (0: its default)


@dataclass(frozen=True)
class TileUnloaded:
    key: TileKey


@dataclass(frozen=True)
class TileChanged:
    """A tile the viewer holds changed (a directive); its new bytes follow as a TileSent."""

    key: TileKey
    directive_version: int


@dataclass(frozen=True)
class Progress:
    tiles_wanted: int
    tiles_sent: int
    tiles_pending: int
    bytes_sent: int
    sequence: int


@dataclass(frozen=True)
class StreamErrorEvent:
    code: int
    message: str


@dataclass(frozen=True)
class StreamLimits:
    max_chunk_bytes: int
    max_update_bytes: int
    max_bytes_in_flight: int
    max_view_radius_m: float
    max_streams_per_client: int
    heartbeat_interval_s: float
    first_message_timeout_s: float
    max_held_tiles: int


@dataclass(frozen=True)
class Hello:
    """The first event of every stream: who is speaking and on what terms."""

    protocol_version: int
    server_version: str
    generator: str
    generator_version: str
    formats: tuple[str, ...]  # every format the server can send, preferred first
    session_id: str
    resumed: bool
    resumed_tiles: int
    limits: StreamLimits


@dataclass(frozen=True)
class Heartbeat:
    """Sent on a stream with nothing else to say for a while, so idle connections stay open."""

    server_unix_ms: int


StreamEvent = Hello | TileSent | TileUnloaded | TileChanged | Progress | StreamErrorEvent | Heartbeat
