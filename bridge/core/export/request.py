"""What an export asks for, checked before anything is generated or written.

A region is an axis-aligned rectangle on the ground plane, in world metres: ``x0 < x1``,
``z0 < z1``. It is exported as the tiles of one LOD that overlap it (whole tiles: a tile is the
unit the world is made in, so its bytes are the same whether exported alone or with others).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bridge.core.errors import InvalidRequestError
from bridge.world.keys import MAX_LOD, TileKey

# Which tile encoding each export format writes its tile files in.
EXPORT_FORMATS: dict[str, str] = {
    "glb": "glb",
    "ply": "ply",
    "spz": "spz",
    "gltf-splats": "gltf-splats",
    "gltf-spz": "gltf-spz",
    "3dtiles": "",  # content in the format named by ``tiles_content``
}
TILES_CONTENT = ("glb", "gltf-splats", "gltf-spz")
SPZ_VERSIONS = (2, 3)
# spz-js (npm) and every other reader take version 2; version 3 needs a newer reader.
DEFAULT_SPZ_VERSION = 2
# 128 x 128 tiles: a 1 km square at LOD 0 with 8 m tiles. Bounds memory, disk and time.
MAX_EXPORT_TILES = 16_384
MAX_COORDINATE_M = 1.0e7  # beyond this, float32 tile positions stop meaning anything
# SPZ positions are 24-bit fixed point: with no fraction bits left, +-8,388 km. Kept clear of it
# because a tile's splats may stand a little outside the tile.
MAX_SPZ_COORDINATE_M = 8.0e6
# A merged export holds the whole region in memory once: 1,024 tiles is a 256 m square at LOD 0
# (about 7M splats, 0.4 GB as floats) or any larger region at a coarser LOD.
MERGED_FORMATS = ("glb", "ply", "spz", "gltf-splats", "gltf-spz")
MAX_MERGED_TILES = 1024
MERGED_NAME = "region"  # the merged file's name, before its extension


@dataclass(frozen=True)
class Region:
    x0: float
    z0: float
    x1: float
    z1: float

    @classmethod
    def parse(cls, text: str) -> Region:
        """``"X0,Z0,X1,Z1"`` (metres) -> region; InvalidRequestError saying what is wrong."""
        parts = text.split(",")
        if len(parts) != 4:
            raise InvalidRequestError(f"region {text!r} is not X0,Z0,X1,Z1")
        try:
            values = [float(p) for p in parts]
        except ValueError:
            raise InvalidRequestError(f"region {text!r} is not four numbers") from None
        return cls(*values)

    def __str__(self) -> str:
        return ",".join(_number(v) for v in (self.x0, self.z0, self.x1, self.z1))

    def check(self) -> None:
        values = (self.x0, self.z0, self.x1, self.z1)
        if not all(math.isfinite(v) for v in values):
            raise InvalidRequestError(f"region {self} has a value that is not a finite number")
        if self.reach() > MAX_COORDINATE_M:
            raise InvalidRequestError(f"region {self} reaches past +-{MAX_COORDINATE_M:g} m")
        if not (self.x0 < self.x1 and self.z0 < self.z1):
            raise InvalidRequestError(f"region {self} is empty or inverted: need X0 < X1 and Z0 < Z1")

    def reach(self) -> float:
        """The largest distance of a corner coordinate from the origin along either axis, metres."""
        return max(abs(self.x0), abs(self.z0), abs(self.x1), abs(self.z1))

    def keys(self, lod: int, base_tile_m: float) -> list[TileKey]:
        """The LOD-``lod`` tiles overlapping the region, row by row (z, then x)."""
        ix0, iz0, ix1, iz1 = self._index_span(lod, base_tile_m)
        return [TileKey(lod, ix, iz) for iz in range(iz0, iz1) for ix in range(ix0, ix1)]

    def tile_count(self, lod: int, base_tile_m: float) -> int:
        ix0, iz0, ix1, iz1 = self._index_span(lod, base_tile_m)
        return (ix1 - ix0) * (iz1 - iz0)

    def _index_span(self, lod: int, base_tile_m: float) -> tuple[int, int, int, int]:
        edge = base_tile_m * (1 << lod)
        # Half-open tiles: a region ending exactly on a border does not take the next tile.
        return (
            math.floor(self.x0 / edge),
            math.floor(self.z0 / edge),
            math.ceil(self.x1 / edge),
            math.ceil(self.z1 / edge),
        )


@dataclass(frozen=True)
class ExportRequest:
    region: Region
    format: str
    lod: int = 0
    spz_version: int = DEFAULT_SPZ_VERSION
    tiles_content: str = "glb"  # 3dtiles only: the format of its content files
    merged: bool = False  # one file for the whole region instead of one per tile

    @property
    def tile_format(self) -> str:
        """The tile encoding this export's tile files are written in."""
        return EXPORT_FORMATS[self.format] or self.tiles_content

    def check(self, base_tile_m: float) -> None:
        """InvalidRequestError for anything an export cannot do; nothing is made before this."""
        if self.format not in EXPORT_FORMATS:
            raise InvalidRequestError(f"unknown export format {self.format!r}; known: {', '.join(EXPORT_FORMATS)}")
        if not 0 <= self.lod <= MAX_LOD:
            raise InvalidRequestError(f"LOD {self.lod} outside [0, {MAX_LOD}]")
        if self.spz_version not in SPZ_VERSIONS:
            raise InvalidRequestError(f"SPZ version {self.spz_version} cannot be exported; use one of {SPZ_VERSIONS}")
        if self.format == "gltf-spz" and self.spz_version != DEFAULT_SPZ_VERSION:
            raise InvalidRequestError(
                f"gltf-spz holds SPZ version {DEFAULT_SPZ_VERSION}, the one KHR_gaussian_splatting_compression_spz_2 "
                f"wraps; SPZ version {self.spz_version} is for --format spz"
            )
        if self.tiles_content not in TILES_CONTENT:
            raise InvalidRequestError(
                f"3D Tiles content {self.tiles_content!r} unknown; use one of {', '.join(TILES_CONTENT)}"
            )
        self.region.check()
        if self.tile_format in ("spz", "gltf-spz") and self.region.reach() > MAX_SPZ_COORDINATE_M:
            raise InvalidRequestError(
                f"region {self.region} reaches past +-{MAX_SPZ_COORDINATE_M:g} m, beyond what SPZ's 24-bit "
                "positions can hold; export it as ply or gltf-splats"
            )
        count = self.region.tile_count(self.lod, base_tile_m)
        if self.merged and self.format not in MERGED_FORMATS:
            raise InvalidRequestError(
                f"{self.format} cannot be merged into one file; these can: {', '.join(MERGED_FORMATS)}"
            )
        if self.merged and count > MAX_MERGED_TILES:
            raise InvalidRequestError(
                f"region {self.region} holds {count} tiles at LOD {self.lod}; at most {MAX_MERGED_TILES} are merged "
                "into one file (choose a smaller region, a coarser LOD, or one file per tile)"
            )
        if count > MAX_EXPORT_TILES:
            edge = base_tile_m * (1 << self.lod)
            raise InvalidRequestError(
                f"region {self.region} holds {count} tiles of {edge:g} m at LOD {self.lod}; at most "
                f"{MAX_EXPORT_TILES} are exported at once (choose a smaller region or a coarser LOD)"
            )

    def to_json(self) -> dict[str, object]:
        return {
            "region_m": [self.region.x0, self.region.z0, self.region.x1, self.region.z1],
            "format": self.format,
            "lod": self.lod,
            "spz_version": self.spz_version,
            "tiles_content": self.tiles_content,
            # Only when set: manifests of per-tile exports keep the bytes they always had.
            **({"merged": True} if self.merged else {}),
        }

    @classmethod
    def from_json(cls, data: dict[str, object]) -> ExportRequest:
        """The request a manifest recorded; InvalidRequestError if it is malformed."""
        try:
            x0, z0, x1, z1 = (float(v) for v in data["region_m"])  # type: ignore[attr-defined]
            return cls(
                Region(x0, z0, x1, z1),
                str(data["format"]),
                int(data["lod"]),  # type: ignore[call-overload]
                int(data.get("spz_version", DEFAULT_SPZ_VERSION)),  # type: ignore[call-overload]
                str(data.get("tiles_content", "glb")),
                data.get("merged", False) is True,
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise InvalidRequestError(f"the manifest's export request is malformed: {exc!r}") from exc


def _number(value: float) -> str:
    """Short where that is exact (a command line reads back the same float), else repr."""
    short = f"{value:g}"
    return short if float(short) == value else repr(value)
