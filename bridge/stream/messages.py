"""What a viewer and the server say to each other on a tile stream, transport-free.

The server's stream loop (``bridge.core.pump``) takes :class:`ViewerMessage` and yields
:data:`StreamEvent`; every transport converts its wire messages to and from these, and the Python
clients hold the same types, so neither side imports the other.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.stream.pose import Pose
from bridge.world.keys import TileKey


@dataclass(frozen=True)
class BudgetUpdate:
    max_bytes_in_flight: int = 0  # 0: keep the current value or the default
    max_resident_splats: int = 0
    formats: tuple[str, ...] = ()


@dataclass(frozen=True)
class ViewerMessage:
    world_id: str = ""
    pose: Pose | None = None
    budget: BudgetUpdate | None = None
    acks: list[TileKey] = field(default_factory=list)
    sequence: int = 0  # echoed in Progress once applied (0: not numbered)
    invalid: str = ""  # set by a transport for a message it could not even decode: why


@dataclass(frozen=True)
class TileSent:
    key: TileKey
    format: str
    sha256: str
    data: bytes
    splat_count: int


@dataclass(frozen=True)
class TileUnloaded:
    key: TileKey


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


StreamEvent = TileSent | TileUnloaded | Progress | StreamErrorEvent
