"""The scale of an imported scene from options: it sizes the world, it is part of the world's
identity, the world info states it; bad values and a scale for a photo are refused and make
nothing. Through the core, a real ``worldbridge serve --photo SCENE --scale`` (gRPC and HTTP; and
``--cameras``, whose other checks are in test_scene_spawn_options.py), and ``worldbridge tile``."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bridge.client.server_process import start_server
from bridge.core.export import ExportRequest, Region
from bridge.core.export.local import source_from_manifest
from bridge.formats.ply import encode_ply
from bridge.generate.base import GeneratorOptions
from bridge.generate.scene.cameras import spawn_from_cameras
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.world.camera import Camera
from bridge.world.keys import TileKey
from bridge.world.spec import WorldSpec
from tests.conftest import run
from tests.export_support import export_to
from tests.generate.scene.test_scene_cameras import _cameras_json, _moved_scene
from tests.scene_support import check_served_scene_option, photo_scene, refusals
from tests.stream_support import make_worlds, small_photo

SCALE = 2.0


def _extent(info: dict) -> np.ndarray:
    low, high = (np.asarray(b) for b in info["bounds_m"])
    return high - low


def test_a_scale_sizes_the_world_and_is_part_of_its_identity(tmp_path: Path) -> None:
    scene = encode_ply(photo_scene())

    async def go() -> dict:
        worlds, pool = make_worlds(tmp_path / "data")
        try:
            guessed, _ = await worlds.create_world(scene)
            scaled, created = await worlds.create_world(scene, options=GeneratorOptions(scene_scale=SCALE))
            again, created_again = await worlds.create_world(scene, options=GeneratorOptions(scene_scale=SCALE))
            infos = [json.loads((await worlds.asset(w.id, "scene.json"))[1]) for w in (guessed, scaled)]
            key = TileKey(0, 0, -1)
            tiles = [(await worlds.tile(w.id, key, "ply")).data for w in (guessed, scaled)]
            manifest = await export_to(worlds, scaled.id, ExportRequest(Region(0, -8, 8, 0), "ply"), tmp_path / "out")
            attempts = [(small_photo(), SCALE), (scene, float("nan")), (scene, -1.0), (scene, 1e6)]
            refused = await refusals(worlds, [(data, GeneratorOptions(scene_scale=s)) for data, s in attempts])
            count = len(await worlds.list_worlds(100, 0))
            return {
                "worlds": (guessed, scaled, again),
                "created": (created, created_again),
                "infos": infos,
                "tiles": tiles,
                "refused": refused,
                "count": count,
                "manifest": manifest,
            }
        finally:
            await worlds.close()
            pool.shutdown()

    out = run(go(), 240)
    guessed, scaled, again = out["worlds"]
    assert guessed.id != scaled.id and again.id == scaled.id and out["created"] == (True, False)
    assert (guessed.spec.scene_scale, scaled.spec.scene_scale) == (0.0, SCALE)
    plain, big = out["infos"]
    assert plain["scale_from"].startswith("a guess") and plain["scale_m_per_unit"] == 1.0
    assert big["scale_from"] == "options" and big["scale_m_per_unit"] == SCALE
    # Twice the metres per unit: the scene spans twice as far and the first camera stands twice as high.
    np.testing.assert_allclose(_extent(big), SCALE * _extent(plain), rtol=1e-3)
    assert scaled.spec.spawn.position[1] == pytest.approx(SCALE * guessed.spec.spawn.position[1], rel=1e-3)
    assert out["tiles"][0] != out["tiles"][1]
    assert "for imported splat scenes" in out["refused"][0]
    assert all("outside [0.001, 1000]" in message for message in out["refused"][1:]), out["refused"]
    assert out["count"] == 2  # the refusals made no world
    # An export of the scaled world records the scale, and its rebuild asks for the same world.
    manifest = out["manifest"]
    assert manifest["world"]["options"]["scene_scale"] == SCALE
    assert "--scale 2.0" in manifest["reproduce"]["command"]
    (tmp_path / "scene.ply").write_bytes(scene)
    source, _, _ = source_from_manifest(manifest, str(tmp_path / "scene.ply"))
    assert source.options.scene_scale == SCALE


@pytest.mark.parametrize("option", ["scale", "cameras"])
def test_serve_a_scene_with_its_options_over_grpc_and_http(tmp_path: Path, option: str) -> None:
    """``serve --photo SCENE --scale`` / ``--cameras cameras.json`` (its trainer's first camera)."""
    scene_path, cameras_path = tmp_path / "scene.ply", tmp_path / "cameras.json"
    if option == "scale":
        scene_path.write_bytes(encode_ply(photo_scene()))
        extra, options = ["--scale", str(SCALE)], pb.WorldOptions(scene_scale=SCALE)
        field, bad_query, bad_reason = "scene_scale", "scene_scale=0.00001", "outside"
    else:
        scene_path.write_bytes(encode_ply(_moved_scene()))
        cameras_path.write_bytes(_cameras_json())
        extra, options = (
            ["--cameras", str(cameras_path)],
            pb.WorldOptions(scene_spawn=spawn_from_cameras(_cameras_json())),
        )
        field, bad_query, bad_reason = "scene_spawn", "scene_spawn=1,2,x", "scene_spawn"
    server = start_server(tmp_path / "data", workers=2, extra_args=["--photo", str(scene_path), *extra])
    try:
        check_served_scene_option(server, scene_path.read_bytes(), options, field, bad_query, bad_reason)
    finally:
        assert server.stop() == 0, f"the server did not stop cleanly; see {server.log_path}"


def test_tile_takes_a_scale_for_a_scene_and_refuses_one_for_a_photo(tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(small_photo())
    (tmp_path / "scene.ply").write_bytes(encode_ply(photo_scene()))

    def tile(source: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "bridge", "tile", source, "--key", "0,0,-1", "--scale", str(SCALE)]
        return subprocess.run(
            [*command, "--out", "t.ply", "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    refused = tile("photo.png")
    assert refused.returncode == 2 and "for imported splat scenes" in refused.stderr
    assert not (tmp_path / "t.ply").exists()
    done = tile("scene.ply")
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["splats"] > 1000


@pytest.mark.parametrize("scale", [0.0, SCALE])
def test_world_spec_records_the_options_as_the_generator_does(scale: float) -> None:
    """The store's spec writes the options record itself (it sits below the generators); it must
    stay the record GeneratorOptions writes, or a world's stored id would change."""
    spawn = Camera.from_json(
        {
            "intrinsics": [640, 480, 500.0, 500.0, 320.0, 240.0],
            "position": [0, 1.6, 0],
            "rotation": np.eye(3).ravel().tolist(),
        }
    )
    spec = WorldSpec(base_tile_m=16.0, seed=3, spawn=spawn, photo_size=(640, 480), scene_scale=scale)
    assert spec.to_json()["options"] == GeneratorOptions(16.0, 3, scale).to_json()
