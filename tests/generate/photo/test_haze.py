"""Aerial perspective: the far ground a photo shows through haze, told apart from its near ground."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.generate.photo.analysis import KIND_GROUND, PhotoAnalysis, analyse
from bridge.generate.photo.haze import far_ground
from bridge.world.photos import decode_photo
from tests.conftest import photo_path

LIFT_RADIUS_M = 96.0


@pytest.fixture(scope="module")
def analysed() -> dict[str, PhotoAnalysis]:
    names = [f"lyra2_{n:02d}" for n in range(10)]
    return {name: analyse(decode_photo(photo_path(name).read_bytes()), LIFT_RADIUS_M) for name in names}


def _below_horizon(analysis: PhotoAnalysis, fraction: float) -> slice:
    top = int(analysis.horizon_v)
    return slice(top, top + int(fraction * analysis.sky.shape[0]))


def test_the_valley_beyond_the_hilltop_is_far(analysed: dict[str, PhotoAnalysis]) -> None:
    # lyra2_03: a fortress on a grassy hilltop over hazy hills and a village; just below the
    # horizon the photo shows mostly the hazy valley, and its bottom edge the clear hilltop.
    analysis = analysed["lyra2_03"]
    far = analysis.far_ground
    assert far is not None
    rows = _below_horizon(analysis, 0.1)
    assert far[rows][~analysis.sky[rows]].mean() > 0.5
    h, w = far.shape
    assert not far[int(0.9 * h) :, w // 3 : 2 * w // 3].any()


@pytest.mark.parametrize("name", ["lyra2_02", "lyra2_04", "lyra2_05", "lyra2_06", "lyra2_08"])
def test_near_places_show_no_far_ground(analysed: dict[str, PhotoAnalysis], name: str) -> None:
    # A walkway among roofs, ruins, a snowy canal (snow in the sun is bright, not hazy), a town
    # square, a quay: none looks out over a hazy distance.
    far = analysed[name].far_ground
    assert far is not None and not far.any()


def test_the_nearest_ground_is_never_far(analysed: dict[str, PhotoAnalysis]) -> None:
    for name, analysis in analysed.items():
        far = analysis.far_ground
        assert far is not None
        h, w = far.shape
        bottom = (slice(int(0.95 * h), h), slice(w // 3, 2 * w // 3))  # straight ahead, at the bottom edge
        near = analysis.kind[bottom] == KIND_GROUND
        assert far[bottom][near].mean() < 0.05, name


def test_far_ground_is_read_the_same_from_the_arrays(analysed: dict[str, PhotoAnalysis]) -> None:
    analysis = analysed["lyra2_03"]
    np.testing.assert_array_equal(far_ground(analysis.image, analysis.sky, analysis.horizon_v), analysis.far_ground)
