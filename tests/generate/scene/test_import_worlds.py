"""A scene works wherever a photo does: CreateWorld picks the import generator from its bytes,
the world serves tiles; a file written by a third-party tool (splat-transform) and the CLI's
``tile`` read the same way; a broken scene is refused with the reason and leaves no world."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bridge.core.errors import InvalidRequestError
from bridge.formats import decode_splats
from bridge.formats.ply import encode_ply
from bridge.formats.spz import read_spz
from bridge.generate.scene.placement import place
from bridge.generate.scene.source import read_scene, scene_kind
from bridge.world.keys import TileKey
from tests.conftest import run
from tests.export_support import needs_node, node
from tests.scene_support import photo_scene
from tests.stream_support import make_worlds


def test_create_world_from_a_scene_serves_it_and_refuses_a_broken_one(tmp_path: Path) -> None:
    scene = encode_ply(photo_scene())

    async def go() -> tuple[str, str, int, bytes, int]:
        worlds, pool = make_worlds(tmp_path / "data")
        try:
            world, created = await worlds.create_world(scene, name="scene")
            assert created
            tile = await worlds.tile(world.id, TileKey(0, 0, -1), "spz")
            _, info = await worlds.asset(world.id, "scene.json")
            with pytest.raises(InvalidRequestError, match="cannot be read"):
                await worlds.create_world(scene[: len(scene) // 2], name="half")
            count = len(await worlds.list_worlds(100, 0))
            return world.generator, tile.data[:2].hex(), len(tile.data), info, count
        finally:
            await worlds.close()
            pool.shutdown()

    generator, start, size, info, count = run(go(), 120)
    assert generator == "import"
    assert json.loads(info)["scale_from"].startswith("a guess")  # the world info states its guesses
    assert start == "1f8b" and size > 1000  # an SPZ tile
    assert count == 1  # the broken upload made no world


@needs_node
def test_a_scene_splat_transform_wrote_is_imported_by_the_cli(tmp_path: Path) -> None:
    ours, theirs = tmp_path / "scene.ply", tmp_path / "scene.spz"
    ours.write_bytes(encode_ply(photo_scene()))
    node("node_modules/@playcanvas/splat-transform/bin/cli.mjs", "-q", "-w", str(ours), str(theirs))
    data = theirs.read_bytes()
    assert scene_kind(data) == "spz"
    info, cloud = read_spz(data)
    assert info.num_points == len(photo_scene())
    # Their file stands the same way as ours: the same spawn over the same ground.
    assert place(cloud).spawn_height_m == pytest.approx(place(read_scene(ours.read_bytes())).spawn_height_m, abs=0.05)

    out = tmp_path / "tile.spz"
    command = [sys.executable, "-m", "bridge", "tile", str(theirs), "--key", "0,0,-1", "--format", "spz"]
    done = subprocess.run(
        [*command, "--out", str(out), "--json"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["splats"] > 1000
    tile = out.read_bytes()
    assert read_spz(tile)[0].version == 2  # what npm spz-js reads
    assert np.isfinite(decode_splats(tile, "spz").positions).all()


def test_the_cli_refuses_a_broken_scene_with_the_reason(tmp_path: Path) -> None:
    broken = tmp_path / "broken.ply"
    broken.write_bytes(encode_ply(photo_scene().subset(np.arange(100)))[:-50])
    done = subprocess.run(
        [sys.executable, "-m", "bridge", "tile", str(broken), "--key", "0,0,0", "--out", str(tmp_path / "t.ply")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "the PLY scene cannot be read" in done.stderr
    assert not (tmp_path / "t.ply").exists()
