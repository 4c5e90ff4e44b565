"""A region as an OGC 3D Tiles 1.1 tileset: ``tileset.json`` over content-addressed tile files.

The CDN-friendly view of a world: any 3D Tiles 1.1 runtime (CesiumJS, Cesium for Unreal /
Unity, 3DTilesRendererJS) walks the quadtree and picks tiles by screen-space error.

Structure:
- one 3D Tiles tile per WorldBridge tile key, nested as the LOD quadtree nests (a LOD-l tile's
  children are the LOD-(l-1) tiles under it that the region holds; a missing level is skipped
  over). With several top-level tiles, a content-less root holds them.
- ``refine: "REPLACE"``: a finer tile replaces its parent, as our LODs are alternatives.
- ``geometricError``: what the world loses when a tile is drawn instead of its children -- the
  sample spacing of its LOD, ``edge / grid_samples`` (so it halves at each finer level) -- and 0
  on leaves; the tileset's own error is twice the root's.
- ``boundingVolume.box``: the tile's square and its content's height range (enclosing every
  descendant's box, as 3D Tiles requires).
- ``content.uri``: ``content/<sha256 of the bytes><ext>``, so identical tiles share a file and
  every URL is immutable (cache forever).

Frames: 3D Tiles is Z-up, glTF content is Y-up, and 3D Tiles runtimes turn glTF content
upright by the fixed rotation (x, y, z) -> (x, -z, y). Our world is glTF's frame, so tile
contents are written untouched and only the bounding boxes are expressed in the tileset's Z-up
frame with that same rotation. No root ``transform``: tileset coordinates are world metres
(local, not geo-referenced; a host places the tileset with its own transform).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bridge.formats._gltf import read_glb
from bridge.formats.splats import TileContent
from bridge.world.keys import TileKey

MIN_HALF_HEIGHT_M = 0.05  # a flat tile still gets a box with some thickness (10 cm)


@dataclass(frozen=True)
class TileEntry:
    key: TileKey
    content: bytes  # empty when the caller writes the bytes itself and gives their ``sha256``
    y_range: tuple[float, float]  # world Y (metres) the content spans
    sha256: str = ""  # of ``content``; computed when not given

    def digest(self) -> str:
        return self.sha256 or hashlib.sha256(self.content).hexdigest()


@dataclass(frozen=True)
class Tileset:
    json: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)  # relative path -> bytes


def content_y_range(content: TileContent) -> tuple[float, float]:
    """World-Y span of a tile's ground and splats (centres padded by three standard deviations)."""
    lo, hi = float(np.min(content.heights)), float(np.max(content.heights))
    if len(content.splats):
        y = content.splats.positions[:, 1].astype(np.float64)
        pad = 3.0 * content.splats.scales.astype(np.float64).max(axis=1)
        lo, hi = min(lo, float((y - pad).min())), max(hi, float((y + pad).max()))
    return lo, hi


def glb_y_range(data: bytes) -> tuple[float, float]:
    """World-Y span of a GLB's meshes, from their POSITION bounds and their nodes' translations:
    a mesh tile's box is the mesh's, not that of the splats standing on the same ground. Nodes are
    only translated (as our GLBs are); ValueError for a GLB without bounded positions."""
    gltf = read_glb(data).gltf
    lows, highs = [], []
    for node in gltf.get("nodes", []):
        if "mesh" not in node:
            continue
        lift = float(node.get("translation", [0.0, 0.0, 0.0])[1])
        for primitive in gltf["meshes"][node["mesh"]]["primitives"]:
            bounds = gltf["accessors"][primitive["attributes"]["POSITION"]]
            lows.append(float(bounds["min"][1]) + lift)
            highs.append(float(bounds["max"][1]) + lift)
    if not lows:
        raise ValueError("the GLB has no mesh with bounded POSITION values")
    return min(lows), max(highs)


def box_z_up(key: TileKey, base_tile_m: float, y_range: tuple[float, float]) -> list[float]:
    """A 3D Tiles ``box`` (centre, then the three half-axes) in the tileset's Z-up frame."""
    return box_z_up_over(key.bounds(base_tile_m), y_range)


def box_z_up_over(bounds: tuple[float, float, float, float], y_range: tuple[float, float]) -> list[float]:
    """The ``box`` over world ground ``bounds`` (x0, z0, x1, z1) and heights ``y_range``."""
    x0, z0, x1, z1 = bounds
    y0, y1 = y_range
    half_y = max((y1 - y0) / 2, MIN_HALF_HEIGHT_M)
    cx, cy, cz = (x0 + x1) / 2, (y0 + y1) / 2, (z0 + z1) / 2
    # glTF (x, y, z) -> 3D Tiles (x, -z, y): world z becomes -Y, world up becomes +Z.
    return [cx, -cz, cy, (x1 - x0) / 2, 0.0, 0.0, 0.0, (z1 - z0) / 2, 0.0, 0.0, 0.0, half_y]


def build_tileset(
    entries: Iterable[TileEntry],
    base_tile_m: float,
    *,
    grid_samples: int = 48,
    extension: str = ".glb",
    content_dir: str = "content",
    required_gltf_extensions: tuple[str, ...] = (),
) -> Tileset:
    """The tileset JSON and the content files it names, for ``entries`` (tiles of a region at
    one or more LODs). ``required_gltf_extensions``: glTF extensions every content file needs,
    declared with ``3DTILES_content_gltf`` (CesiumJS picks its splat renderer by them). ValueError
    on an empty region or a key given twice."""
    by_key: dict[TileKey, TileEntry] = {}
    for entry in entries:
        if entry.key in by_key:
            raise ValueError(f"tile {entry.key} is given twice")
        by_key[entry.key] = entry
    if not by_key:
        raise ValueError("a tileset needs at least one tile")

    def parent_in_set(key: TileKey) -> TileKey | None:
        for lod in range(key.lod + 1, max(k.lod for k in by_key) + 1):
            ancestor = key.ancestor(lod)
            if ancestor in by_key:
                return ancestor
        return None

    children: dict[TileKey | None, list[TileKey]] = {}
    for key in sorted(by_key):
        children.setdefault(parent_in_set(key), []).append(key)

    files: dict[str, bytes] = {}

    def node(key: TileKey) -> tuple[dict[str, Any], tuple[float, float]]:
        kids = [node(child) for child in children.get(key, [])]
        lo, hi = by_key[key].y_range
        for _, (klo, khi) in kids:
            lo, hi = min(lo, klo), max(hi, khi)
        uri = f"{content_dir}/{by_key[key].digest()}{extension}"
        if by_key[key].content:
            files[uri] = by_key[key].content
        tile: dict[str, Any] = {
            "boundingVolume": {"box": box_z_up(key, base_tile_m, (lo, hi))},
            "geometricError": key.edge_m(base_tile_m) / grid_samples if kids else 0.0,
            "refine": "REPLACE",
            "content": {"uri": uri},
        }
        if kids:
            tile["children"] = [k for k, _ in kids]
        return tile, (lo, hi)

    tops = [node(key) for key in children[None]]
    if len(tops) == 1:
        root = tops[0][0]
    else:
        boxes = np.array([t["boundingVolume"]["box"] for t, _ in tops])
        lo = (boxes[:, :3] - np.abs(boxes[:, 3:12].reshape(-1, 3, 3)).sum(axis=1)).min(axis=0)
        hi = (boxes[:, :3] + np.abs(boxes[:, 3:12].reshape(-1, 3, 3)).sum(axis=1)).max(axis=0)
        centre, half = (lo + hi) / 2, (hi - lo) / 2
        coarsest = max(key.lod for key in children[None])
        root = {
            "boundingVolume": {"box": [*centre.tolist(), half[0], 0.0, 0.0, 0.0, half[1], 0.0, 0.0, 0.0, half[2]]},
            "geometricError": base_tile_m * (1 << coarsest) / grid_samples * 2,
            "refine": "REPLACE",
            "children": [t for t, _ in tops],
        }
    tileset = {
        "asset": {
            "version": "1.1",
            "generator": "WorldBridge tiles3d",
            "extras": {"frame": "world metres, Z-up (glTF Y-up content rotated by the runtime)"},
        },
        "geometricError": max(root["geometricError"] * 2, base_tile_m / grid_samples),
        "root": root,
    }
    if required_gltf_extensions:
        names = list(required_gltf_extensions)
        tileset["extensionsUsed"] = ["3DTILES_content_gltf"]
        tileset["extensions"] = {"3DTILES_content_gltf": {"extensionsUsed": names, "extensionsRequired": names}}
    return Tileset(tileset, files)


def tileset_bytes(tileset: Tileset) -> bytes:
    """``tileset.json``'s bytes: sorted keys, so the same tileset is the same file."""
    return (json.dumps(tileset.json, indent=1, sort_keys=True) + "\n").encode()


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)  # readers see the old file or the whole new one, never half of one


def write_tileset(
    directory: str | Path,
    entries: Iterable[TileEntry],
    base_tile_m: float,
    *,
    grid_samples: int = 48,
    extension: str = ".glb",
) -> Path:
    """Write ``tileset.json`` and its content files under ``directory``; returns the JSON's path.
    Content files are named by their hash, so an existing one is already right and is kept."""
    out = Path(directory)
    tileset = build_tileset(entries, base_tile_m, grid_samples=grid_samples, extension=extension)
    for relative, data in tileset.files.items():
        path = out / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            _write_atomic(path, data)
    json_path = out / "tileset.json"
    out.mkdir(parents=True, exist_ok=True)
    _write_atomic(json_path, tileset_bytes(tileset))
    return json_path
