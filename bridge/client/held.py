"""What a viewer holds: tiles by key, as the stream adds and unloads them (decoded when first looked at)."""

from __future__ import annotations

from dataclasses import dataclass, field

from bridge.formats import decode_splats
from bridge.formats.splats import SplatCloud
from bridge.stream.handover import tiles_to_draw
from bridge.world.keys import TileKey


@dataclass(frozen=True)
class EncodedTile:
    data: bytes
    format: str
    sha256: str  # of ``data``, as the server sent it


@dataclass
class HeldTiles:
    encoded: dict[TileKey, EncodedTile] = field(default_factory=dict)  # the bytes each held key came as
    first_sha256: dict[TileKey, str] = field(default_factory=dict)  # the bytes each key first came as
    ever_received: dict[TileKey, int] = field(default_factory=dict)  # key -> times received
    bytes_received: int = 0
    # Decoding waits until a tile is looked at: a walker that hands its tiles' bytes to other
    # processes (the quality report) never decodes them here.
    _decoded: dict[TileKey, SplatCloud] = field(default_factory=dict)

    def add(self, key: TileKey, data: bytes, fmt: str, sha256: str) -> None:
        self.encoded[key] = EncodedTile(data, fmt, sha256)
        self._decoded.pop(key, None)
        self.first_sha256.setdefault(key, sha256)
        self.ever_received[key] = self.ever_received.get(key, 0) + 1
        self.bytes_received += len(data)

    def unload(self, key: TileKey) -> None:
        self.encoded.pop(key, None)
        self._decoded.pop(key, None)

    def tile(self, key: TileKey) -> SplatCloud:
        cloud = self._decoded.get(key)
        if cloud is None:
            tile = self.encoded[key]
            cloud = self._decoded[key] = decode_splats(tile.data, tile.format)
        return cloud

    def cloud(self) -> SplatCloud:
        """The splats a viewer draws: the held tiles the LOD hand-over rule picks (a parent and
        its complete children are never drawn together)."""
        return SplatCloud.concat([self.tile(k) for k in sorted(tiles_to_draw(self.encoded))])

    @property
    def splat_count(self) -> int:
        return sum(len(self.tile(k)) for k in self.encoded)
