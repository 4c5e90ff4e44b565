"""GLB outputs: the heightfield mesh with skirts and texture, and KHR_gaussian_splatting splats.

Both are checked by the Khronos glTF-Validator (npm ``gltf-validator``, run through node) and
by our own reading of the file; the mesh also loads in trimesh.
"""

from __future__ import annotations

import io
import json
import shutil
import struct
import subprocess
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from bridge.formats._gltf import GlbBuilder, read_glb
from bridge.formats.glb_mesh import bake_texture, default_skirt_m, encode_glb_mesh
from bridge.formats.gltf_splat_check import check_gaussian_splatting
from bridge.formats.gltf_splats import (
    EXTENSION,
    SPLAT_ATTRIBUTES,
    decode_gltf_splats,
    encode_gltf_splats,
    encode_tile_gltf_splats,
)
from bridge.formats.splats import SplatCloud, TileContent, identity_rotations
from bridge.world.keys import TileKey
from tests.glb_support import edit_glb_json
from tests.sample_tiles import PHOTOS, ground_tile, load_photo

JS = Path(__file__).parents[1] / "js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(
    NODE is None or not (JS / "node_modules").is_dir(),
    reason="glTF-Validator absent: run `npm ci --prefix tests/js` (needs node)",
)
BASE = 32.0


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    if not PHOTOS.is_dir():
        pytest.skip(f"sample photos absent at {PHOTOS}")
    return load_photo(PHOTOS / "lyra2_06.png", max_width=320)


def _mesh(glb: bytes) -> dict[str, np.ndarray]:
    g = read_glb(glb)
    prim = g.gltf["meshes"][0]["primitives"][0]
    return {
        "positions": g.accessor(prim["attributes"]["POSITION"]).astype(np.float64),
        "normals": g.accessor(prim["attributes"]["NORMAL"]).astype(np.float64),
        "uvs": g.accessor(prim["attributes"]["TEXCOORD_0"]).astype(np.float64),
        "triangles": g.accessor(prim["indices"]).astype(np.int64).reshape(-1, 3),
        "translation": np.asarray(g.gltf["nodes"][0]["translation"]),
    }


def _validate(tmp_path: Path, files: dict[str, bytes]) -> dict[str, dict]:
    paths = []
    for name, data in files.items():
        path = tmp_path / name
        path.write_bytes(data)
        paths.append(str(path))
    done = subprocess.run(
        [NODE or "node", "validate_gltf.mjs", *paths], cwd=JS, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    reports = json.loads(done.stdout)
    return {Path(p).name: r for p, r in reports.items()}


# -- mesh ----------------------------------------------------------------------------------------


def flat_tile(key: TileKey, s: int = 8, colour: tuple[float, float, float] = (0.2, 0.4, 0.6)) -> TileContent:
    x0, z0, _, _ = key.bounds(BASE)
    g = np.linspace(0.5, BASE - 0.5, 16)
    xx, zz = np.meshgrid(x0 + g, z0 + g)
    n = xx.size
    splats = SplatCloud.from_arrays(
        np.stack([xx.ravel(), np.zeros(n), zz.ravel()], 1),
        np.full((n, 3), 1.0),
        identity_rotations(n),
        np.ones(n),
        np.tile(colour, (n, 1)),
    )
    return TileContent(key, splats, np.zeros((s + 1, s + 1), np.float32))


def test_mesh_structure_winding_and_skirts(photo: np.ndarray) -> None:
    content = ground_tile(photo, TileKey(0, 2, -3), samples=16)
    glb = encode_glb_mesh(content, BASE)
    mesh = _mesh(glb)
    s = 16
    grid = (s + 1) ** 2
    assert mesh["positions"].shape == (grid + 4 * (s + 1), 3)
    assert mesh["triangles"].shape == (2 * s * s + 4 * 2 * s, 3)
    np.testing.assert_array_equal(mesh["translation"], [64.0, 0.0, -96.0])
    pos, tri = mesh["positions"], mesh["triangles"]
    # The grid reproduces the heights exactly, row r along +z and column c along +x.
    np.testing.assert_allclose(pos[:grid, 1].reshape(s + 1, s + 1), content.heights, atol=1e-6)
    np.testing.assert_allclose(pos[s, [0, 2]], [BASE, 0.0])  # r = 0, c = S
    np.testing.assert_allclose(pos[grid - 1, [0, 2]], [BASE, BASE])
    face = np.cross(pos[tri[:, 1]] - pos[tri[:, 0]], pos[tri[:, 2]] - pos[tri[:, 0]])
    top, skirt = face[: 2 * s * s], face[2 * s * s :]
    assert np.all(top[:, 1] > 0), "terrain triangles must be counter-clockwise seen from above"
    centre = np.array([BASE / 2, BASE / 2])
    mid = pos[tri[2 * s * s :]].mean(axis=1)[:, [0, 2]] - centre
    outward = skirt[:, 0] * mid[:, 0] + skirt[:, 2] * mid[:, 1]
    assert np.all(outward > 0), "skirts must face out of the tile"
    skirt_m = default_skirt_m(content.heights, BASE)
    top_grid = pos[:grid].reshape(s + 1, s + 1, 3)
    borders = np.concatenate([top_grid[0], top_grid[-1], top_grid[:, 0], top_grid[:, -1]])
    np.testing.assert_allclose(pos[grid:, [0, 2]], borders[:, [0, 2]])
    np.testing.assert_allclose(pos[grid:, 1], borders[:, 1] - skirt_m, atol=1e-5)
    assert np.allclose(np.linalg.norm(mesh["normals"], axis=1), 1.0, atol=1e-5)
    assert np.all(mesh["normals"][:grid, 1] > 0)
    assert mesh["uvs"].min() == 0.0 and mesh["uvs"].max() == 1.0


def _world_border(glb: bytes, side: str, s: int) -> np.ndarray:
    m = _mesh(glb)
    grid = m["positions"][: (s + 1) ** 2].reshape(s + 1, s + 1, 3) + m["translation"]
    return {"x0": grid[:, 0], "x1": grid[:, -1], "z0": grid[0, :], "z1": grid[-1, :]}[side]


def test_neighbours_share_border_vertices_exactly(photo: np.ndarray) -> None:
    a, b = TileKey(0, 5, 7), TileKey(0, 6, 7)  # b is a's +x neighbour
    glb_a = encode_glb_mesh(ground_tile(photo, a, per_side=8), BASE)
    glb_b = encode_glb_mesh(ground_tile(photo, b, per_side=8), BASE)
    np.testing.assert_array_equal(_world_border(glb_a, "x1", 32), _world_border(glb_b, "x0", 32))


def test_skirts_cover_the_gap_to_a_coarser_neighbour(photo: np.ndarray) -> None:
    # A LOD-0 tile meets the LOD-1 tile on its +x side: the coarse border interpolates over twice
    # the spacing, so the two borders part between samples. Each tile's skirt must reach below
    # the other border wherever its own border is the higher one.
    fine_key, coarse_key = TileKey(0, 1, 0), TileKey(1, 1, 0)
    fine = ground_tile(photo, fine_key, per_side=8)
    coarse = ground_tile(photo, coarse_key, per_side=8)
    fine_border = _world_border(encode_glb_mesh(fine, BASE), "x1", 32)  # x = 64, z in [0, 32]
    coarse_border = _world_border(encode_glb_mesh(coarse, BASE), "x0", 32)  # x = 64, z in [0, 64]
    coarse_y = np.interp(fine_border[:, 2], coarse_border[:, 2], coarse_border[:, 1])
    gap = fine_border[:, 1] - coarse_y
    assert np.abs(gap).max() > 1e-3, "the test needs borders that actually part"
    assert gap.max() <= default_skirt_m(fine.heights, fine_key.edge_m(BASE))
    assert (-gap).max() <= default_skirt_m(coarse.heights, coarse_key.edge_m(BASE))


def test_texture_orientation_u_along_x_v_along_z() -> None:
    key = TileKey(0, -1, 2)
    content = flat_tile(key)
    x0, z0, *_ = key.bounds(BASE)
    pos = content.splats.positions
    colors = np.zeros((len(content.splats), 3))
    colors[:, 0] = pos[:, 0] > x0 + BASE / 2  # red on the +x half
    colors[:, 2] = pos[:, 2] > z0 + BASE / 2  # blue on the +z half
    tile = TileContent(
        key,
        SplatCloud.from_arrays(pos, content.splats.scales, content.splats.rotations, content.splats.opacities, colors),
        content.heights,
    )
    texture = bake_texture(tile, BASE, 64).astype(float) / 255
    assert texture[5, 5].tolist() == pytest.approx([0, 0, 0], abs=0.05)  # u, v small: x0, z0 corner
    assert texture[5, 58, 0] > 0.9 and texture[5, 58, 2] < 0.1  # column ~ +x: red
    assert texture[58, 5, 2] > 0.9 and texture[58, 5, 0] < 0.1  # row ~ +z: blue
    # The GLB carries that same image and maps the vertex at (x1, z0) to u = 1, v = 0.
    g = read_glb(encode_glb_mesh(tile, BASE, texture_size=64, texture_format="png"))
    assert g.gltf["images"][0]["mimeType"] == "image/png"
    view = g.gltf["bufferViews"][g.gltf["images"][0]["bufferView"]]
    png = g.binary[view["byteOffset"] : view["byteOffset"] + view["byteLength"]]
    np.testing.assert_array_equal(np.asarray(Image.open(io.BytesIO(png)).convert("RGB")), bake_texture(tile, BASE, 64))
    g = read_glb(encode_glb_mesh(tile, BASE, texture_size=64))  # the default: JPEG, close to the bake
    assert g.gltf["images"][0]["mimeType"] == "image/jpeg"
    view = g.gltf["bufferViews"][g.gltf["images"][0]["bufferView"]]
    jpeg = np.asarray(Image.open(io.BytesIO(g.binary[view["byteOffset"] :][: view["byteLength"]])).convert("RGB"))
    assert np.abs(jpeg.astype(int) - bake_texture(tile, BASE, 64)).mean() < 3
    mesh = _mesh(encode_glb_mesh(tile, BASE, texture_size=64))
    assert mesh["uvs"][8].tolist() == [1.0, 0.0] and mesh["positions"][8, [0, 2]].tolist() == [BASE, 0.0]


def test_mesh_loads_in_trimesh(photo: np.ndarray) -> None:
    content = ground_tile(photo, TileKey(0, 0, 0), per_side=16)
    scene = trimesh.load(io.BytesIO(encode_glb_mesh(content, BASE)), file_type="glb")
    (geometry,) = scene.geometry.values()
    assert geometry.vertices.shape[0] == 33 * 33 + 4 * 33
    assert geometry.faces.shape[0] == 2 * 32 * 32 + 8 * 32
    image = geometry.visual.material.baseColorTexture
    assert image.size == (256, 256)
    # trimesh applies the node's translation: the scene spans the tile's square.
    bounds = scene.bounds
    np.testing.assert_allclose(bounds[:, [0, 2]], [[0, 0], [BASE, BASE]], atol=1e-4)


def test_mesh_rejects_bad_heights() -> None:
    content = flat_tile(TileKey(0, 0, 0))
    with pytest.raises(ValueError, match="heights"):
        encode_glb_mesh(TileContent(content.key, content.splats, np.zeros((4, 5), np.float32)), BASE)
    with pytest.raises(ValueError, match="non-finite"):
        encode_glb_mesh(TileContent(content.key, content.splats, np.full((3, 3), np.nan, np.float32)), BASE)
    with pytest.raises(ValueError, match="power of two"):
        encode_glb_mesh(content, BASE, texture_size=100)
    with pytest.raises(ValueError, match="texture format"):
        encode_glb_mesh(content, BASE, texture_format="webp")


def test_empty_tile_gets_a_neutral_texture() -> None:
    content = flat_tile(TileKey(2, 1, 1))
    empty = TileContent(content.key, SplatCloud.empty(), content.heights)
    assert (bake_texture(empty, BASE, 16) == 128).all()


@needs_node
def test_meshes_pass_the_khronos_validator_cleanly(photo: np.ndarray, tmp_path: Path) -> None:
    files = {
        "ground.glb": encode_glb_mesh(ground_tile(photo, TileKey(0, 3, -2), per_side=24), BASE),
        "far_coarse.glb": encode_glb_mesh(ground_tile(photo, TileKey(4, 900, -700), per_side=24), BASE),
        "ground_png.glb": encode_glb_mesh(
            ground_tile(photo, TileKey(0, 3, -1), per_side=24), BASE, texture_format="png"
        ),
        "flat_empty.glb": encode_glb_mesh(
            TileContent(TileKey(0, 0, 0), SplatCloud.empty(), np.zeros((2, 2), np.float32)), BASE
        ),
        # > 65535 vertices: 32-bit indices.
        "big_grid.glb": encode_glb_mesh(ground_tile(photo, TileKey(0, 1, 1), per_side=24, samples=256), BASE),
    }
    reports = _validate(tmp_path, files)
    for name, report in reports.items():
        assert report["numErrors"] == 0, (name, report["messages"])
        assert report["numWarnings"] == 0, (name, report["messages"])
        assert report["numInfos"] == 0 and report["numHints"] == 0, (name, report["messages"])


# -- KHR_gaussian_splatting -----------------------------------------------------------------------


def test_splat_glb_fields_follow_the_extension(photo: np.ndarray) -> None:
    content = ground_tile(photo, TileKey(0, 4, 4), per_side=20)
    glb = encode_tile_gltf_splats(content, BASE)
    assert check_gaussian_splatting(glb) == []
    g = read_glb(glb)
    assert g.gltf["extensionsUsed"] == [EXTENSION] and "extensionsRequired" not in g.gltf
    prim = g.gltf["meshes"][0]["primitives"][0]
    assert prim["mode"] == 0
    assert prim["extensions"][EXTENSION] == {
        "kernel": "ellipse",
        "colorSpace": "srgb_rec709_display",
        "projection": "perspective",
        "sortingMethod": "cameraDistance",
    }
    attrs = prim["attributes"]
    assert set(attrs) == {"POSITION", "COLOR_0", *SPLAT_ATTRIBUTES}
    splats = content.splats
    origin = np.array([128.0, 0.0, 128.0])
    np.testing.assert_array_equal(g.gltf["nodes"][0]["translation"], origin)
    np.testing.assert_allclose(g.accessor(attrs["POSITION"]) + origin, splats.positions, atol=1e-4)
    rotation = g.accessor(attrs[f"{EXTENSION}:ROTATION"])  # x y z w
    np.testing.assert_allclose(np.abs(np.sum(rotation[:, [3, 0, 1, 2]] * splats.rotations, axis=1)), 1, atol=1e-6)
    np.testing.assert_allclose(g.accessor(attrs[f"{EXTENSION}:SCALE"]), splats.scales)  # linear, not log
    np.testing.assert_allclose(g.accessor(attrs[f"{EXTENSION}:OPACITY"]), splats.opacities)  # after sigmoid
    sh = g.accessor(attrs[f"{EXTENSION}:SH_DEGREE_0_COEF_0"])
    np.testing.assert_allclose(0.5 + 0.28209479177387814 * sh, splats.colors, atol=1e-6)
    color0 = g.accessor(attrs["COLOR_0"])
    assert color0.shape == (len(splats), 4)
    np.testing.assert_allclose(color0[:, 3], splats.opacities)
    # COLOR_0 is linear: sRGB 0.5 is linear 0.214.
    one = SplatCloud.from_arrays(np.zeros((1, 3)), np.ones((1, 3)), identity_rotations(1), [1.0], [[0.5, 0.5, 0.5]])
    grey = encode_gltf_splats(one)
    gg = read_glb(grey)
    assert gg.accessor(gg.gltf["meshes"][0]["primitives"][0]["attributes"]["COLOR_0"])[0, 0] == pytest.approx(
        0.21404, abs=1e-4
    )


def test_splat_glb_round_trip(photo: np.ndarray) -> None:
    content = ground_tile(photo, TileKey(1, -3, 2), per_side=20)
    decoded = decode_gltf_splats(encode_tile_gltf_splats(content, BASE))
    splats = content.splats
    np.testing.assert_allclose(decoded.positions, splats.positions, atol=1e-4)
    np.testing.assert_allclose(decoded.scales, splats.scales)
    np.testing.assert_allclose(decoded.opacities, splats.opacities)
    np.testing.assert_allclose(decoded.colors, splats.colors, atol=1e-6)
    np.testing.assert_allclose(np.abs(np.sum(decoded.rotations * splats.rotations, axis=1)), 1, atol=1e-6)


def _prim(gltf: dict) -> dict:
    return gltf["meshes"][0]["primitives"][0]


def _accessor(gltf: dict, attribute: str) -> dict:
    return gltf["accessors"][_prim(gltf)["attributes"][attribute]]


def _replace_bin(glb: bytes, binary: bytes) -> bytes:
    g = read_glb(glb)
    builder = GlbBuilder(json.loads(json.dumps(g.gltf)))
    builder._blob += binary
    return builder.to_glb()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (lambda g: _prim(g).update(mode=4), "POINTS"),
        (lambda g: _prim(g)["attributes"].pop(f"{EXTENSION}:OPACITY"), "OPACITY is missing"),
        (lambda g: _prim(g)["extensions"][EXTENSION].pop("kernel"), "'kernel' is missing"),
        (lambda g: _prim(g)["extensions"][EXTENSION].update(colorSpace="acescg"), "not defined"),
        (lambda g: g.update(extensionsUsed=[]), "extensionsUsed"),
        (lambda g: _prim(g)["attributes"].update({f"{EXTENSION}:SH_DEGREE_1_COEF_0": 0}), "partly defined"),
        (lambda g: g["accessors"][_prim(g)["attributes"][f"{EXTENSION}:SCALE"]].update(type="VEC4"), "not allowed"),
        (
            lambda g: g["accessors"][_prim(g)["attributes"][f"{EXTENSION}:OPACITY"]].update(componentType=5125),
            "not allowed",
        ),
    ],
)
def test_checker_flags_spec_violations(change, problem: str) -> None:
    cloud = ground_tile(np.full((8, 8, 3), 0.5, np.float32), TileKey(0, 0, 0), per_side=4).splats
    problems = check_gaussian_splatting(edit_glb_json(encode_gltf_splats(cloud), change))
    assert any(problem in p for p in problems), problems


def test_checker_flags_bad_values() -> None:
    cloud = ground_tile(np.full((8, 8, 3), 0.5, np.float32), TileKey(0, 0, 0), per_side=4).splats
    glb = encode_gltf_splats(cloud)
    n = len(cloud)
    for attribute, values, problem in [
        (f"{EXTENSION}:ROTATION", np.full((n, 4), 0.9), "unit"),
        (f"{EXTENSION}:OPACITY", np.full(n, 1.5), "opacity"),
        (f"{EXTENSION}:SCALE", -np.ones((n, 3)), "negative"),
    ]:
        problems = check_gaussian_splatting(_replace_rows(glb, attribute, values))
        assert any(problem in p for p in problems), problems
    with pytest.raises(ValueError, match="non-finite"):
        decode_gltf_splats(_replace_rows(glb, "POSITION", np.full((n, 3), np.nan)))


def _replace_rows(glb: bytes, attribute: str, values: np.ndarray) -> bytes:
    g = read_glb(glb)
    acc = g.gltf["accessors"][_prim(g.gltf)["attributes"][attribute]]
    offset = g.gltf["bufferViews"][acc["bufferView"]]["byteOffset"]
    data = values.astype("<f4").tobytes()
    return _replace_bin(glb, g.binary[:offset] + data + g.binary[offset + len(data) :])


@needs_node
def test_splat_glb_validator_reports_only_the_extension_attributes(photo: np.ndarray, tmp_path: Path) -> None:
    files = {
        "splats.glb": encode_tile_gltf_splats(ground_tile(photo, TileKey(0, 1, 2), per_side=24), BASE),
        "far.glb": encode_tile_gltf_splats(ground_tile(photo, TileKey(3, -500, 90), per_side=10), BASE),
    }
    for name, report in _validate(tmp_path, files).items():
        errors = [m for m in report["messages"] if m["severity"] == 0]
        assert {m["code"] for m in errors} == {"MESH_PRIMITIVE_INVALID_ATTRIBUTE"}, name
        flagged = sorted(m["pointer"].rsplit("/", 1)[1] for m in errors)
        assert flagged == sorted(SPLAT_ATTRIBUTES), name
        assert report["numWarnings"] == 0, (name, report["messages"])
        others = [m["code"] for m in report["messages"] if m["severity"] > 1]
        assert set(others) <= {"UNSUPPORTED_EXTENSION"}, (name, report["messages"])


def test_read_glb_refuses_broken_containers() -> None:
    good = encode_gltf_splats(ground_tile(np.full((8, 8, 3), 0.5, np.float32), TileKey(0, 0, 0), per_side=2).splats)
    for bad, message in [
        (b"", "too short"),
        (b"glTF" + bytes(16), "version"),
        (good[:-4], "header says"),
        (good[:12] + struct.pack("<II", 10**6, 0x4E4F534A) + good[20:], "whole JSON chunk"),
        (b"PLY\n" + good[4:], "magic"),
    ]:
        with pytest.raises(ValueError, match=message):
            decode_gltf_splats(bad)
    with pytest.raises(ValueError, match="no KHR_gaussian_splatting"):
        decode_gltf_splats(encode_glb_mesh(flat_tile(TileKey(0, 0, 0)), BASE))
