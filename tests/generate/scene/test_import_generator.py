"""The import generator on a scene made from a sample photo: found upright, tiled with every
splat kept at LOD 0, merged (not thinned) at coarser LODs, continued past its edges, the same
bytes from any process, and refusing broken or huge files with the reason."""

from __future__ import annotations

import gzip
import io
import json
import math

import numpy as np
import pytest
from PIL import Image
from plyfile import PlyData, PlyElement

from bridge.formats import encode_tile
from bridge.formats.ply import encode_ply
from bridge.formats.splats import SH_C0, SplatCloud
from bridge.formats.spz import encode_spz
from bridge.generate import persist
from bridge.generate.base import GeneratorOptions, PreparedWorld
from bridge.generate.photo.analysis import horizon_row
from bridge.generate.photo.payload import PhotoPayload
from bridge.generate.registry import generator_for, load_generator
from bridge.generate.scene import ImportGenerator
from bridge.generate.scene.generator import VIEW_BACKGROUND
from bridge.generate.scene.merge import merge_cells
from bridge.generate.scene.placement import place
from bridge.generate.scene.source import MAX_SCENE_SPLATS, SceneError, check_scene, read_scene
from bridge.world.keys import TileKey
from tests.scene_support import photo_scene, photo_world, turned
from tests.stream_support import small_photo


@pytest.fixture(scope="module")
def imported() -> tuple[ImportGenerator, PreparedWorld]:
    generator = ImportGenerator()
    return generator, generator.prepare_source(encode_ply(photo_scene()), GeneratorOptions())


def _rows(cloud: SplatCloud) -> set[bytes]:
    return {row.tobytes() for row in cloud.positions}


def _rotation(axis: tuple[float, float, float], degrees: float) -> np.ndarray:
    a = np.asarray(axis, dtype=np.float64) / np.linalg.norm(axis)
    k = np.array([[0, -a[2], a[1]], [a[2], 0, -a[0]], [-a[1], a[0], 0]])
    t = math.radians(degrees)
    return np.eye(3) + math.sin(t) * k + (1 - math.cos(t)) * k @ k


def test_a_scene_file_is_told_from_a_photo_by_its_first_bytes() -> None:
    scene = photo_scene().subset(np.arange(100))
    assert generator_for(encode_ply(scene), "") == "import"
    for version in (2, 3, 4):
        assert generator_for(encode_spz(scene, version=version), "") == "import"
    assert generator_for(small_photo(), "") == "photo"
    assert generator_for(gzip.compress(b"not a scene at all"), "") == "photo"
    assert generator_for(encode_ply(scene), "photo") == "photo"  # a name given is kept


@pytest.mark.parametrize(
    ("axis", "degrees"),
    [((1.0, 0.0, 0.0), -90.0), ((1.0, 0.0, 0.0), 12.0), ((0.3, 0.0, 1.0), 20.0), ((1.0, 0.0, 0.0), 180.0)],
)
def test_a_turned_scene_is_stood_upright_at_the_same_height(axis: tuple[float, float, float], degrees: float) -> None:
    """Z-up files, a camera's pitch, a roll, and upside down: up is found from the scene itself."""
    scene = photo_scene()
    straight = place(scene)
    rotation = _rotation(axis, degrees)
    found = place(turned(scene, rotation))
    true_up = rotation @ [0.0, 1.0, 0.0]  # the scene's up, in the turned file
    error = math.degrees(math.acos(np.clip(found.rotation @ true_up @ [0.0, 1.0, 0.0], -1, 1)))
    assert error < 2.0, (found.notes, error)
    assert found.spawn_height_m == pytest.approx(straight.spawn_height_m, abs=0.1)


def test_the_spawn_is_the_files_camera_over_the_ground_found(imported: tuple[ImportGenerator, PreparedWorld]) -> None:
    _, world = imported
    assert "file's origin" in json.loads(world.pictures["scene.json"])["spawn"]
    np.testing.assert_allclose(world.spawn.position[[0, 2]], 0.0)
    np.testing.assert_allclose(world.spawn.forward, [0.0, 0.0, -1.0], atol=1e-9)
    # The photo's camera stood this high over its ground (the densest low band of the scene).
    assert world.spawn.position[1] == pytest.approx(float(photo_world()[1].spawn.position[1]), abs=0.2)


def test_the_continuation_reads_the_scene_with_the_spawns_own_camera(
    imported: tuple[ImportGenerator, PreparedWorld],
) -> None:
    """The continuation is the photo generator on the scene seen from the spawn, a picture whose
    camera is known. Guessed from the picture as a photo's is, it stood 1.7 m up (the spawn: 2.9 m)
    with the horizon 28 rows of 288 below the middle and a narrower field of view: a roof it meant
    to hide behind the scene showed through the scene's sky, and its ground came out beige round
    the scene's blue-grey."""
    _, world = imported
    camera = PhotoPayload.from_arrays(
        {name[len("photo.") :]: value for name, value in world.payload.items() if name.startswith("photo.")}
    ).camera
    np.testing.assert_allclose(camera.position, world.spawn.position, atol=1e-6)
    np.testing.assert_allclose(camera.forward, world.spawn.forward, atol=1e-9)
    assert camera.intrinsics.vertical_fov_deg == pytest.approx(world.spawn.intrinsics.vertical_fov_deg)


def test_below_the_horizon_the_continuations_picture_shows_no_open_sky(
    imported: tuple[ImportGenerator, PreparedWorld],
) -> None:
    """Past the scene's end the spawn's view shows nothing; drawn there as open sky, below the
    horizon the continuation read it as water (a canal down the square's street, 50 m in).
    Now the nearest of what the scene drew goes on there."""
    _, world = imported
    view = np.asarray(Image.open(io.BytesIO(world.pictures["scene_view"])).convert("RGB")).astype(np.float64) / 255
    camera = world.spawn.with_intrinsics(world.spawn.intrinsics.scaled(view.shape[1], view.shape[0]))
    below = view[math.ceil(horizon_row(camera)) :]
    background = np.abs(below - np.asarray(VIEW_BACKGROUND)).max(axis=2) < 2.5 / 255
    above = view[: math.floor(horizon_row(camera))]
    assert (np.abs(above - np.asarray(VIEW_BACKGROUND)).max(axis=2) < 2.5 / 255).mean() > 0.2  # the sky is open
    assert background.mean() < 0.001, background.mean()


def test_lod0_tiles_hold_each_of_the_scenes_splats_once(imported: tuple[ImportGenerator, PreparedWorld]) -> None:
    generator, world = imported
    placed = world.payload["positions"]
    block = [TileKey(0, ix, iz) for ix in (-1, 0) for iz in (-2, -1)]  # 16 m x 16 m in front of the spawn
    seen: list[bytes] = []
    for key in block:
        seen += [row.tobytes() for row in generator.generate(world, key).splats.positions]
    inside = (placed[:, 0] >= -8) & (placed[:, 0] < 8) & (placed[:, 2] >= -16) & (placed[:, 2] < 0)
    wanted = {row.tobytes() for row in placed[inside]}
    assert len(wanted) > 5000
    assert wanted <= set(seen)
    assert sum(row in wanted for row in seen) == int(inside.sum())  # none twice


def test_coarser_lods_merge_splats_keeping_each_cells_colour_and_coverage() -> None:
    scene = photo_scene()
    merged = merge_cells(scene, 0.5)
    assert len(merged) < len(scene) / 2

    def per_cell(cloud: SplatCloud) -> tuple[np.ndarray, np.ndarray]:
        """Opacity-area weight and weighted colour per 0.5 m cell, cells in index order."""
        cells = np.floor(cloud.positions.astype(np.float64) / 0.5).astype(np.int64)
        _, index = np.unique(cells, axis=0, return_inverse=True)
        weight = cloud.opacities * np.prod(cloud.scales.astype(np.float64), axis=1) ** (2 / 3)
        total = np.bincount(index, weight)
        colour = np.stack([np.bincount(index, weight * cloud.colors[:, c]) for c in range(3)], 1)
        return total, colour / total[:, None]

    (w0, c0), (w1, c1) = per_cell(scene), per_cell(merged)
    assert len(w1) == len(merged) == len(w0)  # one splat per occupied cell, no cell emptied
    np.testing.assert_allclose(c1, c0, atol=1e-4)  # each in its members' weighted mean colour
    assert np.all(w1 <= w0 * (1 + 1e-4))  # never more coverage than its members had
    coverage = np.sum(w1) / np.sum(w0)
    assert coverage > 0.5, coverage  # dropping every other splat would keep about half


def test_a_tile_is_the_same_bytes_from_a_fresh_process(imported: tuple[ImportGenerator, PreparedWorld]) -> None:
    generator, world = imported
    reloaded = persist.loads(persist.dumps(world))
    fresh = load_generator("import")
    for key in (TileKey(0, 0, -1), TileKey(3, -1, -1), TileKey(4, 5, -9)):
        first = encode_tile(generator.generate(world, key), "ply", 8.0)
        assert encode_tile(fresh.generate(reloaded, key), "ply", 8.0) == first, key


def test_the_world_goes_on_past_the_scene_with_nothing_built_on_it(
    imported: tuple[ImportGenerator, PreparedWorld],
) -> None:
    generator, world = imported
    far = generator.generate(world, TileKey(2, 8, -12))  # about 300 m out: the continuation alone
    assert len(far.splats) >= 64 * 64
    placed = SplatCloud(*(world.payload[n] for n in ("positions", "scales", "rotations", "opacities", "colors")))
    scene_rows = _rows(placed)
    for key in (TileKey(0, 0, -2), TileKey(0, -1, -1)):  # LOD 0: the scene's own splats
        tile = generator.generate(world, key).splats
        added = np.array([row.tobytes() not in scene_rows for row in tile.positions])
        assert added.any()
        # On the scene's footprint the continuation is ground under the scene's, nothing standing.
        assert float(tile.positions[added, 1].max()) < 0.0


def test_an_inria_ply_with_sh_degree_3_reads_its_degree_0_colour() -> None:
    scene = photo_scene().subset(np.arange(0, 60000, 7))
    n = len(scene)
    names = ["x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2"]
    names += [f"f_rest_{i}" for i in range(45)] + ["opacity", "scale_0", "scale_1", "scale_2"]
    names += ["rot_0", "rot_1", "rot_2", "rot_3"]
    vertex = np.zeros(n, dtype=[(name, "<f4") for name in names])
    vertex["x"], vertex["y"], vertex["z"] = scene.positions[:, 0], -scene.positions[:, 1], -scene.positions[:, 2]
    for i in range(3):
        vertex[f"f_dc_{i}"] = (scene.colors[:, i] - 0.5) / SH_C0
        vertex[f"scale_{i}"] = np.log(scene.scales[:, i])
    for i in range(45):
        vertex[f"f_rest_{i}"] = np.sin(np.arange(n) * (i + 1)) * 0.05  # view-dependent terms, ignored
    vertex["opacity"] = np.log(scene.opacities / (1 - np.clip(scene.opacities, 0, 0.999)))
    for i, sign in enumerate((1, 1, -1, -1)):
        vertex[f"rot_{i}"] = scene.rotations[:, i] * sign
    out = __import__("io").BytesIO()
    PlyData([PlyElement.describe(vertex, "vertex")], byte_order="<").write(out)
    data = out.getvalue()
    assert check_scene(data) == "ply"
    cloud = read_scene(data)
    np.testing.assert_allclose(cloud.colors, scene.colors, atol=1e-5)
    np.testing.assert_allclose(cloud.positions, scene.positions, atol=1e-5)


def _ply_header(count: int) -> bytes:
    props = "".join(f"property float {n}\n" for n in ("x", "y", "z"))
    return f"ply\nformat binary_little_endian 1.0\nelement vertex {count}\n{props}end_header\n".encode()


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("junk", b"\x00\x01garbage" * 20, "not a splat scene"),
        ("empty ply", encode_ply(SplatCloud.empty()), "holds no splats"),
        ("cut short", _ply_header(1000) + b"\x00" * 40, "cannot be read"),
        ("not 3dgs", _ply_header(1) + b"\x00" * 12, "lacks 3DGS fields"),
        ("too many", _ply_header(MAX_SCENE_SPLATS + 1), f"at most {MAX_SCENE_SPLATS}"),
        ("endless header", b"ply\n" + b"comment x\n" * 10000, "does not end"),
        ("broken spz", encode_spz(SplatCloud.empty(), version=2)[:-4], "cannot be read"),
        ("cut spz", encode_spz(SplatCloud.empty(), version=2)[:12], "not a splat scene"),
    ],
)
def test_broken_or_huge_scenes_are_refused_with_the_reason(name: str, data: bytes, expected: str) -> None:
    with pytest.raises(SceneError, match=expected):
        ImportGenerator().prepare_source(data, GeneratorOptions())


def test_nan_splats_are_refused() -> None:
    scene = photo_scene().subset(np.arange(10))
    positions = scene.positions.copy()
    positions[3, 1] = np.nan
    bad = SplatCloud(positions, scene.scales, scene.rotations, scene.opacities, scene.colors)
    with pytest.raises(SceneError, match=r"non-finite|cannot be read"):
        read_scene(encode_ply(bad))
