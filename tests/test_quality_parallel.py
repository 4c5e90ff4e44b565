"""The quality report rendered by a pool of processes says exactly what the serial report says."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from bridge.client.held import HeldTiles
from bridge.formats import encode_tile
from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.quality import QualityOptions, run_quality
from bridge.quality.pool import ReportContext, TileFolder, held_cloud
from bridge.stream.handover import tiles_to_draw
from bridge.world.keys import TileKey
from bridge.world.photos import decode_photo
from tests.conftest import photo_path

HOW_IT_RAN = ("seconds", "timing", "views_dir")  # how long and where; every other field is a figure


def _short_report(out: Path, processes: int) -> dict:
    options = QualityOptions(
        photo=photo_path("lyra2_06"),
        distance_m=100.0,  # drift views, strip views, the spawn's views and the walk-in views
        out_dir=out,
        workers=1,
        radius_m=48.0,
        likeness_width=64,
        full_max_pixels=20_000,
        spawn_width=96,
        processes=processes,
    )
    return run_quality(options)


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_pool_of_processes_reports_the_same_figures_and_pictures(tmp_path: Path) -> None:
    serial = _short_report(tmp_path / "serial", processes=1)
    pooled = _short_report(tmp_path / "pooled", processes=3)
    assert serial["timing"]["processes"] == 1 and pooled["timing"]["processes"] == 3
    assert {k: v for k, v in pooled.items() if k not in HOW_IT_RAN} == {
        k: v for k, v in serial.items() if k not in HOW_IT_RAN
    }
    # Something was measured along the walk, and every picture is the same bytes.
    assert len(serial["appearance"]) >= 2 and len(serial["likeness"]) == 11
    for name in serial["views"]:
        assert (tmp_path / "pooled" / name).read_bytes() == (tmp_path / "serial" / name).read_bytes(), name


def test_a_job_joins_the_held_tiles_from_their_bytes_on_disk_as_the_walker_does(tmp_path: Path) -> None:
    generator = PhotoGenerator()
    world = generator.prepare(decode_photo(photo_path("lyra2_00").read_bytes()), GeneratorOptions())
    held = HeldTiles()
    for key in (TileKey(0, 4, -40), TileKey(0, 3, -40), TileKey(1, 1, -20)):  # not in key order
        data = encode_tile(generator.generate(world, key), "stream", world.options.base_tile_m)
        held.add(key, data, "stream", hashlib.sha256(data).hexdigest())
    folder = TileFolder(tmp_path / "tiles")
    tiles = folder.held_set(held)
    # What a viewer draws, in key order: the coarse tile stands in for its children until all are held.
    assert (
        [key for key, _, _ in tiles] == sorted(tiles_to_draw(held.encoded)) == [TileKey(0, 4, -40), TileKey(1, 1, -20)]
    )
    blank = np.zeros((2, 2, 3), np.uint8)
    joined, walker = held_cloud(ReportContext(tmp_path / "tiles", tmp_path, blank, blank), tiles), held.cloud()
    assert len(joined) == len(walker) > 0
    for name in ("positions", "scales", "rotations", "opacities", "colors"):
        assert np.array_equal(getattr(joined, name), getattr(walker, name))
    # Each tile's bytes once, named by their hash; a tile the walker dropped is no longer named.
    assert sorted(p.name for p in (tmp_path / "tiles").iterdir()) == sorted(sha for _, sha, _ in tiles)
    held.unload(TileKey(0, 3, -40))
    assert [key for key, _, _ in folder.held_set(held)] == [TileKey(0, 4, -40), TileKey(1, 1, -20)]
