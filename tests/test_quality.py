"""The quality report, run for real (server, client, renderer) on a short walk."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bridge.quality import QualityOptions, run_quality
from tests.conftest import photo_path


def test_quality_report_on_a_short_walk(tmp_path: Path) -> None:
    report = run_quality(QualityOptions(photo=photo_path("lyra2_00"), distance_m=600.0, out_dir=tmp_path, workers=2))
    # The first view is the photo (this one measures ~36 dB; a broken lift scores 10-25 dB).
    assert report["spawn_psnr_db"] > 30.0
    # 3D, not a billboard: the lifted depths spread over an order of magnitude.
    near, far = report["spawn_depth_range_m"]
    assert far / near > 5.0
    assert report["revisit_identical"] is True
    assert report["revisit"]["streamed_again"] > 10 and report["revisit"]["regenerated"] > 10
    # Continuation ground closes over tile borders, at one LOD and between LODs.
    assert report["seams"]["lod0_lod0_far"] < 0.01
    assert report["seams"]["lod0_lod1_far"] < 0.01
    assert report["server_errors"] == []
    for name in report["views"]:
        assert (tmp_path / name).stat().st_size > 10_000


def test_drift_measures_a_trend_and_ignores_view_noise() -> None:
    from bridge.quality import _drift

    rng = np.random.default_rng(0)
    base = np.array([0.5, 0.4, 0.3, 0.2, 0.1])
    distances = np.arange(0.0, 10_001.0, 100.0)
    noisy = [(d, base * (1 + 0.02 * rng.standard_normal(5))) for d in distances]
    assert max(v for k, v in _drift(noisy, 200.0).items() if k.endswith("per_km")) < 0.005
    drifting = [(d, base * (1 + 0.03 * d / 1000)) for d in distances]
    assert 0.025 < _drift(drifting, 200.0)["sharpness_per_km"] < 0.031
    assert "note" in _drift([(d, base) for d in distances[:15]], 200.0)
