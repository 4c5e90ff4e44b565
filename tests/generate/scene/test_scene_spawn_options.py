"""The spawn of an imported scene from options (a trainer's first camera): part of the world's
identity, echoed in its info, recorded in an export's manifest and its rebuild; refused for a
photo and when malformed, making nothing. Through the core and ``worldbridge tile`` (``serve
--photo SCENE --cameras`` over gRPC and HTTP: test_scene_scale.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from bridge.core.export import ExportRequest, Region
from bridge.core.export.local import source_from_manifest
from bridge.formats.ply import encode_ply
from bridge.generate.base import GeneratorOptions
from bridge.generate.scene.cameras import spawn_from_cameras
from tests.conftest import run
from tests.export_support import export_to
from tests.generate.scene.test_scene_cameras import _cameras_json, _moved_scene
from tests.scene_support import refusals
from tests.stream_support import make_worlds, small_photo


def test_a_spawn_is_part_of_the_worlds_identity_and_of_its_exports(tmp_path: Path) -> None:
    scene = encode_ply(_moved_scene())
    spawn = spawn_from_cameras(_cameras_json())

    async def go() -> dict:
        worlds, pool = make_worlds(tmp_path / "data")
        try:
            plain, _ = await worlds.create_world(scene)
            placed, created = await worlds.create_world(scene, options=GeneratorOptions(scene_spawn=spawn))
            again, created_again = await worlds.create_world(scene, options=GeneratorOptions(scene_spawn=spawn))
            manifest = await export_to(worlds, placed.id, ExportRequest(Region(0, -8, 8, 0), "ply"), tmp_path / "out")
            bad = [(small_photo(), spawn), (scene, spawn[:5]), (scene, (*spawn[:3], 0.0, 0.0, 0.0))]
            refused = await refusals(worlds, [(data, GeneratorOptions(scene_spawn=b)) for data, b in bad])
            return {
                "worlds": (plain, placed, again),
                "created": (created, created_again),
                "manifest": manifest,
                "refused": refused,
                "count": len(await worlds.list_worlds(100, 0)),
            }
        finally:
            await worlds.close()
            pool.shutdown()

    out = run(go(), 240)
    plain, placed, again = out["worlds"]
    assert plain.id != placed.id and again.id == placed.id and out["created"] == (True, False)
    assert (plain.spec.scene_spawn, placed.spec.scene_spawn) == ((), spawn)
    assert "for imported splat scenes" in out["refused"][0]
    assert "takes 6 numbers" in out["refused"][1] and "no direction" in out["refused"][2], out["refused"]
    assert out["count"] == 2  # the refusals made no world
    manifest = out["manifest"]
    assert manifest["world"]["options"]["scene_spawn"] == list(spawn)
    assert "--spawn=" in manifest["reproduce"]["command"]
    (tmp_path / "scene.ply").write_bytes(scene)
    source, _, _ = source_from_manifest(manifest, str(tmp_path / "scene.ply"))
    assert source.options.scene_spawn == spawn


def test_tile_takes_cameras_or_a_spawn_for_a_scene(tmp_path: Path) -> None:
    (tmp_path / "scene.ply").write_bytes(encode_ply(_moved_scene()))
    (tmp_path / "cameras.json").write_bytes(_cameras_json())
    (tmp_path / "broken.json").write_bytes(b"[]")
    spawn = ",".join(repr(v) for v in spawn_from_cameras(_cameras_json()))

    def tile(*extra: str, out: str = "t.ply") -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "bridge", "tile", "scene.ply", "--key", "0,0,-1", *extra]
        return subprocess.run(
            [*command, "--out", out, "--json"], cwd=tmp_path, capture_output=True, text=True, timeout=120
        )

    from_file, from_numbers = tile("--cameras", "cameras.json"), tile(f"--spawn={spawn}", out="u.ply")
    assert from_file.returncode == 0 and from_numbers.returncode == 0, from_file.stderr + from_numbers.stderr
    assert (tmp_path / "t.ply").read_bytes() == (tmp_path / "u.ply").read_bytes()
    for refused, reason in [
        (tile("--cameras", "broken.json", out="v.ply"), "holds no cameras"),
        (tile("--cameras", "cameras.json", f"--spawn={spawn}", out="v.ply"), "not both"),
    ]:
        assert refused.returncode == 2 and reason in refused.stderr, refused.stderr
    assert not (tmp_path / "v.ply").exists()
