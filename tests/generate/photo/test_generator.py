"""The photo generator as a whole: how fine its tiles are where a viewer stands."""

from __future__ import annotations

import numpy as np

from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.generate.photo.clearance import SPAWN_CLEARING_M
from bridge.likeness import LUMA, sharpness, turned
from bridge.render.rasterize import render
from bridge.stream.interest import StreamOptions, select_tiles
from bridge.stream.pose import Pose
from bridge.world.grid import TileGrid
from bridge.world.keys import tile_at
from tests.generate.photo.test_layout import load_photo


def _street_view_sharpness(base_tile_m: float) -> float:
    """Sharpness of the view down the street behind lyra2_06's spawn (walls 5-15 m away, cobbles
    under the eye), with the tiles a 320 x 200 viewer there is sent."""
    generator = PhotoGenerator()
    world = generator.prepare(load_photo("lyra2_06"), GeneratorOptions(base_tile_m=base_tile_m))
    k = world.spawn.intrinsics
    camera = turned(world.spawn, 180.0).with_intrinsics(k.scaled(320, round(k.height * 320 / k.width)))
    pose = Pose(tuple(camera.position), tuple(camera.forward), (0.0, 0.0, 0.0), k.vertical_fov_deg, 200, 96.0)
    keys = select_tiles(pose, TileGrid(base_tile_m, generator.splats_per_tile_edge), StreamOptions())
    cloud = SplatCloud.concat([generator.generate(world, key).splats for key in keys])
    return sharpness(render(cloud, camera, (0.6, 0.7, 0.8)).image)


def test_tiles_near_the_viewer_are_fine_enough_to_be_sharp() -> None:
    """Splats are sized by their tile's edge: with 8 m finest tiles a street seen from eye height
    is far sharper than with 32 m ones, whose 0.3 m wall and 0.5 m ground splats read as blur."""
    fine, coarse = _street_view_sharpness(8.0), _street_view_sharpness(32.0)
    assert np.isfinite(fine) and np.isfinite(coarse)
    assert fine > 1.3 * coarse, (fine, coarse)


def test_nothing_is_built_in_the_clearing_around_the_spawn() -> None:
    """Turning round at lyra2_06's spawn shows the square across, not a wall a step away: no
    house or tree splat of the layout stands within the clearing (it stood 2 m away before)."""
    from bridge.generate.photo import generator as photo_generator
    from bridge.world.keys import tiles_in_radius

    generator = PhotoGenerator()
    world = generator.prepare(load_photo("lyra2_06"), GeneratorOptions())
    state = generator._state(world, photo_generator._fingerprint(world))
    x, _, z = world.spawn.position
    keys = tiles_in_radius(float(x), float(z), SPAWN_CLEARING_M + 24.0, 0, world.options.base_tile_m)
    standing = SplatCloud.concat([photo_generator._layout_splats(state, key, None) for key in keys])
    assert len(standing) > 0  # the square is lined with houses just beyond the clearing
    ground_distance = np.hypot(standing.positions[:, 0] - x, standing.positions[:, 2] - z)
    # A clearing a person notices: the street's houses stood 5 m away before it.
    assert ground_distance.min() >= 10.0 - 3 * standing.scales.max(axis=1).max()


def test_a_valley_walk_sees_its_mountains_within_the_reports_view_radius() -> None:
    """A kilometre down lyra2_07's valley, the tiles a viewer with the quality report's view radius
    holds include the valley's slopes standing well above the eye: at 160 m they were out of
    reach and the valley read as a plain."""
    from bridge.generate.photo import generator as photo_generator
    from bridge.quality.report import RADIUS_M

    generator = PhotoGenerator()
    world = generator.prepare(load_photo("lyra2_07"), GeneratorOptions())
    state = generator._state(world, photo_generator._fingerprint(world))
    forward = np.array([world.spawn.forward[0], 0.0, world.spawn.forward[2]])
    forward /= np.linalg.norm(forward)
    eye = world.spawn.position + 1000.0 * forward
    eye[1] = state.terrain.height(np.array([eye[0]]), np.array([eye[2]]))[0] + state.analysis.camera_height_m
    k = world.spawn.intrinsics
    pose = Pose(tuple(eye), tuple(forward), (0.0, 0.0, 0.0), k.vertical_fov_deg, 720, RADIUS_M, 1280)
    keys = select_tiles(pose, TileGrid(world.options.base_tile_m, generator.splats_per_tile_edge), StreamOptions())
    centres = np.array([key.center(world.options.base_tile_m) for key in keys])
    heights = state.terrain.height(centres[:, 0], centres[:, 1])
    distance = np.hypot(centres[:, 0] - eye[0], centres[:, 1] - eye[2])
    elevation = np.degrees(np.arctan2(heights - eye[1], distance))
    # Slopes standing 100 m and more above the eye, and steep in the view.
    assert (heights - eye[1]).max() > 100.0 and elevation.max() > 10.0, ((heights - eye[1]).max(), elevation.max())


def test_a_narrow_tall_photo_continues_without_error() -> None:
    """A 64 px wide photo (the smallest side the server takes) makes a world whose tiles are
    finite at every LOD (the skyline's cut-out pieces once failed there)."""
    from PIL import Image

    from bridge.world.keys import TileKey

    narrow = np.asarray(Image.fromarray(load_photo("lyra2_06")).resize((64, 640)))
    generator = PhotoGenerator()
    world = generator.prepare(narrow, GeneratorOptions())
    for key in (TileKey(0, 0, -1), TileKey(2, 1, -5), TileKey(5, 0, -1)):
        assert generator.generate(world, key).splats.is_finite()


def test_the_town_goes_on_behind_the_photos_own_facades() -> None:
    """lyra2_06's facades end 10-40 m out: houses stand behind them inside the photo's frame (hidden
    by them from the spawn, under its skyline), so walking in 50 m meets a town, not a plain that
    reached to the lifted photo's 96 m radius."""
    from bridge.generate.photo import generator as photo_generator
    from bridge.world.keys import tiles_in_radius

    generator = PhotoGenerator()
    world = generator.prepare(load_photo("lyra2_06"), GeneratorOptions())
    state = generator._state(world, photo_generator._fingerprint(world))
    spawn, lift_radius = world.spawn, state.analysis.lift_radius_m
    x, _, z = spawn.position
    keys = tiles_in_radius(float(x), float(z), lift_radius, 0, world.options.base_tile_m)
    standing = SplatCloud.concat([photo_generator._layout_splats(state, key, None) for key in keys])
    uv, depth = spawn.project(standing.positions.astype(np.float64))
    k = spawn.intrinsics
    in_frame = (depth > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < k.width) & (uv[:, 1] >= 0) & (uv[:, 1] < k.height)
    ground_distance = np.hypot(standing.positions[:, 0] - x, standing.positions[:, 2] - z)
    behind = in_frame & (ground_distance < 0.9 * lift_radius)
    assert behind.sum() > 1000, behind.sum()


def test_a_small_photos_coarsest_tiles_are_made() -> None:
    """A 320 x 200 photo (above the server's 64 px floor): its LOD-10 tile once failed with an empty
    reshape, the lift's blocks being larger than the image."""
    from PIL import Image

    from bridge.world.keys import TileKey

    small = np.asarray(Image.fromarray(load_photo("lyra2_06")).resize((320, 200)))
    generator = PhotoGenerator()
    world = generator.prepare(small, GeneratorOptions())
    for key in (TileKey(10, 0, -1), TileKey(10, -1, -1), TileKey(8, 0, -1)):
        tile = generator.generate(world, key).splats
        assert tile.is_finite() and len(tile) > 0


def test_the_photos_edge_colour_does_not_stain_the_ground_beside_it() -> None:
    """Turning 45 degrees at lyra2_05's spawn showed a dark blot on the snow: the rock at the
    photo's bottom-right corner, carried sideways by the apron and the hand-over. Beside the frame,
    past the apron's fade, the ground is the synthesised ground: no apron splat lies there and the
    photo's edge colour has no weight in it, even a few metres from the spawn."""
    from bridge.generate.photo import generator as photo_generator
    from bridge.generate.photo.lift import APRON_FADE_PX, frame_distance_px

    generator = PhotoGenerator()
    world = generator.prepare(load_photo("lyra2_05"), GeneratorOptions())
    state = generator._state(world, photo_generator._fingerprint(world))
    camera = state.analysis.camera
    h, w = state.analysis.kind.shape
    # Ground points seen 100 working pixels right of the frame's lower rows: 2-10 m from the spawn.
    v = np.linspace(0.8 * h, h - 1.0, 12)
    rays = camera.rays_through(np.full(v.size, w + 100.0), v)
    ground = camera.position + rays * (camera.position[1] / -rays[:, 1])[:, None]
    assert np.hypot(ground[:, 0] - camera.position[0], ground[:, 2] - camera.position[2]).max() < 12.0
    _, handover = photo_generator._photo_coverage(state, ground[:, 0], ground[:, 2], 0.1)
    assert np.all(handover[:, 3] == 0.0), handover[:, 3]

    lifted = generator._lift_clouds[(photo_generator._fingerprint(world), 1)]
    uv, depth = camera.project(lifted.positions.astype(np.float64))
    outside = frame_distance_px(uv[:, 0], uv[:, 1], w, h)
    assert np.all(outside[depth > 0] < APRON_FADE_PX[1] + 8), outside.max()
    # Next to the frame the apron is still there, opaque: the photo's ground has no seam at its edge.
    near = (depth > 0) & (outside > 0) & (outside < APRON_FADE_PX[0])
    assert near.sum() > 100 and np.all(lifted.opacities[near] > 0.99)


def test_turned_at_the_spawn_no_dark_band_runs_beside_the_photo() -> None:
    """Turned 45 degrees either way at lyra2_07's spawn, the ground just beside the photo's frame
    was a dark band: the apron carried the frame's edge colour (its dark rock) 16-64 working
    pixels out, opaque, before fading. Ground 4-48 pixels out (3-20 m from the spawn) read 0.09
    and 0.13 in luminance against 0.59 and 0.56 for the ground 96-240 pixels out; the apron now
    fades within 8 pixels, and the two are alike."""
    from bridge.generate.photo import generator as photo_generator
    from bridge.generate.photo.lift import frame_distance_px
    from bridge.world.camera import Camera, Intrinsics
    from bridge.world.keys import TileKey

    generator = PhotoGenerator()
    world = generator.prepare(load_photo("lyra2_07"), GeneratorOptions())
    state = generator._state(world, photo_generator._fingerprint(world))
    spawn = state.analysis.camera
    h, w = state.analysis.kind.shape
    keys = [TileKey(0, ix, iz) for ix in range(-4, 4) for iz in range(-4, 4)]  # 32 m round the spawn
    cloud = SplatCloud.concat([generator.generate(world, key).splats for key in keys])
    for degrees, beside in ((45.0, lambda u: u > w), (-45.0, lambda u: u < 0)):
        camera = turned(Camera(Intrinsics.from_vertical_fov(50.0, 320, 200), spawn.position, spawn.rotation), degrees)
        luminance = render(cloud, camera).image.reshape(-1, 3) @ LUMA
        # Where each pixel's ray meets the ground, and where the spawn sees that point.
        rays = camera.pixel_rays().reshape(-1, 3)
        points = spawn.position + rays * (spawn.position[1] / np.maximum(-rays[:, 1], 1e-6))[:, None]
        distance = np.hypot(points[:, 0] - spawn.position[0], points[:, 2] - spawn.position[2])
        uv, depth = spawn.project(points)
        outside = frame_distance_px(uv[:, 0], uv[:, 1], w, h)
        ground = (rays[:, 1] < -0.05) & (distance > 3.0) & (distance < 20.0) & (depth > 0) & beside(uv[:, 0])
        band, farther = ground & (outside > 4) & (outside < 48), ground & (outside > 96) & (outside < 240)
        assert band.sum() > 300 and farther.sum() > 300
        assert luminance[band].mean() > luminance[farther].mean() - 0.1, (degrees, luminance[band].mean())


def test_one_generator_keeps_two_photos_with_the_same_camera_apart() -> None:
    """lyra2_04 and lyra2_05 are the same size and their horizons land on the same row, so their
    cameras are identical; one generator serving both must still give each its own ground (it
    gave the second the first's: its cache was keyed by the camera alone)."""
    generator = PhotoGenerator()
    worlds = [generator.prepare(load_photo(name), GeneratorOptions()) for name in ("lyra2_04", "lyra2_05")]
    assert np.array_equal(worlds[0].payload["scalars"], worlds[1].payload["scalars"])
    assert np.array_equal(worlds[0].payload["camera_pose"], worlds[1].payload["camera_pose"])
    key = tile_at(0.0, -300.0, 0, worlds[0].options.base_tile_m)
    shared = [generator.generate(world, key).splats for world in worlds]
    alone = [PhotoGenerator().generate(world, key).splats for world in worlds]
    for mine, own in zip(shared, alone, strict=True):
        assert np.array_equal(mine.colors, own.colors)
    assert not np.array_equal(shared[0].colors, shared[1].colors)
