"""Props: upright objects cut out of the photo and stood up across the continuation."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.generate.photo.analysis import KIND_SKY, PhotoAnalysis, analyse
from bridge.generate.photo.props import (
    MIN_HEIGHT_PX,
    SpawnView,
    cut_props,
    placements,
    prop_layer,
    prop_splats,
)
from bridge.world.keys import TileKey
from bridge.world.photos import decode_photo
from tests.conftest import photo_path

LIFT_RADIUS_M = 96.0
BASE_TILE_M = 32.0


def _analysis(name: str) -> PhotoAnalysis:
    return analyse(decode_photo(photo_path(name).read_bytes()), LIFT_RADIUS_M)


@pytest.fixture(scope="module")
def town() -> PhotoAnalysis:
    return _analysis("lyra2_06")


def test_a_skyline_gives_whole_objects_with_soft_sides(town: PhotoAnalysis) -> None:
    cutouts = cut_props(town)
    assert cutouts
    for cutout in cutouts:
        h, w = cutout.alpha.shape
        assert h >= MIN_HEIGHT_PX and cutout.colours.shape == (h, w, 3)
        assert cutout.alpha.min() >= 0.0 and cutout.alpha.max() <= 1.0
        # The cut through neighbouring objects fades out; the object's middle is solid.
        assert cutout.alpha[:, 0].max() < 0.2 and cutout.alpha[:, w // 2].max() == 1.0


def test_a_photo_without_sky_gives_no_props() -> None:
    analysis = _analysis("lyra2_08")
    assert not analysis.sky.any()
    assert cut_props(analysis) == []


def test_each_prop_stands_in_exactly_one_tile_at_every_lod(town: PhotoAnalysis) -> None:
    cutouts = cut_props(town)
    parent = TileKey(2, 5, -9)
    whole = placements(parent.bounds(BASE_TILE_M), cutouts, 7, SpawnView.of(town))
    assert whole.x.size > 0
    feet = []
    for child in parent.children():
        for grandchild in child.children():
            part = placements(grandchild.bounds(BASE_TILE_M), cutouts, 7, SpawnView.of(town))
            feet += list(zip(part.x.tolist(), part.z.tolist(), strict=True))
    assert sorted(feet) == sorted(zip(whole.x.tolist(), whole.z.tolist(), strict=True))


def test_props_keep_clear_of_the_lifted_photo_and_hide_behind_its_skyline(town: PhotoAnalysis) -> None:
    cutouts = cut_props(town)
    placed = placements((-1500.0, -1500.0, 1500.0, 1500.0), cutouts, 0, SpawnView.of(town))
    assert placed.x.size > 100
    camera = town.camera
    distance = np.hypot(placed.x - camera.position[0], placed.z - camera.position[2])
    assert distance.min() > LIFT_RADIUS_M
    # From the spawn, no prop rises into the photo's sky: sample each prop's outline (its crossed
    # planes' top corners and its sides) and check every point that lands in the frame.
    w = town.kind.shape[1]
    skyline = np.argmax(town.kind != KIND_SKY, axis=0)
    in_frame_count = 0
    for i in range(placed.x.size):
        cutout = cutouts[int(placed.which[i])]
        half = cutout.half_width_m * placed.scale[i]
        tall = cutout.alpha.shape[0] * cutout.metres_per_px * placed.scale[i]
        for yaw in (placed.yaw[i], placed.yaw[i] + np.pi / 2):
            for t in np.linspace(-1.0, 1.0, 9):
                point = np.array([[placed.x[i] + t * half * np.cos(yaw), tall, placed.z[i] - t * half * np.sin(yaw)]])
                uv, depth = camera.project(point)
                (u, v), depth = uv[0], depth[0]
                if depth > 0 and 0 <= u < w:
                    in_frame_count += 1
                    assert v >= skyline[int(u)], f"prop {i} rises into the sky at column {int(u)}"
    assert in_frame_count > 0  # some props do stand in the spawn's view, behind the backdrop
    # Straight ahead, within the first kilometre, the world has props.
    ahead = placements((-300.0, -1000.0, 300.0, -200.0), cutouts, 0, SpawnView.of(town))
    assert ahead.x.size > 0


def rolling_ground(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    return 3.0 * np.sin(x / 50.0) * np.cos(z / 70.0)


def test_props_stand_upright_on_the_ground_and_coarsen_with_lod(town: PhotoAnalysis) -> None:
    cutouts = cut_props(town)
    region = (-1500.0, -3000.0, 1500.0, -1500.0)
    placed = placements(region, cutouts, 3, SpawnView.of(town), rolling_ground)
    assert np.array_equal(placed.y, rolling_ground(placed.x, placed.z))
    fine = prop_splats(placed, [prop_layer(c, 1.0) for c in cutouts])
    coarse = prop_splats(placed, [prop_layer(c, 4.0) for c in cutouts])
    assert len(fine) > 8 * len(coarse) > 0
    assert fine.positions[:, 1].min() > -3.0  # on the ground, never in it
    assert np.ptp(fine.positions[:, 1]) > 5.0  # and metres tall
    # Same placements, same splats: the fields are a pure function of the world.
    replaced = placements(region, cutouts, 3, SpawnView.of(town), rolling_ground)
    again = prop_splats(replaced, [prop_layer(c, 1.0) for c in cutouts])
    assert np.array_equal(fine.positions, again.positions) and np.array_equal(fine.colors, again.colors)


def test_a_narrow_tall_photo_continues_without_error() -> None:
    """A 64 px wide photo (the smallest side the server takes) whose skyline run is exactly one
    piece wide: cut_props once failed on the empty valley search there."""
    from PIL import Image

    from bridge.generate.base import GeneratorOptions
    from bridge.generate.photo import PhotoGenerator

    photo = decode_photo(photo_path("lyra2_06").read_bytes())
    narrow = np.asarray(Image.fromarray(photo).resize((64, 640)))
    generator = PhotoGenerator()
    world = generator.prepare(narrow, GeneratorOptions())
    for key in (TileKey(0, 0, -1), TileKey(2, 1, -5), TileKey(5, 0, -1)):
        assert generator.generate(world, key).splats.is_finite()
