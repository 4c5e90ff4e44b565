"""Exports through the core: every format, read back by the readers artists use, with a
manifest that accounts for every byte. The world is the small sample photo's; the region two
LOD-0 tiles (the spawn's and its neighbour's)."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import trimesh
from plyfile import PlyData

from bridge.core.errors import InvalidRequestError, NotFoundError
from bridge.core.export import ExportRequest, Region, plan_export, read_manifest
from bridge.core.export.folder import write_folder
from bridge.core.export.request import MAX_EXPORT_TILES
from bridge.formats._gltf import read_glb
from bridge.formats.gltf_splat_check import check_gaussian_splatting
from bridge.formats.gltf_splats import EXTENSION
from bridge.formats.gltf_spz import COMPRESSION, decode_gltf_spz
from bridge.formats.tiles3d import MIN_HALF_HEIGHT_M, glb_y_range
from bridge.generate.registry import load_generator
from bridge.world.keys import TileKey
from bridge.world.photos import photo_sha256
from tests.conftest import run
from tests.export_support import REGION, export_to, folder_digests, needs_node, node, request
from tests.stream_support import make_worlds, small_photo

FORMATS = ("glb", "ply", "spz", "gltf-splats", "gltf-spz", "3dtiles")


@pytest.fixture(scope="module")
def exported(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Every format exported once from one world: format -> (folder, manifest)."""
    root = tmp_path_factory.mktemp("export")

    async def go() -> dict[str, tuple[Path, dict[str, Any]]]:
        worlds, pool = make_worlds(root / "data")
        try:
            world, _ = await worlds.create_world(small_photo(), name="export-tests")
            out = {}
            for fmt in FORMATS:
                out[fmt] = (root / fmt, await export_to(worlds, world.id, request(fmt), root / fmt))
            spz_tiles = request("3dtiles", tiles_content="gltf-spz")
            out["3dtiles-spz"] = (
                root / "3dtiles-spz",
                await export_to(worlds, world.id, spz_tiles, root / "3dtiles-spz"),
            )
            return out
        finally:
            await worlds.close()
            pool.shutdown()

    return run(go(), 240)


def test_region_takes_the_tiles_it_overlaps_and_not_the_next_at_a_border() -> None:
    assert Region(0, -8, 16, 0).keys(0, 8.0) == [TileKey(0, 0, -1), TileKey(0, 1, -1)]
    assert Region(-0.5, -8, 8, -7.9).keys(0, 8.0) == [TileKey(0, -1, -1), TileKey(0, 0, -1)]
    assert Region(0, 0, 512, 512).tile_count(0, 8.0) == 4096
    assert Region(0, 0, 512, 512).keys(2, 8.0)[-1] == TileKey(2, 15, 15)


@pytest.mark.parametrize(
    ("req", "message"),
    [
        (ExportRequest(Region(0, 0, float("nan"), 8), "ply"), "not a finite number"),
        (ExportRequest(Region(0, 0, float("inf"), 8), "ply"), "not a finite number"),
        (ExportRequest(Region(8, 0, 0, 8), "ply"), "inverted"),
        (ExportRequest(Region(0, 0, 0, 8), "ply"), "empty"),
        (ExportRequest(Region(0, 0, 1e8, 8), "ply"), "reaches past"),
        (ExportRequest(Region(0, 0, 2048, 2048), "ply"), f"at most {MAX_EXPORT_TILES}"),
        (ExportRequest(Region(9e6, 0, 9e6 + 8, 8), "spz"), "beyond what SPZ's 24-bit"),
        (ExportRequest(REGION, "obj"), "unknown export format"),
        (ExportRequest(REGION, "ply", lod=17), "LOD 17 outside"),
        (ExportRequest(REGION, "ply", lod=-1), "LOD -1 outside"),
        (ExportRequest(REGION, "spz", spz_version=4), "SPZ version 4"),
        (ExportRequest(REGION, "3dtiles", tiles_content="ply"), "3D Tiles content"),
        (ExportRequest(REGION, "gltf-spz", spz_version=3), "gltf-spz holds SPZ version 2"),
        (ExportRequest(Region(9e6, 0, 9e6 + 8, 8), "gltf-spz"), "beyond what SPZ's 24-bit"),
    ],
)
def test_bad_requests_are_refused_with_the_reason(req: ExportRequest, message: str) -> None:
    with pytest.raises(InvalidRequestError, match=message):
        req.check(8.0)


def test_a_coarser_lod_makes_the_too_large_region_exportable() -> None:
    ExportRequest(Region(0, 0, 2048, 2048), "ply", lod=2).check(8.0)


def test_unknown_world_and_bad_request_refuse_before_anything_is_made(tmp_path: Path) -> None:
    async def go() -> None:
        worlds, pool = make_worlds(tmp_path / "data")
        try:
            with pytest.raises(NotFoundError):
                await plan_export(worlds, "0" * 32, request("ply"))
            world, _ = await worlds.create_world(small_photo())
            with pytest.raises(InvalidRequestError):
                await plan_export(worlds, world.id, ExportRequest(Region(0, 0, -1, 8), "ply"))
            pool.submitted.clear()
            plan = await plan_export(worlds, world.id, request("ply"))
            assert pool.submitted == []  # planning makes nothing
            target = tmp_path / "full"
            target.mkdir()
            (target / "keep.txt").write_text("mine")
            with pytest.raises(InvalidRequestError, match="not an empty folder"):
                await write_folder(plan.events(), target)
            assert [p.name for p in target.iterdir()] == ["keep.txt"]
        finally:
            await worlds.close()
            pool.shutdown()

    run(go())
    assert not (tmp_path / "full.partial").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "full"]  # no staging left behind


@pytest.mark.parametrize("fmt", FORMATS)
def test_manifest_accounts_for_every_file(exported: dict[str, tuple[Path, dict[str, Any]]], fmt: str) -> None:
    folder, manifest = exported[fmt]
    on_disk = folder_digests(folder)
    listed = {f["path"]: f for f in manifest["files"]}
    assert set(on_disk) == set(listed) | {"manifest.json"}
    for path, record in listed.items():
        assert record["sha256"] == on_disk[path]
        assert record["bytes"] == (folder / path).stat().st_size
    assert manifest["source"]["photo_sha256"] == photo_sha256(small_photo())
    assert manifest["generator"] == {"name": "photo", "version": load_generator("photo").version}
    assert manifest["directives"] == {"schema_version": 1, "version": 0, "applied": []}
    assert manifest["export"]["region_m"] == [0.0, -8.0, 16.0, 0.0]
    assert manifest["export"]["tiles"] == 2 and manifest["export"]["lod"] == 0
    assert manifest["world"]["options"] == {"base_tile_m": 8.0, "seed": 0}
    assert manifest["frame"]["units"] == "metres"
    assert f"--format {fmt} --lod 0" in manifest["reproduce"]["command"]
    assert "PROVENANCE.txt" in listed
    assert manifest["source"]["photo_sha256"] in (folder / "PROVENANCE.txt").read_text()
    tiles = [f for f in manifest["files"] if "tile" in f]
    assert manifest["totals"]["splats"] == sum(f["splats"] for f in tiles) > 0
    assert ("spz_colour_clipping" in manifest) == (fmt in ("spz", "gltf-spz"))


def test_glb_tiles_load_in_trimesh_where_they_stand(exported: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    folder, manifest = exported["glb"]
    for record in (f for f in manifest["files"] if "tile" in f):
        scene = trimesh.load(folder / record["path"], force="scene")
        assert len(scene.geometry) >= 1
        assert sum(len(g.vertices) for g in scene.geometry.values()) > 100
        key = TileKey.parse(record["tile"])
        x0, z0, x1, z1 = key.bounds(8.0)
        (lo, hi) = scene.bounds  # world frame: the node's translation puts the tile at its corner
        assert lo[0] >= x0 - 1e-3 and hi[0] <= x1 + 1e-3, (record["tile"], scene.bounds)
        assert lo[2] >= z0 - 1e-3 and hi[2] <= z1 + 1e-3, (record["tile"], scene.bounds)


def test_ply_tiles_open_in_plyfile_with_the_3dgs_fields(exported: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    folder, manifest = exported["ply"]
    for record in (f for f in manifest["files"] if "tile" in f):
        vertex = PlyData.read(str(folder / record["path"]))["vertex"].data
        assert len(vertex) == record["splats"]
        assert {"x", "y", "z", "f_dc_0", "opacity", "scale_0", "rot_0"} <= set(vertex.dtype.names)
        assert np.isfinite(np.stack([vertex["x"], vertex["y"], vertex["z"]])).all()


@needs_node
def test_spz_js_reads_the_default_export_and_refuses_version_3(
    exported: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path
) -> None:
    folder, manifest = exported["spz"]
    assert manifest["export"]["spz_version"] == 2
    for record in (f for f in manifest["files"] if "tile" in f):
        out = tmp_path / "read.ply"
        said = json.loads(node("spzjs_to_ply.mjs", str(folder / record["path"]), str(out)).stdout)
        assert said["numPoints"] == record["splats"]
        raw = PlyData.read(str(out))["vertex"].data
        x0, z0, x1, z1 = TileKey.parse(record["tile"]).bounds(8.0)
        # spz-js converts no axes: RUB world metres as written, ground inside its tile.
        inside = (raw["x"] >= x0 - 0.5) & (raw["x"] <= x1 + 0.5) & (raw["z"] >= z0 - 0.5) & (raw["z"] <= z1 + 0.5)
        assert inside.mean() > 0.5
    clipping = manifest["spz_colour_clipping"]
    assert clipping["of_values"] == 3 * manifest["totals"]["splats"]
    assert 0 <= clipping["clipped_values"] <= clipping["of_values"]
    # Why version 2 is the default: spz-js 1.2.5 refuses version 3.
    from bridge.formats.splats import SplatCloud
    from bridge.formats.spz import encode_spz

    v3 = tmp_path / "v3.spz"
    cloud = SplatCloud.from_arrays(
        np.zeros((2, 3)), np.full((2, 3), 0.1), np.tile([1.0, 0, 0, 0], (2, 1)), np.full(2, 0.5), np.full((2, 3), 0.5)
    )
    v3.write_bytes(encode_spz(cloud, version=3))
    refused = node("spzjs_to_ply.mjs", str(v3), str(tmp_path / "v3.ply"), check=False)
    assert refused.returncode != 0 and "version" in (refused.stderr + refused.stdout).lower()


def test_splat_gltf_passes_our_check_against_the_extension_text(
    exported: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    folder, manifest = exported["gltf-splats"]
    for record in (f for f in manifest["files"] if "tile" in f):
        assert check_gaussian_splatting((folder / record["path"]).read_bytes()) == [], record["path"]


def test_spz_gltf_holds_the_spz_exports_tile_files_and_passes_the_spz_2_check(
    exported: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    folder, manifest = exported["gltf-spz"]
    spz_folder, spz_manifest = exported["spz"]
    spz_files = {f["tile"]: f for f in spz_manifest["files"] if "tile" in f}
    tiles = [f for f in manifest["files"] if "tile" in f]
    assert len(tiles) == 2 and manifest["frame"]["placement"] == "absolute world coordinates"
    for record in tiles:
        data = (folder / record["path"]).read_bytes()
        assert check_gaussian_splatting(data) == [], record["path"]
        glb = read_glb(data)
        primitive = glb.gltf["meshes"][0]["primitives"][0]
        view = primitive["extensions"][EXTENSION]["extensions"][COMPRESSION]["bufferView"]
        # The SPZ inside is byte for byte the tile's file of the SPZ export (version 2).
        assert glb.view_bytes(view) == (spz_folder / spz_files[record["tile"]]["path"]).read_bytes()
        assert record["splats"] == spz_files[record["tile"]]["splats"]
    assert manifest["spz_colour_clipping"] == spz_manifest["spz_colour_clipping"]


@needs_node
def test_splat_gltf_validator_errors_are_only_the_extension_attributes_it_predates(
    exported: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    folder, manifest = exported["gltf-splats"]
    paths = [str(folder / f["path"]) for f in manifest["files"] if "tile" in f]
    reports = json.loads(node("validate_gltf.mjs", *paths).stdout)
    for path, report in reports.items():
        codes = {m["code"] for m in report["messages"] if m["severity"] == 0}
        assert codes == {"MESH_PRIMITIVE_INVALID_ATTRIBUTE"}, (path, report["messages"])


def test_3dtiles_tileset_names_content_files_that_load(exported: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    folder, manifest = exported["3dtiles"]
    tileset = json.loads((folder / "tileset.json").read_text())
    assert tileset["asset"]["version"] == "1.1"
    uris = []

    def walk(tile: dict[str, Any]) -> None:
        if "content" in tile:
            uris.append(tile["content"]["uri"])
        for child in tile.get("children", []):
            walk(child)

    walk(tileset["root"])
    assert len(uris) == 2
    for uri, tile in zip(uris, tileset["root"]["children"], strict=True):
        data = (folder / uri).read_bytes()
        assert uri == f"content/{hashlib.sha256(data).hexdigest()}.glb"
        assert len(trimesh.load(folder / uri, force="scene").geometry) >= 1
        # The box is as tall as the mesh in the file (or the minimum thickness), no taller.
        low, high = glb_y_range(data)
        box = tile["boundingVolume"]["box"]
        assert box[2] == pytest.approx((low + high) / 2)
        assert box[11] == pytest.approx(max((high - low) / 2, MIN_HALF_HEIGHT_M))
    assert {f["path"] for f in manifest["files"]} >= {"tileset.json", *uris}


def test_3dtiles_over_spz_gltf_declares_the_splat_extensions_cesium_needs(
    exported: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    folder, manifest = exported["3dtiles-spz"]
    tileset = json.loads((folder / "tileset.json").read_text())
    declared = tileset["extensions"]["3DTILES_content_gltf"]
    assert tileset["extensionsUsed"] == ["3DTILES_content_gltf"]
    assert declared["extensionsRequired"] == [EXTENSION, COMPRESSION] == declared["extensionsUsed"]
    contents = {f["path"]: f for f in manifest["files"] if f["path"].startswith("content/")}
    # The same tiles as the gltf-spz export's files, by content hash.
    spz_files = {f["sha256"] for f in exported["gltf-spz"][1]["files"] if "tile" in f}
    assert {f["sha256"] for f in contents.values()} == spz_files
    for child in tileset["root"]["children"]:
        data = (folder / child["content"]["uri"]).read_bytes()
        assert check_gaussian_splatting(data) == []
        # The box (Z-up: world y is its z) holds every splat centre the file decodes to.
        heights = decode_gltf_spz(data).positions[:, 1]
        box = child["boundingVolume"]["box"]
        assert box[2] - box[11] <= heights.min() and heights.max() <= box[2] + box[11]


@pytest.mark.parametrize("fmt", ["spz", "gltf-spz"])
def test_the_manifests_request_in_another_data_folder_is_the_same_bytes(
    exported: dict[str, tuple[Path, dict[str, Any]]], tmp_path: Path, fmt: str
) -> None:
    _, again_request = read_manifest((exported[fmt][0] / "manifest.json").read_bytes())

    async def again() -> None:
        worlds, pool = make_worlds(tmp_path / "other-data")
        try:
            world, _ = await worlds.create_world(small_photo())
            await export_to(worlds, world.id, again_request, tmp_path / fmt)
        finally:
            await worlds.close()
            pool.shutdown()

    run(again())
    assert folder_digests(tmp_path / fmt) == folder_digests(exported[fmt][0])
