"""3D Tiles 1.1 tileset over a region: structure, frames, content addressing, refinement."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest

from bridge.formats import encode_tile
from bridge.formats.tiles3d import (
    TileEntry,
    box_z_up,
    build_tileset,
    content_y_range,
    glb_y_range,
    write_tileset,
)
from bridge.world.keys import TileKey
from tests.sample_tiles import ground_tile

BASE = 32.0
PHOTO = np.random.default_rng(0).uniform(0, 1, (24, 24, 3)).astype(np.float32)


def entry(key: TileKey, fmt: str = "glb") -> TileEntry:
    content = ground_tile(PHOTO, key, BASE, per_side=6, samples=4)
    return TileEntry(key, encode_tile(content, fmt, BASE), content_y_range(content))


def region(lods: range = range(3)) -> list[TileEntry]:
    """Every tile of LODs ``lods`` over the square [0, 128) x [0, 128)."""
    out = []
    for lod in lods:
        n = 4 >> lod
        out += [entry(TileKey(lod, ix, iz)) for ix in range(n) for iz in range(n)]
    return out


def walk(tile: dict, depth: int = 0):
    yield tile, depth
    for child in tile.get("children", []):
        yield from walk(child, depth + 1)


def box_bounds(box: list[float]) -> tuple[np.ndarray, np.ndarray]:
    centre, axes = np.array(box[:3]), np.abs(np.array(box[3:]).reshape(3, 3)).sum(axis=0)
    return centre - axes, centre + axes


def test_tileset_structure_over_three_lods() -> None:
    tileset = build_tileset(region(), BASE, grid_samples=4)
    doc = tileset.json
    assert doc["asset"]["version"] == "1.1"
    root = doc["root"]
    assert doc["geometricError"] > root["geometricError"]
    tiles = list(walk(root))
    assert len(tiles) == 16 + 4 + 1  # one LOD-2 tile covers the region: it is the root
    for tile, depth in tiles:
        assert tile["refine"] == "REPLACE"
        assert len(tile["boundingVolume"]["box"]) == 12
        assert tile["content"]["uri"].startswith("content/") and tile["content"]["uri"].endswith(".glb")
        kids = tile.get("children", [])
        assert len(kids) in (0, 4)
        if kids:
            # A tile's error is its LOD's sample spacing: it halves at each finer level.
            assert tile["geometricError"] == pytest.approx(BASE * 2 ** (2 - depth) / 4)
            assert all(k["geometricError"] < tile["geometricError"] for k in kids)
            lo, hi = box_bounds(tile["boundingVolume"]["box"])
            for kid in kids:
                klo, khi = box_bounds(kid["boundingVolume"]["box"])
                assert np.all(klo >= lo - 1e-9) and np.all(khi <= hi + 1e-9), "children stay inside"
        else:
            assert tile["geometricError"] == 0 and depth == 2


def test_content_is_addressed_by_sha256_and_deduplicated() -> None:
    entries = region(range(1, 3))
    same = TileEntry(TileKey(0, 0, 0), entries[0].content, entries[0].y_range)  # identical bytes
    tileset = build_tileset([*entries, same], BASE)
    for uri, data in tileset.files.items():
        assert uri == f"content/{hashlib.sha256(data).hexdigest()}.glb"
    uris = [t["content"]["uri"] for t, _ in walk(tileset.json["root"])]
    assert len(uris) == len(entries) + 1 and len(set(uris)) == len(entries)
    assert len(tileset.files) == len(entries)


def test_boxes_are_z_up_with_world_y_as_height() -> None:
    key = TileKey(1, 2, -3)  # x in [128, 192), z in [-192, -128)
    box = box_z_up(key, BASE, (-4.0, 10.0))
    # glTF (x, y, z) -> 3D Tiles (x, -z, y): centre (160, 3, -160) -> (160, 160, 3).
    assert box[:3] == [160.0, 160.0, 3.0]
    assert box[3:] == [32.0, 0, 0, 0, 32.0, 0, 0, 0, 7.0]
    flat = box_z_up(key, BASE, (2.0, 2.0))
    assert flat[11] > 0, "a flat tile still gets a box with thickness"


def test_box_encloses_the_content() -> None:
    key = TileKey(0, 1, 1)
    content = ground_tile(PHOTO, key, BASE, per_side=6, samples=4)
    lo, hi = content_y_range(content)
    assert lo <= float(content.heights.min()) and hi >= float(content.heights.max())
    y = content.splats.positions[:, 1]
    assert lo <= y.min() and hi >= y.max()


def test_several_top_tiles_get_a_content_less_root() -> None:
    entries = [entry(TileKey(1, 0, 0)), entry(TileKey(1, 1, 0)), entry(TileKey(0, 0, 0))]
    root = build_tileset(entries, BASE).json["root"]
    assert "content" not in root and len(root["children"]) == 2
    lo, hi = box_bounds(root["boundingVolume"]["box"])
    for child in root["children"]:
        clo, chi = box_bounds(child["boundingVolume"]["box"])
        assert np.all(clo >= lo - 1e-9) and np.all(chi <= hi + 1e-9)
    assert root["geometricError"] > max(c["geometricError"] for c in root["children"])


def test_skipped_levels_attach_to_the_nearest_ancestor() -> None:
    entries = [entry(TileKey(2, 0, 0)), entry(TileKey(0, 1, 2))]  # no LOD 1 tile between them
    root = build_tileset(entries, BASE).json["root"]
    assert [len(root.get("children", []))] == [1]
    assert root["children"][0]["geometricError"] == 0


def test_splat_glb_content_works_too() -> None:
    tileset = build_tileset([entry(TileKey(0, 0, 0), "gltf-splats")], BASE)
    assert next(iter(tileset.files.values()))[:4] == b"glTF"


def test_write_tileset_writes_json_and_content(tmp_path: Path) -> None:
    entries = region(range(1, 3))
    path = write_tileset(tmp_path / "out", entries, BASE)
    doc = json.loads(path.read_text())
    for tile, _ in walk(doc["root"]):
        data = (path.parent / tile["content"]["uri"]).read_bytes()
        assert tile["content"]["uri"].endswith(hashlib.sha256(data).hexdigest() + ".glb")
    again = write_tileset(tmp_path / "out", entries, BASE)  # idempotent: same files, same JSON
    assert again.read_text() == path.read_text()
    assert not list((tmp_path / "out").rglob(".*.tmp"))


def test_bad_regions_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one"):
        build_tileset([], BASE)
    one = entry(TileKey(0, 0, 0))
    with pytest.raises(ValueError, match="twice"):
        build_tileset([one, one], BASE)


def test_a_mesh_tiles_height_span_is_its_meshs_not_its_splats() -> None:
    content = ground_tile(PHOTO, TileKey(0, 3, -2), BASE, per_side=6, samples=4)
    data = encode_tile(content, "glb", BASE)
    low, high = glb_y_range(data)
    skirt = json.loads(data[20 : 20 + int.from_bytes(data[12:16], "little")])["nodes"][0]["extras"]["worldbridge"][
        "skirt_m"
    ]
    heights = content.heights.astype(np.float64)
    # The mesh is the heightfield and its skirts hanging below it; the splats' span is wider.
    assert high == pytest.approx(heights.max(), abs=1e-4)
    assert heights.min() - skirt - 1e-4 <= low < heights.min()
    assert content_y_range(content)[1] > high
