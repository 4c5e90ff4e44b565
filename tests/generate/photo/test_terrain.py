"""Terrain relief: one world-anchored surface under every tile and LOD, flat under the photo."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.generate.base import GeneratorOptions, PreparedWorld
from bridge.generate.photo.generator import GRID, PhotoGenerator, ground_per_edge
from bridge.generate.photo.terrain import SKYLINE_MARGIN_PX, Terrain, Valley, tilt_to
from bridge.world.keys import TileKey
from bridge.world.photos import decode_photo
from tests.conftest import photo_path


def test_relief_is_flat_under_the_photo_and_rises_beyond_it() -> None:
    terrain = Terrain(seed=5, camera_height_m=12.0, centre=(3.0, -2.0), flat_radius_m=110.0)
    angles = np.linspace(0, 2 * np.pi, 400, endpoint=False)
    near = terrain.height(3.0 + 100.0 * np.cos(angles), -2.0 + 100.0 * np.sin(angles))
    far = terrain.height(3.0 + 2000.0 * np.cos(angles), -2.0 + 2000.0 * np.sin(angles))
    assert np.all(near == 0.0)
    assert np.ptp(far) > 0.5 * terrain.amplitude_m
    # A viewer at the photo's height stays above the ground everywhere.
    assert np.abs(far).max() <= terrain.amplitude_m < 12.0


def test_relief_is_smooth_and_its_normals_tilt_discs_onto_it() -> None:
    terrain = Terrain(seed=1, camera_height_m=40.0, centre=(0.0, 0.0), flat_radius_m=100.0)
    x = np.linspace(1000.0, 1400.0, 2001)
    z = np.full_like(x, -900.0)
    h = terrain.height(x, z)
    slope = np.diff(h) / np.diff(x)
    assert np.abs(np.diff(slope)).max() < 0.01  # no kinks at lattice lines
    dh_dx = np.gradient(h, x)
    normals = np.stack([-dh_dx, np.ones_like(x), np.zeros_like(x)], axis=1)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    q = tilt_to(normals)
    w, qx, qy, qz = q.T
    # The rotated +Y axis (second column of the rotation matrix) is the normal.
    rotated_y = np.stack([2 * (qx * qy - w * qz), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz + w * qx)], axis=1)
    assert np.allclose(rotated_y, normals, atol=1e-9)


@pytest.fixture(scope="module")
def world() -> tuple[PhotoGenerator, PreparedWorld]:
    generator = PhotoGenerator()
    photo = decode_photo(photo_path("lyra2_00").read_bytes())
    return generator, generator.prepare(photo, GeneratorOptions())


def test_neighbours_and_lods_share_one_surface(world: tuple[PhotoGenerator, PreparedWorld]) -> None:
    generator, prepared = world
    left = generator.generate(prepared, TileKey(0, 30, -40))
    right = generator.generate(prepared, TileKey(0, 31, -40))
    below = generator.generate(prepared, TileKey(0, 30, -39))
    assert np.ptp(left.heights) > 0.0
    assert np.array_equal(left.heights[:, -1], right.heights[:, 0])
    assert np.array_equal(left.heights[-1, :], below.heights[0, :])
    # The parent samples the same surface: its every other corner is its child's.
    parent = generator.generate(prepared, TileKey(1, 15, -20))
    assert np.allclose(parent.heights[: GRID // 2 + 1, : GRID // 2 + 1], left.heights[::2, ::2], atol=1e-5)


def test_continuation_splats_lie_on_the_surface(world: tuple[PhotoGenerator, PreparedWorld]) -> None:
    generator, prepared = world
    key = TileKey(0, -25, -30)
    tile = generator.generate(prepared, key)
    state = generator._state(prepared, next(iter(generator._states)))
    ground = tile.splats.subset(np.arange(ground_per_edge(key) ** 2))  # props (if any) come after the ground
    surface = state.terrain.height(ground.positions[:, 0].astype(np.float64), ground.positions[:, 2].astype(np.float64))
    assert np.abs(surface).max() > 0.1
    assert np.allclose(ground.positions[:, 1], surface, atol=1e-3)
    # Discs lie in the surface: their local +Y is the surface normal (finite differences).
    w, qx, qy, qz = ground.rotations.T.astype(np.float64)
    up = np.stack([2 * (qx * qy - w * qz), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz + w * qx)], axis=1)
    x, z = ground.positions[:, 0].astype(np.float64), ground.positions[:, 2].astype(np.float64)
    dx = (state.terrain.height(x + 0.05, z) - state.terrain.height(x - 0.05, z)) / 0.1
    dz = (state.terrain.height(x, z + 0.05) - state.terrain.height(x, z - 0.05)) / 0.1
    expected = np.stack([-dx, np.ones_like(dx), -dz], axis=1)
    expected /= np.linalg.norm(expected, axis=1, keepdims=True)
    assert np.all(np.einsum("ij,ij->i", up, expected) > np.cos(np.radians(1.0)))


def test_a_valley_keeps_its_floor_under_the_path_and_its_mountains_either_side() -> None:
    valley = Valley(relief_m=250.0, roughness=0.4, heading=(0.0, -1.0))
    terrain = Terrain(seed=2, camera_height_m=40.0, centre=(0.0, 0.0), flat_radius_m=100.0, valley=valley)
    flat = Terrain(seed=2, camera_height_m=40.0, centre=(0.0, 0.0), flat_radius_m=100.0)
    z = np.linspace(-6000.0, -1000.0, 400)
    on_path = terrain.height(np.zeros_like(z), z)
    np.testing.assert_allclose(on_path, flat.height(np.zeros_like(z), z))  # the floor is the rolling ground
    for side in (-1.0, 1.0):
        slopes = terrain.height(np.full_like(z, side * 1200.0), z)
        assert np.percentile(slopes, 90) > 150.0, "mountains stand across the valley"
        assert slopes.max() < 250.0 * 1.7
    # Near the photo the ground stays flat, mountains or not.
    assert np.abs(terrain.height(np.array([30.0, -20.0]), np.array([-40.0, 10.0]))).max() < 1e-9


def test_mountains_in_the_photos_view_stay_under_its_skyline() -> None:
    """An open-land photo (lyra2_03, a fortress on a hill under a wide sky) continues as a valley,
    but seen from the spawn its slopes stay under the photo's skyline: the first view stays the
    photo. Without the cap they rise into its sky (spawn PSNR fell from 36 to 28 dB); right up to
    it, lyra2_07's rock walls poked into its sky (its clipped spawn 37.1 dB, 38.1 kept 3 rows under)."""
    from bridge.generate.photo import generator as photo_generator

    generator = PhotoGenerator()
    world = generator.prepare(decode_photo(photo_path("lyra2_03").read_bytes()), GeneratorOptions())
    state = generator._state(world, photo_generator._fingerprint(world))
    assert state.terrain.valley is not None and state.terrain.valley.relief_m > 50.0
    camera = state.spawn_view.camera
    k = camera.intrinsics
    x, z = np.meshgrid(np.linspace(-600.0, 600.0, 121), np.linspace(-900.0, -150.0, 76))
    y = state.terrain.height(x, z)
    uv, depth = camera.project(np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1))
    inside = (depth > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < k.width) & (uv[:, 1] >= 0) & (uv[:, 1] < k.height)
    assert inside.sum() > 1000
    columns = uv[inside, 0].astype(np.int64)
    assert (uv[inside, 1] >= state.spawn_view.skyline[columns] - 1.0).all()
    # What rises is kept SKYLINE_MARGIN_PX rows under it (a splat on a steep wall reaches up past
    # its centre); the flat ground at the horizon cannot be lower.
    raised = inside & (y.ravel() > 0.5)
    assert raised.sum() > 500
    raised_columns = uv[raised, 0].astype(np.int64)
    assert (uv[raised, 1] >= state.spawn_view.skyline[raised_columns] + SKYLINE_MARGIN_PX - 0.5).all()
    # Beside the frame the same valley stands high: the cap holds only where the photo looks.
    beside = state.terrain.height(np.full(50, 700.0), np.linspace(-900.0, 200.0, 50))
    assert beside.max() > 50.0


def test_a_valleys_steep_slopes_wear_the_photos_mountains_and_a_castle_is_no_mountain() -> None:
    """lyra2_07's valley walls wear the photo's far terrain (dark rock streaked with snow), not its
    snowy floor stood on end; lyra2_03's far terrain is a castle (its edges run along rows and
    columns), which no slope wears."""
    from bridge.generate.photo import generator as photo_generator
    from bridge.generate.photo.slopes import FACE_FULL_DEG
    from bridge.generate.photo.terrain import surface_at

    generator = PhotoGenerator()
    world = generator.prepare(decode_photo(photo_path("lyra2_07").read_bytes()), GeneratorOptions())
    state = generator._state(world, photo_generator._fingerprint(world))
    assert state.face is not None and state.terrain.valley is not None
    face_mean = state.face.mean
    floor_mean = np.mean([e.mean for e in state.exemplars], axis=0)
    assert face_mean.mean() < floor_mean.mean() - 0.2  # rock is darker than the snow
    steep, flat = [], []
    for ix in range(-30, -4, 2):  # LOD-0 tiles up the valley's western wall, 250 m behind the spawn
        key = TileKey(0, ix, 31)
        content = generator.generate(world, key)
        n = ground_per_edge(key) ** 2
        ground = content.splats.positions[:n]
        spacing = key.edge_m(world.options.base_tile_m) / GRID
        x0, z0, _, _ = key.bounds(world.options.base_tile_m)
        _, normals = surface_at(content.heights, (ground[:, 0] - x0) / spacing, (ground[:, 2] - z0) / spacing, spacing)
        slope = np.degrees(np.arccos(normals[:, 1]))
        colours = content.splats.colors[:n]
        steep.append(colours[slope > FACE_FULL_DEG])
        flat.append(colours[slope < 10.0])
    steep_colours, flat_colours = np.concatenate(steep), np.concatenate(flat)
    assert len(steep_colours) > 1000 and len(flat_colours) > 1000
    assert np.abs(steep_colours.mean(axis=0) - face_mean).max() < 0.08
    assert flat_colours.mean() > steep_colours.mean() + 0.2

    castle = PhotoGenerator()
    world = castle.prepare(decode_photo(photo_path("lyra2_03").read_bytes()), GeneratorOptions())
    assert "far_face_texture" not in world.payload
