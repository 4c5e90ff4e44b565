"""The layout grammar on real photos: streets continue the photo's, blocks are lined with
buildings whose facades keep the photo's window rhythm, trees stand as volumes, and every
decision is anchored to the world (the same buildings from any tile, at any LOD)."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.generate.photo.analysis import analyse
from bridge.generate.photo.buildings import _walls, building_splats
from bridge.generate.photo.dressing import FacadeSource, facade_colours
from bridge.generate.photo.generator import REFERENCE_EDGE_M
from bridge.generate.photo.layout import buildings_in, on_street, rules_from, trees_in
from bridge.generate.photo.reading import read_scene
from bridge.generate.photo.scene import FacadeSample
from bridge.likeness import sharpness
from bridge.render.rasterize import render
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey
from bridge.world.photos import decode_photo
from tests.conftest import photo_path


def load_photo(name: str) -> np.ndarray:
    return decode_photo(photo_path(name).read_bytes())


@pytest.fixture(scope="module")
def town():
    """The town square (lyra2_06): its reading and layout rules."""
    analysis = analyse(load_photo("lyra2_06"), 96.0)
    reading = read_scene(analysis)
    return reading, rules_from(reading, (0.0, 0.0), seed=0)


def test_the_photos_street_continues_along_its_heading(town):
    _, rules = town
    assert rules.town, "a town square continues as a town"
    heading = np.asarray(rules.heading)
    distances = np.arange(50.0, 3000.0, 25.0)
    line_x, line_z = heading[0] * distances, heading[1] * distances
    assert on_street(rules, line_x, line_z).all(), "the street runs on along the photo's heading"
    # Buildings line it on both sides, and none stands on it.
    side = np.array([-heading[1], heading[0]])
    bounds = (-400.0, -3000.0, 400.0, 0.0) if heading[1] < 0 else (-400.0, 0.0, 400.0, 3000.0)
    buildings = buildings_in(rules, bounds)
    offset = buildings.x * side[0] + buildings.z * side[1]
    along = buildings.x * heading[0] + buildings.z * heading[1]
    near = (along > 100) & (along < 2900)
    half_street = rules.street_width_m / 2
    reach = np.hypot(buildings.frontage, buildings.depth) / 2
    front_edge = np.abs(offset) - buildings.depth / 2
    assert (front_edge[near & (np.abs(offset) < 40)] >= half_street - 1e-6).all(), "no house stands in the street"
    for sign in (-1, 1):
        lining = near & (sign * offset > half_street) & (sign * offset < half_street + 20)
        assert lining.sum() >= 40, f"houses line the street's {'left' if sign < 0 else 'right'} side"
    assert reach.max() < 40


def test_every_building_belongs_to_one_tile_at_every_lod(town):
    _, rules = town
    parent = TileKey(3, 2, -5)
    whole = buildings_in(rules, parent.bounds(32.0))
    parts = [buildings_in(rules, child.bounds(32.0)) for child in parent.children()]
    assert len(whole) > 20
    assert sum(len(p) for p in parts) == len(whole)
    assert sorted(np.concatenate([p.ident for p in parts]).tolist()) == sorted(whole.ident.tolist())


def test_no_two_houses_share_ground(town):
    """Parcels never overlap: at a block's corner the cross street's row begins behind the long
    sides' back walls (it began behind its own depth, and a deeper corner house on the long side
    stood inside the first house of the cross row). Checked over 600 m of lyra2_06's town."""
    from bridge.generate.photo.steering import _footprint_samples

    _, rules = town
    b = buildings_in(rules, (-300.0, -300.0, 300.0, 300.0))
    assert len(b) > 200
    px, pz = _footprint_samples(b.x, b.z, b.facing, b.frontage, b.depth)  # [n, m] points on each plan
    for i in range(len(b)):
        near = np.flatnonzero(np.hypot(b.x - b.x[i], b.z - b.z[i]) < 40.0)
        near = near[near != i]
        fx, fz = b.facing[i]
        dx, dz = px[near] - b.x[i], pz[near] - b.z[i]
        inside = (np.abs(dx * fx + dz * fz) < b.depth[i] / 2 - 0.1) & (
            np.abs(dx * fz - dz * fx) < b.frontage[i] / 2 - 0.1
        )
        assert not inside.any(), f"houses {i} and {near[inside.any(axis=1)]} overlap"


def test_synthesised_facades_keep_the_window_rhythm():
    """A wall dressed from a sample with a clear bay keeps that bay (stretched to fit the wall):
    the column profile's autocorrelation peaks at the wall's bay, where a blur would show none."""
    image = load_photo("lyra2_06").astype(np.float32) / 255.0
    crop = image[200:420, 980:1140]  # a stretch of the photo, windows and timber
    # A sample with a known rhythm: the crop's first bay repeated, as a rectified facade would be.
    bay_px = 40
    texture = np.tile(crop[:, :bay_px], (1, 4, 1))
    sample = FacadeSample(texture=texture, metres_per_px=0.08, storey_m=0.0, bay_m=bay_px * 0.08)
    source = FacadeSource.of(sample)
    width = 16.0
    s = np.arange(0.0, width, 0.05)
    y = np.full_like(s, 5.0)
    colours = facade_colours(
        source, s, y, np.full_like(s, width), np.zeros(s.size, np.int64), np.zeros(s.size, np.int64), 0.05
    )
    profile = colours.mean(axis=1) - colours.mean()
    expected_bay = width / round(width / sample.bay_m)
    lag = round(expected_bay / 0.05)
    auto = np.array([np.dot(profile[:-k], profile[k:]) / (profile.size - k) for k in range(1, 2 * lag)])
    assert abs(int(np.argmax(auto[lag // 2 :])) + lag // 2 + 1 - lag) <= 2
    assert auto[lag - 1] > 0.5 * np.dot(profile, profile) / profile.size


def test_buildings_are_closed_surfaces_with_colours_in_range(town):
    reading, rules = town
    buildings = buildings_in(rules, (-200.0, -600.0, 200.0, -300.0))
    assert len(buildings) > 10
    sources = [FacadeSource.of(f) for f in reading.facades]
    cloud = building_splats(buildings, np.zeros(len(buildings)), 1.0, sources, reading.roof_colour)
    assert len(cloud) > 1000
    assert cloud.colors.min() >= 0.0 and cloud.colors.max() <= 1.0
    # The splats of one building span its whole box, walls up to the eaves.
    first = buildings.subset(np.array([0]))
    one = building_splats(first, np.zeros(1), 1.0, sources, reading.roof_colour)
    top = float(first.height[0] + first.roof_m[0])
    assert one.positions[:, 1].max() == pytest.approx(top, abs=0.5)
    assert one.positions[:, 1].min() < 0.5


def test_open_land_has_no_streets_and_trees_stand_as_volumes():
    analysis = analyse(load_photo("lyra2_07"), 96.0)  # a mountain valley
    reading = read_scene(analysis)
    rules = rules_from(reading, (0.0, 0.0), seed=0)
    assert not rules.town
    assert len(buildings_in(rules, (-500.0, -500.0, 500.0, 500.0))) == 0
    trees = trees_in(rules, (-300.0, -300.0, 300.0, 300.0))
    assert len(trees) > 0


def test_tiles_show_the_layout_and_stay_pure():
    photo = load_photo("lyra2_06")
    key = TileKey(2, 3, -12)  # a 32 m tile, a block and its street
    first = PhotoGenerator().generate(PhotoGenerator().prepare(photo, GeneratorOptions()), key)
    generator = PhotoGenerator()
    world = generator.prepare(photo, GeneratorOptions())
    again = generator.generate(world, key)
    assert first.splats.positions.tobytes() == again.splats.positions.tobytes()
    assert first.splats.colors.tobytes() == again.splats.colors.tobytes()
    # Something stands: splats well above the ground.
    assert (first.splats.positions[:, 1] > 4.0).sum() > 500


def test_what_stands_in_the_photos_view_hides_behind_its_backdrop():
    """Seen from the spawn, every building and tree splat in the photo's frame stands farther out
    than the lifted photo reaches in its column, and below its skyline (the first view stays the
    photo; the photo's own geometry hides it), while the wedge ahead
    is not left empty: houses there are lowered to fit, not dropped."""
    from bridge.generate.photo import generator as photo_generator

    generator = PhotoGenerator()
    world = generator.prepare(load_photo("lyra2_06"), GeneratorOptions())
    state = generator._state(world, photo_generator._fingerprint(world))
    camera = state.spawn_view.camera
    k = camera.intrinsics
    in_frame_count = 0
    for ix in range(-4, 4):
        for iz in range(-12, -3):
            splats = photo_generator._layout_splats(state, TileKey(2, ix, iz), None)  # 32 m tiles, unsteered
            uv, depth = camera.project(splats.positions.astype(np.float64))
            inside = (depth > 0) & (uv[:, 0] >= 0) & (uv[:, 0] < k.width) & (uv[:, 1] >= 0) & (uv[:, 1] < k.height)
            if not inside.any():
                continue
            in_frame_count += int(inside.sum())
            columns = np.clip(uv[inside, 0].astype(np.int64), 0, k.width - 1)
            assert (uv[inside, 1] >= state.spawn_view.skyline[columns] - 1.0).all()
            ground = np.hypot(
                splats.positions[inside, 0] - camera.position[0], splats.positions[inside, 2] - camera.position[2]
            )
            assert (ground > state.spawn_view.backdrop_m[columns]).all()
    assert in_frame_count > 1000, "the wedge beyond the backdrop holds houses"


FINEST_TILE_M = 8.0  # the default LOD-0 edge: what a viewer within a few tens of metres holds
PAVEMENT_M = 4.0  # a walker down the middle of a street of the photo's width sees its fronts from here


def test_a_street_front_seen_from_the_pavement_keeps_its_windows(town) -> None:
    """The finest tiles lay the street front's splats close enough to show the facade it wears:
    rendered from 4 m, the front keeps most of the sharpness of its dressing (0.75 of it on
    lyra2_06). With 15 cm splats (until 0.9.1) its windows and timbers were a blur at 0.47."""
    reading, rules = town
    sources = [FacadeSource.of(sample) for sample in reading.facades]

    buildings = buildings_in(rules, (-200.0, -600.0, 200.0, -300.0))
    one = buildings.subset(np.array([int(np.argmax(buildings.frontage * buildings.height))]))
    detail = FINEST_TILE_M / REFERENCE_EDGE_M
    cloud = building_splats(one, np.zeros(1), detail, sources, reading.roof_colour)

    front = _walls(one, np.zeros(1))  # surface 0: the street front
    centre, tangent, normal = front.centre[0], front.tangent[0], front.normal[0]
    eye = centre + normal * PAVEMENT_M + np.array([0.0, 1.7, 0.0])
    camera = Camera.looking(eye, -normal, Intrinsics.from_vertical_fov(45.0, 320, 200))
    seen = render(cloud, camera, (0.6, 0.7, 0.8)).image

    # The dressing itself, read per pixel where each ray meets the front's plane.
    rays = camera.pixel_rays().reshape(-1, 3)
    t = PAVEMENT_M / (rays @ -normal)
    hits = eye + rays * t[:, None] - centre
    s = hits @ tangent + front.width[0] / 2
    y = hits[:, 1]
    on_wall = (s > 0) & (s < front.width[0]) & (y > 0) & (y < front.height[0])
    assert on_wall.mean() > 0.95, "the view is filled by the street front"
    n = s.size
    dressing = facade_colours(
        sources[int(np.mod(one.ident[0], len(sources)))],
        s,
        y,
        np.full(n, front.width[0]),
        np.full(n, one.ident[0]),
        np.zeros(n, np.int64),
        0.0,
    ).reshape(seen.shape)
    assert sharpness(seen) >= 0.6 * sharpness(dressing)


def test_a_house_lowered_under_the_skyline_keeps_a_roof(town) -> None:
    """A house in the photo's view is lowered until it hides behind the photo's geometry. With its
    roof cut flat it stood 40-100 m ahead of lyra2_06's spawn as a slab, a storey high beside the
    street; lowered now, it keeps a gable no flatter than LOWEST_PITCH_DEG within its room, or is
    not built at all."""
    from bridge.generate.photo.layout import LOWEST_PITCH_DEG, PLINTH_M

    _, rules = town
    houses = buildings_in(rules, (-60.0, -160.0, 60.0, 0.0))
    gabled = houses.roof_m > 0
    assert gabled.sum() > 20
    full = houses.height + houses.roof_m
    room = full * np.linspace(0.2, 0.95, len(houses))  # every house must come down
    lowered = houses.lowered_to(room)
    standing = lowered.height > 0
    assert standing.sum() > 10 and (~standing).sum() > 0
    top = lowered.height + lowered.roof_m
    assert (top[standing] <= room[standing] + 1e-9).all()
    # Whole storeys under a roof that was one keeps one, no flatter than the lowest pitch.
    assert (lowered.roof_m[standing & gabled] > 0).all()
    pitch = np.degrees(np.arctan2(lowered.roof_m, lowered.depth / 2))
    assert (pitch[standing & gabled] >= LOWEST_PITCH_DEG - 1e-6).all()
    assert (lowered.roof_m <= houses.roof_m + 1e-9).all()
    storeys = (lowered.height[standing] - PLINTH_M) / lowered.storey_m
    assert np.allclose(storeys, np.round(storeys)) and (storeys >= 1).all()
    # Where it fits, a house is not touched.
    untouched = houses.lowered_to(full + 0.1)
    assert np.array_equal(untouched.height, houses.height) and np.array_equal(untouched.roof_m, houses.roof_m)
