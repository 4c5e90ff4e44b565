"""``manifest.json`` and ``PROVENANCE.txt``: where an export came from, and how to make it again.

The manifest holds no clock time and no output path, so rebuilding an export from its manifest
gives the same manifest too. Keys are sorted and the JSON indented, so two manifests diff well.
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from typing import Any

from bridge.core.errors import InvalidRequestError
from bridge.core.export.request import ExportRequest
from bridge.core.export.tiles import SPZ_CARRIERS
from bridge.formats import file_format
from bridge.world.store import WorldRow

MANIFEST_VERSION = 1
MANIFEST_NAME = "manifest.json"
PROVENANCE_NAME = "PROVENANCE.txt"
TILESET_FRAME = (
    "3D Tiles 1.1: tileset.json in world metres, Z up (x, -z, y of the world); its glTF content is "
    "Y up and turned upright by the runtime"
)


@dataclass(frozen=True)
class FileRecord:
    path: str  # relative to the export folder, "/"-separated
    sha256: str
    size: int
    tile: str = ""  # "LOD,IX,IZ" for a tile's file
    splats: int = 0


@dataclass(frozen=True)
class Origin:
    """What the export was made from, as the command line named it."""

    photo: str = ""  # the photo's path as given; "" when made from a stored world


def _placement(request: ExportRequest) -> str:
    if request.tile_format in ("ply", "spz", "gltf-spz"):
        return "absolute world coordinates"
    if request.merged and request.tile_format == "glb":
        return "one node per tile, each translated to its tile's corner (x0, 0, z0) in world metres"
    if request.merged:
        return "the root node is translated to the region's first tile corner (x0, 0, z0) in world metres"
    return "each file's root node is translated to its tile's corner (x0, 0, z0) in world metres"


def frame_of(request: ExportRequest) -> dict[str, str]:
    record = file_format(request.tile_format)
    frame = {
        "units": "metres",
        "world": "glTF: right-handed, +Y up, -Z forward (the photo's camera looks along -Z)",
        "files": record.frame,
        "placement": _placement(request),
    }
    if request.format == "3dtiles":
        frame["tileset"] = TILESET_FRAME
    return frame


def reproduce_command(world: WorldRow, request: ExportRequest, origin: Origin, directives: int = 0) -> str:
    args = ["worldbridge", "export", origin.photo or "PHOTO"]
    # "--region=" keeps argparse from reading a negative X0 as an option.
    args += [f"--region={request.region}", "--format", request.format, "--lod", str(request.lod)]
    if request.format == "spz":
        args += ["--spz-version", str(request.spz_version)]
    if request.format == "3dtiles":
        args += ["--tiles-content", request.tiles_content]
    if request.merged:
        args += ["--merged"]
    args += ["--generator", world.generator, "--base-tile-m", f"{world.spec.base_tile_m:g}"]
    args += ["--seed", str(world.spec.seed)]
    if world.spec.scene_scale:
        args += ["--scale", repr(world.spec.scene_scale)]
    if world.spec.scene_spawn:
        args += [f"--spawn={','.join(repr(v) for v in world.spec.scene_spawn)}"]
    args += ["--out", "DIR"]
    notes = [] if origin.photo else [f"PHOTO: the photo with sha256 {world.photo_sha256}"]
    if directives:  # the command line cannot carry them; the manifest does
        notes.append(f"made under the directives this manifest lists ({directives}): use --from-manifest")
    command = shlex.join(args)
    return f"{command}  # {'; '.join(notes)}" if notes else command


def build_manifest(
    world: WorldRow,
    request: ExportRequest,
    origin: Origin,
    files: list[FileRecord],
    tiles: int,
    clipped_colour_values: int,
    worldbridge_version: str,
    directives: dict[str, Any],
) -> dict[str, Any]:
    splats = sum(f.splats for f in files)
    manifest: dict[str, Any] = {
        "manifest_version": MANIFEST_VERSION,
        "made_by": {
            "program": "worldbridge",
            "version": worldbridge_version,
            # The tile format's revision: a manifest rebuilt under another makes other bytes.
            "format_revision": file_format(request.tile_format).revision,
        },
        "generator": {"name": world.generator, "version": world.generator_version},
        "source": {"photo_sha256": world.photo_sha256, "photo": origin.photo, "world_id": world.id},
        "world": world.spec.to_json(),
        "directives": directives,
        "export": {**request.to_json(), "tiles": tiles, "tile_edge_m": world.spec.base_tile_m * (1 << request.lod)},
        "frame": frame_of(request),
        "files": [
            {
                "path": f.path,
                "sha256": f.sha256,
                "bytes": f.size,
                **({"tile": f.tile} if f.tile else {}),
                **({"splats": f.splats} if f.tile or f.splats else {}),
            }
            for f in sorted(files, key=lambda f: f.path)
        ],
        "totals": {"files": len(files), "bytes": sum(f.size for f in files), "splats": splats},
        "reproduce": {
            "command": reproduce_command(world, request, origin, len(directives["applied"])),
            "from_manifest": "worldbridge export --from-manifest manifest.json --out DIR",
        },
    }
    if request.tile_format in SPZ_CARRIERS:
        manifest["spz_colour_clipping"] = {
            "clipped_values": clipped_colour_values,
            "of_values": 3 * splats,
            "note": "SPZ stores colours in about -0.44..1.44; values outside are clamped to that range",
        }
    return manifest


def manifest_bytes(manifest: dict[str, Any]) -> bytes:
    return (json.dumps(manifest, indent=1, sort_keys=True) + "\n").encode()


def read_manifest(data: bytes) -> tuple[dict[str, Any], ExportRequest]:
    """A manifest and the request it records; InvalidRequestError if it is not one of ours."""
    try:
        manifest = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidRequestError(f"the manifest is not JSON: {exc}") from exc
    if not isinstance(manifest, dict) or manifest.get("manifest_version") != MANIFEST_VERSION:
        raise InvalidRequestError(f"not a WorldBridge export manifest (version {MANIFEST_VERSION})")
    export = manifest.get("export")
    if not isinstance(export, dict):
        raise InvalidRequestError("the manifest has no export section")
    return manifest, ExportRequest.from_json(export)


def provenance_text(world: WorldRow, request: ExportRequest, worldbridge_version: str, directives: int) -> bytes:
    """A note to ship beside the files: their origin and what governs their use."""
    return f"""WorldBridge export: provenance and licence

These files were generated by WorldBridge {worldbridge_version} with its "{world.generator}"
generator, version {world.generator_version}, from one source photo:
  photo sha256   {world.photo_sha256}
  world          {world.id} (tile edge {world.spec.base_tile_m:g} m, seed {world.spec.seed})
  region         {request.region} (world metres, X0,Z0,X1,Z1), LOD {request.lod}
  format         {request.format}

manifest.json lists every file with its sha256 and size, the world's parameters, the directives
applied ({directives or "none"}) and the command that makes these files again, byte for byte, from
the same photo with the same generator version.

Licence: the files are derived from the source photo. WorldBridge adds no claim of its own to
them; the photo's terms (copyright, licence, releases) govern their use, so check them before you
ship. Keep this note and manifest.json with the files so their origin can be shown.
""".encode()
