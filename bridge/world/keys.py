"""Tile keys and the LOD arithmetic of the world's quadtree.

The world is an unbounded plane (x, z) of square tiles. A tile key is ``(lod, ix, iz)``; a tile at
``lod`` has edge ``base_tile_m * 2**lod`` and covers ``[ix*e, (ix+1)*e) x [iz*e, (iz+1)*e)`` in
world metres. LOD 0 is the finest. A tile's parent is the LOD+1 tile containing it; its four
children are the LOD-1 tiles it contains. Floor division keeps negative indices consistent.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator
from dataclasses import dataclass, field

MAX_LOD = 16  # 8 m * 2**16 ~ 520 km: coarser than any view radius we serve
MAX_INDEX = 2**40  # ~ 35 billion km at LOD 0: far past where float32 positions stop meaning anything


@dataclass(frozen=True, order=True)
class TileKey:
    lod: int
    ix: int
    iz: int
    # The hash of (lod, ix, iz), as the dataclass would compute it, kept: streams look keys up in
    # sets and dicts thousands of times per plan, and rebuilding the tuple each time was most of it.
    _hash: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if not 0 <= self.lod <= MAX_LOD:
            raise ValueError(f"tile lod {self.lod} outside [0, {MAX_LOD}]")
        if abs(self.ix) > MAX_INDEX or abs(self.iz) > MAX_INDEX:
            raise ValueError(f"tile index ({self.ix}, {self.iz}) beyond +-{MAX_INDEX}")
        object.__setattr__(self, "_hash", hash((self.lod, self.ix, self.iz)))

    def __hash__(self) -> int:
        return self._hash

    @classmethod
    def parse(cls, text: str) -> TileKey:
        """``"LOD,IX,IZ"`` -> key; raises ValueError with the reason."""
        parts = text.split(",")
        if len(parts) != 3:
            raise ValueError(f"tile key {text!r} is not LOD,IX,IZ")
        try:
            lod, ix, iz = (int(p) for p in parts)
        except ValueError as exc:
            raise ValueError(f"tile key {text!r} is not three integers") from exc
        return cls(lod, ix, iz)

    def __str__(self) -> str:
        return f"{self.lod},{self.ix},{self.iz}"

    def edge_m(self, base_tile_m: float) -> float:
        return base_tile_m * (1 << self.lod)

    def bounds(self, base_tile_m: float) -> tuple[float, float, float, float]:
        """(x0, z0, x1, z1) in metres."""
        e = self.edge_m(base_tile_m)
        return self.ix * e, self.iz * e, (self.ix + 1) * e, (self.iz + 1) * e

    def center(self, base_tile_m: float) -> tuple[float, float]:
        e = self.edge_m(base_tile_m)
        return (self.ix + 0.5) * e, (self.iz + 0.5) * e

    def parent(self) -> TileKey:
        return TileKey(self.lod + 1, self.ix // 2, self.iz // 2)

    def children(self) -> tuple[TileKey, TileKey, TileKey, TileKey]:
        if self.lod == 0:
            raise ValueError("a LOD 0 tile has no children")
        x, z, lod = self.ix * 2, self.iz * 2, self.lod - 1
        return (TileKey(lod, x, z), TileKey(lod, x + 1, z), TileKey(lod, x, z + 1), TileKey(lod, x + 1, z + 1))

    def ancestor(self, lod: int) -> TileKey:
        """The tile at a coarser (or equal) ``lod`` that contains this one."""
        if lod < self.lod:
            raise ValueError(f"lod {lod} is finer than {self.lod}")
        shift = lod - self.lod
        return TileKey(lod, self.ix >> shift, self.iz >> shift)

    def distance_m(self, x: float, z: float, base_tile_m: float) -> float:
        """Distance in the ground plane from (x, z) to the nearest point of the tile (0 inside)."""
        x0, z0, x1, z1 = self.bounds(base_tile_m)
        dx = max(x0 - x, 0.0, x - x1)
        dz = max(z0 - z, 0.0, z - z1)
        return math.hypot(dx, dz)


@functools.lru_cache(maxsize=1 << 16)
def key_of(lod: int, ix: int, iz: int) -> TileKey:
    """One shared key for these numbers (validated as ``TileKey``): a stream's interest set,
    chosen a few times a second, reuses the same objects, found in its sets and dicts by identity."""
    return TileKey(lod, ix, iz)


def _cell(v: float, e: float) -> int:
    """floor(v / e), corrected where the division rounds across a cell border (tiny or huge v)."""
    i = math.floor(v / e)
    if v < i * e:
        return i - 1
    if v >= (i + 1) * e:
        return i + 1
    return i


def tile_at(x: float, z: float, lod: int, base_tile_m: float) -> TileKey:
    """The tile at ``lod`` that contains the point (x, z)."""
    e = base_tile_m * (1 << lod)
    return TileKey(lod, _cell(x, e), _cell(z, e))


def cells_across(v: float, radius_m: float, edge_m: float) -> range:
    """Indices of the cells of edge ``edge_m`` that may come within ``radius_m`` of ``v`` along one
    axis. One extra cell each side: tiles whose closed border the disc just touches count too."""
    return range(_cell(v - radius_m, edge_m) - 1, _cell(v + radius_m, edge_m) + 2)


def tiles_in_radius(x: float, z: float, radius_m: float, lod: int, base_tile_m: float) -> Iterator[TileKey]:
    """Every tile at ``lod`` whose square comes within ``radius_m`` of (x, z), row by row."""
    if radius_m < 0 or not math.isfinite(radius_m):
        raise ValueError(f"radius {radius_m} must be finite and >= 0")
    e = base_tile_m * (1 << lod)
    for iz in cells_across(z, radius_m, e):
        for ix in cells_across(x, radius_m, e):
            key = TileKey(lod, ix, iz)
            if key.distance_m(x, z, base_tile_m) <= radius_m:
                yield key
