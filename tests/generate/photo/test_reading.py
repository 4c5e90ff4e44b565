"""Scene understanding: the sample photos read as the scenes they show (built streets, mountain
valleys, water), the reading stays consistent with the analysis, and it travels exactly."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.generate.photo.analysis import PhotoAnalysis, analyse
from bridge.generate.photo.facades import rhythm
from bridge.generate.photo.pictures import scene_picture
from bridge.generate.photo.reading import read_scene
from bridge.generate.photo.scene import LAYER_SKY, LAYER_WATER, SceneReading
from bridge.world.photos import decode_photo
from tests.conftest import photo_path

LIFT_RADIUS_M = 96.0


def _read(name: str) -> tuple[PhotoAnalysis, SceneReading]:
    analysis = analyse(decode_photo(photo_path(name).read_bytes()), LIFT_RADIUS_M)
    return analysis, read_scene(analysis)


@pytest.fixture(scope="module")
def town() -> tuple[PhotoAnalysis, SceneReading]:
    """lyra2_06: a town square between timber-framed houses."""
    return _read("lyra2_06")


@pytest.fixture(scope="module")
def valley() -> tuple[PhotoAnalysis, SceneReading]:
    """lyra2_07: a mountain valley with a river and evergreen forest."""
    return _read("lyra2_07")


def _water_below_horizon(analysis: PhotoAnalysis, reading: SceneReading) -> tuple[float, float]:
    """(water's share of the pixels below the horizon, share of the water that lies below it)."""
    rows = np.arange(reading.layers.shape[0])[:, None] + 0.5
    below = np.broadcast_to(rows > analysis.horizon_v, reading.layers.shape)
    water = reading.layers == LAYER_WATER
    return float(water[below].mean()), float(water[below].sum() / max(int(water.sum()), 1))


def test_the_town_square_reads_built_with_a_rhythmic_facade(town: tuple[PhotoAnalysis, SceneReading]) -> None:
    _, reading = town
    mix = reading.mix
    assert mix.built > max(mix.far, mix.vegetation, mix.water, mix.natural)
    assert mix.built + mix.paved > 0.6
    assert reading.facades, "the houses along the square should give a facade"
    assert any(f.storey_m > 0 or f.bay_m > 0 for f in reading.facades), "a facade's window rhythm should be found"
    for facade in reading.facades:
        assert 0.03 <= facade.metres_per_px <= 0.5  # a 640-px photo's pixels on its walls are 2-6 cm
        assert facade.texture.ndim == 3 and facade.texture.shape[2] == 3
    low, high = reading.building_height_m
    assert 2.0 < low <= high < 100.0


def test_the_mountain_valley_reads_far_terrain_and_vegetation(valley: tuple[PhotoAnalysis, SceneReading]) -> None:
    _, reading = valley
    mix = reading.mix
    assert mix.far > 0.1
    assert mix.vegetation > 0.03
    assert mix.built < 0.25
    assert reading.relief_m > 50.0, "mountains on the skyline should give the terrain relief"


@pytest.mark.parametrize("name", ["lyra2_00", "lyra2_05", "lyra2_08"])
def test_water_reads_below_the_horizon(name: str) -> None:
    analysis, reading = _read(name)
    share, below = _water_below_horizon(analysis, reading)
    assert share > 0.05, f"{name}: water should show below the horizon ({share:.1%})"
    assert below > 0.95
    assert reading.water_colour[2] >= reading.water_colour[0], "water reads blue-green, not red"


def test_the_alien_desert_is_not_water() -> None:
    analysis, reading = _read("lyra2_09")
    share, _ = _water_below_horizon(analysis, reading)
    assert share < 0.02


def test_layers_keep_to_the_analysis_sky(town: tuple[PhotoAnalysis, SceneReading]) -> None:
    analysis, reading = town
    assert reading.layers.shape == analysis.sky.shape
    assert np.array_equal(reading.layers == LAYER_SKY, analysis.sky)
    assert np.isclose(reading.mix.as_array().sum(), 1.0)
    assert reading.skyline_elevation_deg.shape == (analysis.sky.shape[1],)
    assert (reading.skyline_elevation_deg >= 0).all()
    assert np.isclose(np.linalg.norm(reading.street_heading), 1.0)
    assert reading.street_heading[1] < 0, "the street runs away from the spawn, not behind it"
    assert 0.0 <= reading.roughness <= 1.0


def test_the_reading_round_trips_through_its_payload(town: tuple[PhotoAnalysis, SceneReading]) -> None:
    _, reading = town
    back = SceneReading.from_payload(reading.to_payload())
    assert np.array_equal(back.layers, reading.layers)
    assert back.mix == reading.mix
    assert len(back.facades) == len(reading.facades)
    for a, b in zip(back.facades, reading.facades, strict=True):
        assert np.array_equal(a.texture, b.texture)
        assert (a.metres_per_px, a.storey_m, a.bay_m) == (b.metres_per_px, b.storey_m, b.bay_m)
    assert back.building_height_m == reading.building_height_m
    assert (back.relief_m, back.roughness, back.street_width_m) == (
        reading.relief_m,
        reading.roughness,
        reading.street_width_m,
    )
    for name in ("roof_colour", "vegetation_colours", "water_colour", "skyline_elevation_deg", "street_heading"):
        assert np.array_equal(getattr(back, name), getattr(reading, name)), name


def test_the_reading_is_deterministic(town: tuple[PhotoAnalysis, SceneReading]) -> None:
    analysis, reading = town
    again = read_scene(analysis)
    assert np.array_equal(again.layers, reading.layers)
    assert again.street_width_m == reading.street_width_m


def test_a_uniform_grey_photo_reads_no_facade_and_no_rhythm() -> None:
    analysis = analyse(np.full((360, 640, 3), 128, dtype=np.uint8), LIFT_RADIUS_M)
    reading = read_scene(analysis)
    assert reading.facades == ()
    assert reading.mix.built < 0.05
    assert reading.street_width_m == 0.0
    assert rhythm(np.full((64, 64, 3), 0.5, dtype=np.float32), 0.1) == (0.0, 0.0, 0.0)


def test_rhythm_finds_a_drawn_window_grid() -> None:
    texture = np.full((120, 200, 3), 0.7, dtype=np.float32)
    for top in range(5, 120, 30):  # storeys every 30 texels = 3 m at 0.1 m
        for left in range(4, 200, 20):  # bays every 20 texels = 2 m
            texture[top : top + 14, left : left + 8] = 0.2
    storey, bay, clarity = rhythm(texture, 0.1)
    assert storey == pytest.approx(3.0, abs=0.15)
    assert bay == pytest.approx(2.0, abs=0.15)
    assert clarity > 0.3


def test_the_scene_picture_shows_the_photo_and_its_legend(town: tuple[PhotoAnalysis, SceneReading]) -> None:
    analysis, reading = town
    picture = scene_picture(analysis, reading)
    h, w = analysis.sky.shape
    assert picture.dtype == np.uint8 and picture.shape[1] == w and picture.shape[0] > h
    assert picture[:h].std() > 10
