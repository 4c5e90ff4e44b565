"""Merged exports: one file for the whole region, holding exactly what the per-tile files hold,
read by the third-party tools artists use, rebuilt byte for byte from its manifest."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any
from unittest.mock import patch

import numpy as np
import pytest
import trimesh
from plyfile import PlyData

from bridge.core.errors import InvalidRequestError
from bridge.core.export import ExportRequest, Region, plan_export, read_manifest
from bridge.core.export import run as export_run
from bridge.core.export.request import MAX_MERGED_TILES
from bridge.formats.gltf_splat_check import check_gaussian_splatting
from bridge.formats.gltf_splats import decode_gltf_splats
from bridge.formats.gltf_spz import decode_gltf_spz
from bridge.formats.ply import decode_ply
from bridge.formats.spz import read_spz
from tests.conftest import run
from tests.export_support import REGION, export_to, folder_digests, needs_node, node
from tests.stream_support import make_worlds, small_photo

MERGED = ("glb", "ply", "spz", "gltf-splats", "gltf-spz")


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, tuple[Path, dict[str, Any]]]:
    """Each mergeable format merged, the PLY also per tile, and the merged SPZ rebuilt from its
    manifest: name -> (folder, manifest)."""
    root = tmp_path_factory.mktemp("merged")

    async def go() -> dict[str, tuple[Path, dict[str, Any]]]:
        worlds, pool = make_worlds(root / "data")
        try:
            world, _ = await worlds.create_world(small_photo(), name="merged-tests")
            out = {}
            for fmt in MERGED:
                req = ExportRequest(REGION, fmt, merged=True)
                out[fmt] = (root / fmt, await export_to(worlds, world.id, req, root / fmt))
            out["ply-tiles"] = (
                root / "tiles",
                await export_to(worlds, world.id, ExportRequest(REGION, "ply"), root / "tiles"),
            )
            _, again = read_manifest((root / "spz" / "manifest.json").read_bytes())
            out["spz-again"] = (root / "again", await export_to(worlds, world.id, again, root / "again"))
            with pytest.raises(InvalidRequestError, match="cannot be merged"):
                await plan_export(worlds, world.id, ExportRequest(REGION, "3dtiles", merged=True))
            with (
                patch.object(export_run, "MAX_MERGED_SPLATS", 1000),
                pytest.raises(InvalidRequestError, match="over 1000 splats"),
            ):
                await export_to(worlds, world.id, ExportRequest(REGION, "spz", merged=True), root / "capped")
            assert not (root / "capped").exists()  # refused midway: nothing written
            too_wide = Region(0.0, 0.0, 8.0 * (MAX_MERGED_TILES + 1), 8.0)
            with pytest.raises(InvalidRequestError, match=f"at most {MAX_MERGED_TILES} are merged"):
                await plan_export(worlds, world.id, ExportRequest(too_wide, "ply", merged=True))
            return out
        finally:
            await worlds.close()
            pool.shutdown()

    return run(go(), 240)


@pytest.mark.parametrize("fmt", MERGED)
def test_one_file_holds_the_region_and_the_manifest_says_so(
    exports: dict[str, tuple[Path, dict[str, Any]]], fmt: str
) -> None:
    folder, manifest = exports[fmt]
    extension = ".glb" if fmt.startswith("gl") else f".{fmt}"
    assert sorted(p.name for p in folder.iterdir()) == ["PROVENANCE.txt", "manifest.json", f"region{extension}"]
    assert manifest["export"]["merged"] is True
    assert "--merged" in manifest["reproduce"]["command"]
    tile_splats = sum(f["splats"] for f in exports["ply-tiles"][1]["files"] if "tile" in f)
    assert manifest["totals"]["splats"] == tile_splats


def test_the_merged_ply_is_the_tiles_splats_in_key_order(exports: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    folder, _ = exports["ply"]
    tiles = sorted((exports["ply-tiles"][0] / "tiles").iterdir())  # 0_0_-1, 0_1_-1: key order
    merged = PlyData.read(str(folder / "region.ply"))["vertex"].data
    parts = [PlyData.read(str(p))["vertex"].data for p in tiles]
    assert len(merged) == sum(len(p) for p in parts)
    np.testing.assert_array_equal(np.asarray(merged), np.concatenate([np.asarray(p) for p in parts]))


def test_the_merged_splat_gltf_and_spz_hold_the_same_splats(exports: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    ply = decode_ply((exports["ply"][0] / "region.ply").read_bytes())
    gltf = (exports["gltf-splats"][0] / "region.glb").read_bytes()
    assert check_gaussian_splatting(gltf) == []
    np.testing.assert_allclose(decode_gltf_splats(gltf).positions, ply.positions, atol=1e-4)
    info, spz = read_spz((exports["spz"][0] / "region.spz").read_bytes())
    assert info.version == 2 and info.num_points == len(ply)
    np.testing.assert_allclose(spz.positions, ply.positions, atol=2**-info.fractional_bits)
    spz_gltf = (exports["gltf-spz"][0] / "region.glb").read_bytes()
    assert check_gaussian_splatting(spz_gltf) == []
    np.testing.assert_array_equal(decode_gltf_spz(spz_gltf).positions, spz.positions)  # the same SPZ inside


def test_the_merged_glb_loads_in_trimesh_a_mesh_per_tile(exports: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    scene = trimesh.load(exports["glb"][0] / "region.glb", force="scene")
    assert len(scene.geometry) == 2
    x0, _, z0 = scene.bounds[0]
    x1, _, z1 = scene.bounds[1]
    assert (x0, z0) == pytest.approx((0.0, -8.0), abs=1e-4) and (x1, z1) == pytest.approx((16.0, 0.0), abs=1e-4)


def test_a_merged_export_rebuilds_byte_identical_from_its_manifest(
    exports: dict[str, tuple[Path, dict[str, Any]]],
) -> None:
    assert folder_digests(exports["spz-again"][0]) == folder_digests(exports["spz"][0])


@needs_node
def test_third_party_readers_take_the_merged_files(exports: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    glbs = [str(exports[f][0] / "region.glb") for f in ("glb", "gltf-splats")]
    report = json.loads(node("validate_gltf.mjs", *glbs).stdout)
    assert report[glbs[0]]["numErrors"] == 0, report[glbs[0]]["messages"]
    # The validator predates KHR_gaussian_splatting: it flags the extension's attributes (and
    # nothing else) on every splat glTF, splat-transform's own included.
    codes = {m["code"] for m in report[glbs[1]]["messages"] if m["severity"] == 0}
    assert codes == {"MESH_PRIMITIVE_INVALID_ATTRIBUTE"}
    read = json.loads(node("spzjs_read_all.mjs", str(exports["spz"][0])).stdout)
    assert read["failed"] == [] and read["points"] == exports["spz"][1]["totals"]["splats"]
    converted = exports["ply"][0].parent / "splat-transform.spz"
    node(
        "node_modules/@playcanvas/splat-transform/bin/cli.mjs",
        "-q",
        "-w",
        str(exports["ply"][0] / "region.ply"),
        str(converted),
    )
    assert read_spz(converted.read_bytes())[0].num_points == exports["ply"][1]["totals"]["splats"]


BLENDER_PYTHON = Path(
    os.environ.get("WORLDBRIDGE_BPY_PYTHON", Path(__file__).resolve().parents[2] / ".venv-blender/bin/python")
)
needs_blender = pytest.mark.skipif(
    not BLENDER_PYTHON.is_file(),
    reason="Blender's bpy absent: `bash scripts/install.sh --dev --blender` puts it in .venv-blender",
)


@needs_blender
def test_blender_imports_the_merged_files_upright(exports: dict[str, tuple[Path, dict[str, Any]]]) -> None:
    """Blender's own glTF and PLY importers, as an artist opens the files. Blender is Z up: a
    glTF's (x, y, z) lands at (x, -z, y)."""
    files = {
        f: str(exports[f][0] / ("region.ply" if f == "ply" else "region.glb")) for f in ("glb", "ply", "gltf-splats")
    }
    script = Path(__file__).resolve().parents[1] / "blender" / "blender_check.py"
    done = subprocess.run(
        [str(BLENDER_PYTHON), str(script), *files.values()], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads(done.stdout.strip().splitlines()[-1])
    splats = exports["ply"][1]["totals"]["splats"]
    meshes = report[files["glb"]]
    assert meshes["objects"] == 2 and meshes["images"] == 2  # a mesh and a texture per tile
    (x0, y0, z0), (x1, y1, z1) = meshes["bounds"]
    assert (x0, y0, x1, y1) == pytest.approx((0.0, 0.0, 16.0, 8.0), abs=1e-4)  # region z -8..0 is Blender y 0..8
    assert z1 - z0 < 2.0  # the ground lies flat: its heights along Blender's Z
    ply = report[files["ply"]]
    assert ply["vertices"] == splats
    assert {"f_dc_0", "opacity", "scale_0", "rot_0"} <= set(ply["attributes"])  # the 3DGS fields, as attributes
    points = report[files["gltf-splats"]]
    assert points["vertices"] == splats
    world = decode_ply((exports["ply"][0] / "region.ply").read_bytes()).positions.astype(np.float64)
    lo, hi = world.min(axis=0), world.max(axis=0)
    expected = [[lo[0], -hi[2], lo[1]], [hi[0], -lo[2], hi[1]]]  # world y (up) is Blender's Z
    np.testing.assert_allclose(points["bounds"], expected, atol=1e-3)
