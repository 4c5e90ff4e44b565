"""``worldbridge export`` as users run it: progress, a folder with its manifest, a rebuild from
the manifest that gives the same bytes, and bad input that writes nothing."""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from bridge.cli import main
from tests.export_support import folder_digests
from tests.stream_support import small_photo


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
