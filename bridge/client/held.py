"""What a viewer holds: decoded tiles by key, as the stream adds and unloads them."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.formats import decode_splats
from bridge.formats.splats import SplatCloud
from bridge.stream.handover import tiles_to_draw
from bridge.world.keys import TileKey


@dataclass
class HeldTiles:
    tiles: dict[TileKey, SplatCloud] = field(default_factory=dict)
    first_sha256: dict[TileKey, str] = field(default_factory=dict)  # the bytes each key first came as
    ever_received: dict[TileKey, int] = field(default_factory=dict)  # key -> times received
    bytes_received: int = 0

    def add(self, key: TileKey, data: bytes, fmt: str, sha256: str) -> None:
        self.tiles[key] = decode_splats(data, fmt)
        self.first_sha256.setdefault(key, sha256)
        self.ever_received[key] = self.ever_received.get(key, 0) + 1
        self.bytes_received += len(data)

    def unload(self, key: TileKey) -> None:
        self.tiles.pop(key, None)

    def cloud(self) -> SplatCloud:
        """The splats a viewer draws: the held tiles the LOD hand-over rule picks (a parent and
        its complete children are never drawn together)."""
        return SplatCloud.concat([self.tiles[k] for k in sorted(tiles_to_draw(self.tiles))])

    @property
    def splat_count(self) -> int:
        return sum(len(c) for c in self.tiles.values())
