"""``worldbridge export`` as users run it: progress, a folder with its manifest, a rebuild from
the manifest that gives the same bytes, and bad input that writes nothing."""

from __future__ import annotations

import hashlib
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli import main
from tests.conftest import run
from tests.export_support import folder_digests
from tests.glb_support import red_lacquer, tower_glb
from tests.stream_support import make_worlds, small_photo


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge", "export", *args], cwd=cwd, capture_output=True, text=True, timeout=180
    )


def test_export_then_rebuild_from_its_manifest_gives_the_same_bytes(tmp_path: Path) -> None:
    (tmp_path / "photo.png").write_bytes(small_photo())
    args = ["photo.png", "--region=0,-8,16,0", "--format", "spz", "--lod", "0", "--data", "data", "--out", "first"]
    done = _cli(*args, cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "export: 2/2 tiles" in done.stderr  # progress on stderr
    assert "wrote 4 files" in done.stdout
    manifest = json.loads((tmp_path / "first" / "manifest.json").read_text())
    command = shlex.split(manifest["reproduce"]["command"])
    assert command[:3] == ["worldbridge", "export", "photo.png"]
    assert "--region=0,-8,16,0" in command
    assert command[command.index("--spz-version") + 1] == "2"
    assert manifest["source"]["photo"] == "photo.png"

    # A fresh data folder: the rebuild makes the world again from the photo the manifest names.
    again = _cli("--from-manifest", "first/manifest.json", "--data", "data2", "--out", "second", "--json", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["files"] == 4
    assert folder_digests(tmp_path / "second") == folder_digests(tmp_path / "first")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--region", "0,0,nan,8", "--format", "ply"], "not a finite number"),
        (["--region", "8,0,0,8", "--format", "ply"], "inverted"),
        (["--region", "0,0,8", "--format", "ply"], "not X0,Z0,X1,Z1"),
        (["--region", "0,0,100000,100000", "--format", "ply"], "at most 16384"),
        (["--region", "0,0,8,8", "--format", "obj"], "unknown export format"),
        (["--region", "0,0,8,8", "--format", "ply", "--lod", "40"], "LOD 40 outside"),
        (["--region", "0,0,8,8", "--format", "spz", "--spz-version", "1"], "SPZ version 1"),
    ],
)
def test_bad_input_is_refused_and_writes_nothing(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], message: str
) -> None:
    photo = tmp_path / "photo.png"
    photo.write_bytes(small_photo())
    code = main(["export", str(photo), *extra, "--data", str(tmp_path / "data"), "--out", str(tmp_path / "out")])
    assert code == 2
    assert message in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["photo.png"]


def test_a_manifest_from_another_photo_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (tmp_path / "other.png").write_bytes(b"\x89PNG not the photo")
    manifest = {
        "manifest_version": 1,
        "generator": {"name": "photo", "version": "0.0.0-elsewhere"},
        "world": {"options": {"base_tile_m": 8.0, "seed": 0}},
        "source": {"photo_sha256": "0" * 64, "photo": "", "world_id": "1" * 32},
        "export": {"region_m": [0, 0, 8, 8], "format": "ply", "lod": 0},
    }
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    code = main(["export", "--from-manifest", str(tmp_path / "manifest.json"), "--out", str(tmp_path / "out")])
    assert code == 2
    assert "generator photo 0.0.0-elsewhere" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_directed_worlds_export_rebuilds_elsewhere_with_its_glb(tmp_path: Path) -> None:
    """A world with a GLB tower placed on it, exported by id; rebuilt from the manifest in a data
    folder that has never seen the world: refused without the GLB (nothing written), the same
    bytes with it."""
    (tmp_path / "photo.png").write_bytes(small_photo())
    glb = tower_glb(red_lacquer())
    (tmp_path / "tower.glb").write_bytes(glb)

    async def directed_world() -> str:
        worlds, pool = make_worlds(tmp_path / "data")
        try:
            world, _ = await worlds.create_world(small_photo())
            sha = (await worlds.upload_glb(world.id, glb)).sha256
            place = {"kind": "place", "region": {"circle": {"center": [20, -20], "radius": 5}}, "glb": sha}
            await worlds.apply_directive(world.id, place)
            return world.id
        finally:
            await worlds.close()
            pool.shutdown()

    world_id = run(directed_world(), 120)
    first = _cli(
        world_id, "--region=16,-24,24,-16", "--format", "gltf-spz", "--data", "data", "--out", "first", cwd=tmp_path
    )
    assert first.returncode == 0, first.stderr
    manifest = json.loads((tmp_path / "first" / "manifest.json").read_text())
    assert [entry["directive"]["glb"] for entry in manifest["directives"]["applied"]] == [
        hashlib.sha256(glb).hexdigest()
    ]
    rebuild = ["photo.png", "--from-manifest", "first/manifest.json", "--data", "data2"]
    refused = _cli(*rebuild, "--out", "second", cwd=tmp_path)
    assert refused.returncode == 2 and "does not hold" in refused.stderr
    assert not (tmp_path / "second").exists()
    again = _cli(*rebuild, "--glb", "tower.glb", "--out", "second", cwd=tmp_path)
    assert again.returncode == 0, again.stderr
    assert folder_digests(tmp_path / "second") == folder_digests(tmp_path / "first")
