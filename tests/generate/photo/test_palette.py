"""The photo's palette: each region's colours, read from the real sample photos."""

from __future__ import annotations

import dataclasses
import io

import numpy as np
from PIL import Image

from bridge.generate.photo.analysis import KIND_GROUND, KIND_SKY, PhotoAnalysis, analyse
from bridge.generate.photo.palette import COLOURS_PER_REGION, region_palettes
from bridge.generate.photo.pictures import analysis_pictures
from bridge.world.photos import decode_photo
from tests.conftest import photo_path


def _analysis(name: str) -> PhotoAnalysis:
    return analyse(decode_photo(photo_path(name).read_bytes()), 96.0)


def test_each_region_is_described_by_its_own_colours() -> None:
    analysis = _analysis("lyra2_06")
    palettes = region_palettes(analysis)
    assert list(palettes) == ["sky", "ground", "standing"]
    for swatches in palettes.values():
        assert 1 <= len(swatches) <= COLOURS_PER_REGION
        assert abs(sum(s.share for s in swatches) - 1.0) < 1e-9
        assert [s.share for s in swatches] == sorted((s.share for s in swatches), reverse=True)
    # The palette stands for its region: its share-weighted mean is the region's mean colour.
    for name, kind in (("sky", KIND_SKY), ("ground", KIND_GROUND)):
        region_mean = analysis.image[analysis.kind == kind].mean(axis=0) * 255
        palette_mean = sum(np.array(s.rgb) * s.share for s in palettes[name])
        assert np.abs(palette_mean - region_mean).max() < 6.0, name
    # lyra2_06's sky is blue and bright, its cobbled ground grey and darker.
    sky = sum(np.array(s.rgb) * s.share for s in palettes["sky"])
    ground = sum(np.array(s.rgb) * s.share for s in palettes["ground"])
    assert sky[2] > sky[0] and sky.mean() > ground.mean() + 40


def test_a_region_the_photo_does_not_show_has_no_colours_and_is_shown_so() -> None:
    analysis = _analysis("lyra2_07")  # a valley seen from high above
    no_sky = dataclasses.replace(analysis, kind=np.where(analysis.kind == KIND_SKY, KIND_GROUND, analysis.kind))
    assert region_palettes(no_sky)["sky"] == []
    picture = np.asarray(Image.open(io.BytesIO(analysis_pictures(no_sky)["palette"])))
    assert picture.shape[1] == analysis.image.shape[1]


def test_the_palette_is_the_same_every_time() -> None:
    analysis = _analysis("lyra2_05")
    assert region_palettes(analysis) == region_palettes(analysis)
