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
from bridge.generate.base import GeneratorOptions, PreparedWorld
from bridge.generate.scene import ImportGenerator
from bridge.generate.scene.placement import place
from bridge.generate.scene.rim import SceneRim
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
# Measured (median over the rim of the height 1 m inside less 1 m outside): 0.013 m with the rim
# blended; 0.129 m with the continuation's ground left on its own terrain outside the rim.
HEIGHT_STEP_M = 0.0625
STEP_ACROSS_M = 1.0  # each side of the rim
STANDING_M = 1.0  # a splat this far above the ground stands: a house's or a tree's
RIM_CLEAR_M = 0.5
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
def imported() -> tuple[ImportGenerator, PreparedWorld, list[TileKey]]:
    """The tests' scene imported, and the LOD-0 tiles over it and 16 m round it."""
    generator = ImportGenerator()
    world = generator.prepare_source(encode_ply(photo_scene()), GeneratorOptions())
    reach = int(np.ceil((SCENE_RADIUS_M + 16.0) / world.options.base_tile_m))
    return generator, world, [TileKey(0, ix, iz) for ix in range(-reach, reach) for iz in range(-reach, reach)]


@pytest.fixture(scope="module")
def views(imported: tuple[ImportGenerator, PreparedWorld, list[TileKey]]) -> dict[str, np.ndarray]:
    generator, world, keys = imported
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
    below them in grey); read over the band itself, 0.045; with the scene's own ground colour
    carried out as seen from above and the continuation read with the spawn's camera, none."""
    colours, _ = _profile(views)
    grey = colours.mean(axis=1)
    ring = grey[(BANDS >= -6.0) & (BANDS <= -1.0)].min()
    either_side = min(grey[BANDS <= -8.0].mean(), grey[(BANDS >= 3.0) & (BANDS <= 6.0)].mean())
    assert either_side - ring < 0.02, (ring, either_side)


def test_the_ground_colour_steps_no_more_at_the_rim_than_either_side(views: dict[str, np.ndarray]) -> None:
    """The colour carried past the rim was the mean of the splats near the ground in the scene's
    outermost cells: 0.38 against 0.41 just inside, a step of 0.042 across the rim against at most
    0.027 either side. Now it is the ground as seen from above, a cell in, and the continuation is
    read with the spawn's camera: 0.011 against 0.017."""
    colours, _ = _profile(views)
    steps = np.linalg.norm(np.diff(colours, axis=0), axis=1)  # between band i and i + 1
    starts = BANDS[:-1]
    at_rim = steps[(starts >= -BAND_M) & (starts <= 0.0)]  # the steps into and out of the rim's bands
    away = steps[np.abs(starts) >= 2 * BAND_M]
    assert at_rim.max() < away.max(), (at_rim.round(3), away.round(3))


def test_the_ground_height_is_continuous_across_the_rim(views: dict[str, np.ndarray]) -> None:
    """Point by point round the rim: the ground seen 1 m inside against 1 m outside, along the
    rim's normal. (A median per band of distance mixes stretches of the rim: where the
    continuation's houses no longer stand the ground beside the rim is seen, and it is lower
    there, inside as well.)"""
    d, ground, height = views["distance"], views["ground"], views["height"]
    metres_per_pixel = 2 * CAMERA_HEIGHT_M * np.tan(np.radians(VFOV_DEG / 2)) / PIXELS
    along_z, along_x = np.gradient(d)
    norm = np.hypot(along_x, along_z) + 1e-9
    rows, cols = np.nonzero((d > 0) & (d <= 1.01 * metres_per_pixel))  # the scene's outermost pixels
    reach = STEP_ACROSS_M / metres_per_pixel
    nz, nx = along_z[rows, cols] / norm[rows, cols], along_x[rows, cols] / norm[rows, cols]
    inside = np.round(rows + nz * reach).astype(int), np.round(cols + nx * reach).astype(int)
    outside = np.round(rows - nz * reach).astype(int), np.round(cols - nx * reach).astype(int)
    both = ground[inside] & ground[outside]
    assert both.sum() > 100, both.sum()  # most of the rim has ground seen on both sides
    step = np.median(np.abs(height[inside][both] - height[outside][both]))
    assert step < HEIGHT_STEP_M, step


def test_inside_the_scene_the_scene_is_seen(views: dict[str, np.ndarray]) -> None:
    deep = views["ground"] & (views["distance"] > 6.0)
    assert deep.sum() > 1000
    difference = float(np.abs(views["image"] - views["alone"])[deep].mean())
    assert difference < INSIDE_COLOUR, difference


def test_the_continuations_houses_and_trees_stand_whole_outside_the_scene(
    imported: tuple[ImportGenerator, PreparedWorld, list[TileKey]],
) -> None:
    """A house or tree of the continuation that reaches into the scene is left out whole. Cut
    along the rim, as they were, they showed their insides and roofs stepped like the rim's
    cells, standing right up to the rim. Now nothing but the ground stands within 0.5 m outside
    it (the scene itself is trimmed at the rim)."""
    generator, world, keys = imported
    rim = SceneRim.from_payload(world.payload)
    cloud = SplatCloud.concat([generator.generate(world, key).splats for key in keys])
    distance, ground, _ = rim.at(cloud.positions[:, 0], cloud.positions[:, 2])
    standing = cloud.positions[:, 1] > ground + STANDING_M
    assert (standing & (distance < -RIM_CLEAR_M)).sum() > 10_000  # houses and trees stand round the scene
    beside = standing & (distance < 0.0) & (distance > -RIM_CLEAR_M)
    assert beside.sum() == 0, beside.sum()
