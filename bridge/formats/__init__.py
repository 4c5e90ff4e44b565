"""Tile formats by name: what the server streams, the CLI writes and the exports hold.

Each format is one :class:`TileFormat` record in :data:`TILE_FORMATS`; each module documents its
byte layout next to its code. A new format is one module and one record here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from bridge.formats.glb_mesh import encode_glb_mesh
from bridge.formats.gltf_splats import decode_gltf_splats, encode_tile_gltf_splats
from bridge.formats.gltf_spz import decode_gltf_spz, encode_tile_gltf_spz
from bridge.formats.ply import decode_ply, encode_ply
from bridge.formats.splat_textures import decode_splat_textures, encode_tile_textures
from bridge.formats.splats import SplatCloud, TileContent
from bridge.formats.spz import decode_spz, encode_spz
from bridge.formats.tilecodec import decode_tile
from bridge.formats.tilecodec import encode_tile as encode_stream

GLTF_FRAME = "glTF (= our world frame)"


@dataclass(frozen=True)
class TileFormat:
    """Everything the package knows about one tile format."""

    name: str  # as the API, the CLI and the wire's enum (TILE_FORMAT_<NAME>) spell it
    summary: str
    media_type: str
    extension: str  # of a file holding one tile
    frame: str  # the axes its files use
    carries: Literal["splats", "mesh"]
    encode: Callable[[TileContent, float], bytes]  # (content, base tile edge in metres) -> bytes
    decode: Callable[[bytes], SplatCloud] | None = None  # the splats back (splat formats only)
    # Raised whenever the same tile content encodes to other bytes than before: stored tiles are
    # filed under it (an older revision's bytes are made again, not served), and export
    # manifests record it beside the files' hashes.
    revision: int = 1


TILE_FORMATS: dict[str, TileFormat] = {
    f.name: f
    for f in (
        TileFormat(
            "ply",
            "INRIA 3DGS PLY, degree-0 colour",
            "application/ply",
            ".ply",
            "RDF (y down, z forward)",
            "splats",
            lambda content, base: encode_ply(content.splats),
            decode_ply,
        ),
        TileFormat(
            "spz",
            "Niantic SPZ version 3",
            "application/x-spz",
            ".spz",
            "RUB (= our world frame)",
            "splats",
            lambda content, base: encode_spz(content.splats, version=3),
            decode_spz,
        ),
        TileFormat(
            "glb",
            "glTF 2.0 mesh: heightfield with skirts, blocks of what stands on it, texture atlas baked from the splats",
            "model/gltf-binary",
            ".glb",
            GLTF_FRAME,
            "mesh",
            encode_glb_mesh,
            # 1: the ground alone; 2: the blocks of what stands on it, and the atlas.
            revision=2,
        ),
        TileFormat(
            "gltf-splats",
            "glTF 2.0 with KHR_gaussian_splatting",
            "model/gltf-binary",
            ".glb",
            GLTF_FRAME,
            "splats",
            encode_tile_gltf_splats,
            decode_gltf_splats,
        ),
        TileFormat(
            "stream",
            "WorldBridge tile codec (quantised + zstd)",
            "application/vnd.worldbridge.tile",
            ".wbtc",
            GLTF_FRAME,
            "splats",
            lambda content, base: encode_stream(content.splats),
            decode_tile,
        ),
        TileFormat(
            "splat-textures",
            "GPU-ready textures (float32 positions, half rotation and scale, RGBA8) + zstd",
            "application/vnd.worldbridge.splat-textures",
            ".wbtx",
            GLTF_FRAME,
            "splats",
            encode_tile_textures,
            decode_splat_textures,
        ),
    )
}
FORMATS: tuple[str, ...] = tuple(TILE_FORMATS)
# Files only exports write: not streamed, so the wire's TileFormat enum does not name them.
EXPORT_ONLY_FORMATS: dict[str, TileFormat] = {
    f.name: f
    for f in (
        TileFormat(
            "gltf-spz",
            "glTF 2.0 with KHR_gaussian_splatting + KHR_gaussian_splatting_compression_spz_2 (SPZ v2)",
            "model/gltf-binary",
            ".glb",
            GLTF_FRAME,
            "splats",
            encode_tile_gltf_spz,
            decode_gltf_spz,
        ),
    )
}
SPLAT_FORMATS: tuple[str, ...] = tuple(f.name for f in TILE_FORMATS.values() if f.carries == "splats")


def tile_format(fmt: str) -> TileFormat:
    """The record for ``fmt``; ValueError for an unknown name."""
    try:
        return TILE_FORMATS[fmt]
    except KeyError:
        raise ValueError(f"unknown tile format {fmt!r}; known: {', '.join(FORMATS)}") from None


def file_format(fmt: str) -> TileFormat:
    """The record for ``fmt``, a streamed or an export-only format; ValueError for an unknown name."""
    record = TILE_FORMATS.get(fmt) or EXPORT_ONLY_FORMATS.get(fmt)
    if record is None:
        known = ", ".join((*FORMATS, *EXPORT_ONLY_FORMATS))
        raise ValueError(f"unknown file format {fmt!r}; known: {known}")
    return record


def format_revisions() -> dict[str, int]:
    """Each tile format's revision, for the store (bridge.world.store.WorldStore), which files
    tiles under it."""
    return {name: record.revision for name, record in TILE_FORMATS.items()}


def encode_tile(content: TileContent, fmt: str, base_tile_m: float) -> bytes:
    """One tile in format ``fmt`` (one of ``FORMATS``); ValueError for an unknown name."""
    return tile_format(fmt).encode(content, base_tile_m)


def decode_splats(data: bytes, fmt: str) -> SplatCloud:
    """The splats in ``data`` (world frame); ValueError if malformed or ``fmt`` holds no splats."""
    record = tile_format(fmt)
    if record.decode is None:
        raise ValueError(f"a {fmt!r} tile is a {record.carries}; it holds no splats to decode")
    return record.decode(data)
