"""Checks an export folder the way its users' tools read it; prints one JSON object.

Every file the manifest lists must have its sha256 and size and nothing unlisted may lie beside
them; then per format: GLB tiles load in trimesh, PLY tiles in plyfile (the vertex count the
manifest says), SPZ tiles in npm spz-js (the splat count the manifest says), splat glTF (plain or
SPZ-compressed) passes our KHR_gaussian_splatting check (the SPZ-compressed also decodes to the
manifest's count), a 3D Tiles tileset names content files that are there.

    .venv/bin/python bench/check_export.py DIR
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import trimesh
from plyfile import PlyData

from bridge.formats.gltf_splat_check import check_gaussian_splatting
from bridge.formats.gltf_spz import decode_gltf_spz

JS = Path(__file__).resolve().parents[1] / "tests" / "js"


def _tiles(manifest: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in manifest["files"] if "tile" in f]


def _content_uris(tile: dict[str, Any]) -> list[str]:
    here = [tile["content"]["uri"]] if "content" in tile else []
    return here + [uri for child in tile.get("children", []) for uri in _content_uris(child)]


def check(folder: Path) -> dict[str, Any]:
    manifest = json.loads((folder / "manifest.json").read_text())
    listed = {f["path"]: f for f in manifest["files"]}
    on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()}
    bad_hash = [
        path
        for path, record in listed.items()
        if hashlib.sha256((folder / path).read_bytes()).hexdigest() != record["sha256"]
        or (folder / path).stat().st_size != record["bytes"]
    ]
    report: dict[str, Any] = {
        "format": manifest["export"]["format"],
        "files": len(listed),
        "unlisted": sorted(on_disk - set(listed) - {"manifest.json"}),
        "bad_hash_or_size": bad_hash,
    }
    fmt, tiles = manifest["export"]["format"], _tiles(manifest)
    if fmt == "glb":
        report["trimesh_loaded"] = sum(len(trimesh.load(folder / t["path"], force="scene").geometry) > 0 for t in tiles)
    elif fmt == "ply":
        report["plyfile_count_matches"] = sum(
            len(PlyData.read(str(folder / t["path"]))["vertex"].data) == t["splats"] for t in tiles
        )
    elif fmt == "spz":
        done = subprocess.run(
            ["node", "spzjs_read_all.mjs", str(folder.resolve())], cwd=JS, capture_output=True, text=True, check=True
        )
        read = json.loads(done.stdout)
        report["spz_js"] = {**read, "points_match": read["points"] == manifest["totals"]["splats"]}
        report["spz_colour_clipping"] = manifest["spz_colour_clipping"]
    elif fmt in ("gltf-splats", "gltf-spz"):
        report["extension_check_clean"] = sum(
            check_gaussian_splatting((folder / t["path"]).read_bytes()) == [] for t in tiles
        )
    if fmt == "gltf-spz":
        report["spz_decoded_count_matches"] = sum(
            len(decode_gltf_spz((folder / t["path"]).read_bytes())) == t["splats"] for t in tiles
        )
        report["spz_colour_clipping"] = manifest["spz_colour_clipping"]
    elif fmt == "3dtiles":
        uris = _content_uris(json.loads((folder / "tileset.json").read_text())["root"])
        report["tileset_contents"] = len(uris)
        report["tileset_contents_missing"] = [u for u in uris if not (folder / u).is_file()]
    report["tiles"] = len(tiles)
    return report


if __name__ == "__main__":
    print(json.dumps(check(Path(sys.argv[1]))))
