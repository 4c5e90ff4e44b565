"""A world's tiling: how big its tiles are and how finely a backend fills them."""

from __future__ import annotations

from dataclasses import dataclass

from bridge.world.keys import TileKey


@dataclass(frozen=True)
class TileGrid:
    """The base edge is the world's (chosen when it is created); the splats per edge are its
    backend's, at every LOD. Together they give a tile's geometric error, which the stream's
    screen-space error selection reads."""

    base_tile_m: float  # edge of a LOD-0 tile, metres
    splats_per_edge: int  # splats along a tile edge, at every LOD

    def geometric_error_m(self, key: TileKey) -> float:
        """The spacing of the tile's splats: its edge over the splats along it, metres."""
        return key.edge_m(self.base_tile_m) / self.splats_per_edge

    @property
    def splats_per_tile(self) -> int:
        return self.splats_per_edge**2
