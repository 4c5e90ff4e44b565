"""Where an imported scene ends there is no edge: seen from above (the CPU rasteriser over the
world's LOD-0 tiles), the ground's colour and height change no more across the scene's rim than
they do on either side of it, and where the scene is, the scene is what is seen (the
continuation's ground stays under it). The rim here is the test's own: the outline of the scene
alone, drawn from the same camera, not the generator's."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from bridge.formats.ply import encode_ply
from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions
from bridge.generate.scene import ImportGenerator
from bridge.generate.scene.placement import place
from bridge.render.rasterize import RenderResult, render_torch
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey
from tests.scene_support import SCENE_RADIUS_M, photo_scene

CAMERA_HEIGHT_M = 150.0
VFOV_DEG = 30.0
PIXELS = 256  # 0.31 m a pixel on the ground
GROUND_BELOW_M = 0.6  # a pixel whose surface is lower than this is ground, not a roof or a wall
BAND_M = 1.0
BANDS = np.arange(-10.0, 10.0, BAND_M)  # signed distance to the rim, inside > 0
# Half a LOD-0 ground splat's radius (8 m / 64): a smaller step in the ground is not seen.
# Measured: 0.04 m with the rim blended, 0.10 m before (the continuation on its own terrain).
HEIGHT_STEP_M = 0.0625
# Mean colour difference (0..1) between the world and the scene alone, more than 6 m inside:
# measured 0.018 with the rim blended, 0.048 before (the continuation's ground showed through).
INSIDE_COLOUR = 0.03


def _top_down(cloud: SplatCloud) -> RenderResult:
    camera = Camera.looking(
        (0.0, CAMERA_HEIGHT_M, 0.0),
        (0.0, -1.0, 0.0),
        Intrinsics.from_vertical_fov(VFOV_DEG, PIXELS, PIXELS),
        up=(0.0, 0.0, -1.0),
    )
    return render_torch(cloud, camera, (0.0, 0.0, 0.0))


@pytest.fixture(scope="module")
def views() -> dict[str, np.ndarray]:
    generator = ImportGenerator()
    world = generator.prepare_source(encode_ply(photo_scene()), GeneratorOptions())
    reach = int(np.ceil((SCENE_RADIUS_M + 16.0) / world.options.base_tile_m))
    keys = [TileKey(0, ix, iz) for ix in range(-reach, reach) for iz in range(-reach, reach)]
    whole = _top_down(SplatCloud.concat([generator.generate(world, key).splats for key in keys]))
    raw = photo_scene()
    alone = _top_down(place(raw).apply(raw))
    metres_per_pixel = 2 * CAMERA_HEIGHT_M * np.tan(np.radians(VFOV_DEG / 2)) / PIXELS
    scene = ndimage.binary_fill_holes(alone.alpha > 0.5)
    labels, _ = ndimage.label(scene)
    scene = labels == 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    distance = (ndimage.distance_transform_edt(scene) - ndimage.distance_transform_edt(~scene)) * metres_per_pixel
    height = CAMERA_HEIGHT_M - whole.depth  # straight down: depth is height below the camera
    return {
        "image": whole.image,
        "alone": alone.image,
        "distance": distance,
        "height": height,
        "ground": (height < GROUND_BELOW_M) & (whole.alpha > 0.99),  # seen ground, no roof or wall
    }


def _profile(views: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per band of distance to the rim: the ground's mean colour [B, 3] and median height [B]."""
    d, ground = views["distance"], views["ground"]
    colours, heights = [], []
    for lo in BANDS:
        band = ground & (d >= lo) & (d < lo + BAND_M)
        assert band.sum() > 50, lo  # every band crosses plenty of ground
        colours.append(views["image"][band].mean(axis=0))
        heights.append(float(np.median(views["height"][band])))
    return np.array(colours), np.array(heights)


def test_no_dark_ring_lies_round_the_scene(views: dict[str, np.ndarray]) -> None:
    """Just outside the rim the continuation lays its texture on the scene's ground colour, as its
    difference from its own mean colour. That mean was read from one far tile, a town's paved
    streets, so the band round the scene came out darker than the ground on either side (0.074
    below them in grey); read over the band itself, 0.045."""
    colours, _ = _profile(views)
    grey = colours.mean(axis=1)
    ring = grey[(BANDS >= -6.0) & (BANDS <= -1.0)].min()
    either_side = min(grey[BANDS <= -8.0].mean(), grey[(BANDS >= 3.0) & (BANDS <= 6.0)].mean())
    assert either_side - ring < 0.06, (ring, either_side)


@pytest.mark.xfail(
    strict=True,
    reason="known defect: the scene's ground colour carried past the rim is its outermost cells', darker"
    " here than the ground just inside (0.38 against 0.41), so the colour steps 0.042 (mean of a 1 m band)"
    " across the rim against at most 0.027 either side; read one cell further in, 0.033; two cells, 0.054",
)
def test_the_ground_colour_steps_no_more_at_the_rim_than_either_side(views: dict[str, np.ndarray]) -> None:
    colours, _ = _profile(views)
    steps = np.linalg.norm(np.diff(colours, axis=0), axis=1)  # between band i and i + 1
    starts = BANDS[:-1]
    at_rim = steps[(starts >= -BAND_M) & (starts <= 0.0)]  # the steps into and out of the rim's bands
    away = steps[np.abs(starts) >= 2 * BAND_M]
    assert at_rim.max() < away.max(), (at_rim.round(3), away.round(3))


def test_the_ground_height_is_continuous_across_the_rim(views: dict[str, np.ndarray]) -> None:
    _, heights = _profile(views)
    near = np.abs(BANDS) <= 2 * BAND_M
    assert np.abs(np.diff(heights[near])).max() < HEIGHT_STEP_M, heights.round(3)


def test_inside_the_scene_the_scene_is_seen(views: dict[str, np.ndarray]) -> None:
    deep = views["ground"] & (views["distance"] > 6.0)
    assert deep.sum() > 1000
    difference = float(np.abs(views["image"] - views["alone"])[deep].mean())
    assert difference < INSIDE_COLOUR, difference
