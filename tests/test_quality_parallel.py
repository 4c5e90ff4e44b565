"""The quality report rendered by a pool of processes says exactly what the serial report says."""

from __future__ import annotations

from pathlib import Path

import pytest

from bridge.quality import QualityOptions, run_quality
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
