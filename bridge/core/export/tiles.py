"""One exported tile, made in a worker process: generated from the stored world, then encoded.

Exports make tiles here rather than reading the server's stored tiles because an export's SPZ
version and colour-clipping count are its own, and encoding in the workers spreads it over the
cores. A tile is a pure function of the prepared world and its key, so the bytes are the ones
the server streams for the same format.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bridge.formats import file_format
from bridge.formats.glb_mesh import MeshTile, mesh_tile
from bridge.formats.splats import SplatCloud, TileContent
from bridge.formats.spz import clipped_colour_values, encode_spz
from bridge.formats.tiles3d import content_y_range, glb_y_range
from bridge.generate import persist
from bridge.generate.base import Generator, PreparedWorld
from bridge.generate.directives.apply import generate_directed
from bridge.generate.registry import load_generator
from bridge.world.directives import parse_directive_list
from bridge.world.keys import TileKey
from bridge.world.store import BlobStore

# Formats whose colours pass through SPZ's byte (and so may be clamped; the manifest counts them).
SPZ_CARRIERS = ("spz", "gltf-spz")
# Per worker process, the prepared worlds of recent exports (a world is megabytes to load).
_WORLDS: dict[str, tuple[Generator, PreparedWorld]] = {}
_MAX_WORLDS = 2


@dataclass(frozen=True)
class ExportedTile:
    key: TileKey
    data: bytes
    splat_count: int
    y_range: tuple[float, float]  # world Y the content spans (3D Tiles bounding boxes)
    clipped_colour_values: int  # SPZ only: colour channel values clamped to the byte range


def _world(data_dir: str, prepared_sha: str, generator_name: str) -> tuple[Generator, PreparedWorld]:
    world = _WORLDS.get(prepared_sha)
    if world is None:
        blobs = BlobStore(Path(data_dir) / "blobs")
        world = (load_generator(generator_name), persist.loads(blobs.get(prepared_sha)))
        if len(_WORLDS) >= _MAX_WORLDS:
            _WORLDS.pop(next(iter(_WORLDS)))
        _WORLDS[prepared_sha] = world
    return world


def _content(data_dir: str, prepared_sha: str, generator_name: str, key: TileKey, directives: str) -> TileContent:
    """The tile as the server makes it: generated, then (``directives``: the JSON list in effect
    on it, "" for none) changed by its directives, GLBs read from the data folder's blobs."""
    generator, world = _world(data_dir, prepared_sha, generator_name)
    if not directives:
        return generator.generate(world, key)
    blobs = BlobStore(Path(data_dir) / "blobs")
    return generate_directed(generator, world, key, parse_directive_list(directives), blobs.get)


def make_tile(
    data_dir: str,
    prepared_sha: str,
    generator_name: str,
    key: TileKey,
    fmt: str,
    spz_version: int,
    directives: str = "",
) -> ExportedTile:
    content = _content(data_dir, prepared_sha, generator_name, key, directives)
    base_tile_m = _world(data_dir, prepared_sha, generator_name)[1].options.base_tile_m
    data = encode_file(content, fmt, spz_version, base_tile_m)
    clipped = clipped_colour_values(content.splats) if fmt in SPZ_CARRIERS else 0
    # A 3D Tiles box must enclose the file's content and should not be much more: a mesh file
    # holds the ground only, not the houses and trees the splats stand up.
    meshes = file_format(fmt).carries == "mesh"
    y_range = glb_y_range(data) if meshes else content_y_range(content)
    return ExportedTile(key, data, len(content.splats), y_range, clipped)


def encode_file(content: TileContent, fmt: str, spz_version: int, base_tile_m: float) -> bytes:
    """A tile's export file: SPZ in the version asked for (the stream's SPZ tiles stay version 3)."""
    if fmt == "spz":
        return encode_spz(content.splats, version=spz_version)
    return file_format(fmt).encode(content, base_tile_m)


@dataclass(frozen=True)
class MergePart:
    """One tile's share of a merged export: its splats, or its mesh (glb)."""

    key: TileKey
    splats: SplatCloud
    mesh: MeshTile | None
    splat_count: int


def make_part(
    data_dir: str, prepared_sha: str, generator_name: str, key: TileKey, fmt: str, directives: str = ""
) -> MergePart:
    """The tile generated (under ``directives``, as :func:`make_tile`) and, for meshes, baked here
    in the worker; the file is written once from all parts (see run.merge_parts)."""
    content = _content(data_dir, prepared_sha, generator_name, key, directives)
    if file_format(fmt).carries == "mesh":
        base_tile_m = _world(data_dir, prepared_sha, generator_name)[1].options.base_tile_m
        return MergePart(key, SplatCloud.empty(), mesh_tile(content, base_tile_m), len(content.splats))
    return MergePart(key, content.splats, None, len(content.splats))
