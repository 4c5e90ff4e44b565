"""Layout directives steer the layout grammar's own plan, on the town of a real sample photo
(lyra2_06): a street along a line is clear and lined with houses on both sides to its far end; "no
buildings" leaves nothing standing in its region and no cut-off half house at its edge; water
lies in a body with a quay round it; a forest plants trees at its density, off walls and streets;
every tile whose content changes is one the directive touches (its stamp), tiles across borders
agree, and the same directives give the same bytes."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.formats.splats import SplatCloud
from bridge.generate.directives.apply import generate_directed
from bridge.generate.photo import PhotoGenerator
from bridge.generate.photo.generator import _fingerprint
from bridge.generate.photo.layout import QUAY_M, Buildings, buildings_in
from bridge.generate.photo.steering import Steering, _footprint_samples
from bridge.world.directives import DirectiveState, LogEntry, parse_directive
from bridge.world.keys import TileKey, tile_at
from tests.generate.test_directive_views import world_of

LOD = 1  # 16 m tiles
STREET = {"kind": "layout", "region": {"polyline": {"points": [[24, 40], [24, 240]], "width": 10}}, "street": True}
UNBUILT = {"kind": "layout", "region": {"circle": {"center": [20, 100], "radius": 16}}, "buildings": False}
WATER = {"kind": "layout", "region": {"circle": {"center": [80, 150], "radius": 14}}, "water": True}


@pytest.fixture(scope="module")
def town() -> tuple[PhotoGenerator, object]:
    return world_of("lyra2_06")


def keys_over(box: tuple[float, float, float, float], lod: int = LOD) -> list[TileKey]:
    a, b = tile_at(box[0], box[1], lod, 8.0), tile_at(box[2], box[3], lod, 8.0)
    return [TileKey(lod, ix, iz) for iz in range(a.iz, b.iz + 1) for ix in range(a.ix, b.ix + 1)]


def cloud(town: tuple, directives: list[dict], box: tuple[float, float, float, float]) -> np.ndarray:
    """Positions in the tiles over ``box``, their Y as height above the world's terrain."""
    generator, world = town
    parsed = [parse_directive(d) for d in directives]
    tiles = [generate_directed(generator, world, k, parsed).splats for k in keys_over(box)]
    p = SplatCloud.concat(tiles).positions.astype(np.float64)
    p[:, 1] -= generator.ground_height(world, p[:, 0], p[:, 2])
    return p


def standing(points: np.ndarray, above_m: float) -> np.ndarray:
    return points[points[:, 1] > above_m]


def test_a_street_is_clear_and_lined_with_houses_to_its_far_end(town: tuple) -> None:
    generator, world = town
    half = generator._state(world, _fingerprint(world)).layout.street_width_m / 2
    box = (0.0, 192.0, 48.0, 248.0)
    after = cloud(town, [STREET], box)
    up = standing(after, 1.0)
    far = (up[:, 2] > 200) & (up[:, 2] < 240)
    assert not np.any(far & (np.abs(up[:, 0] - 24) < half - 0.3)), "something stands on the street"
    # The road surface: ground splats under every metre of it.
    far_end = (after[:, 2] > 200) & (after[:, 2] < 240)
    ground = after[(np.abs(after[:, 1]) < 0.3) & (np.abs(after[:, 0] - 24) < half) & far_end]
    cells = {(int(np.floor(x)), int(np.floor(z))) for x, _, z in ground}
    assert len(cells) >= 0.98 * (2 * half) * 40
    # Houses' front walls at both kerbs, over most of the far end (the grammar leaves a courtyard there).
    walls = standing(after, 2.0)
    for lo, hi in ((24 - half - 1.2, 24 - half), (24 + half, 24 + half + 1.2)):
        at = walls[(walls[:, 0] > lo) & (walls[:, 0] < hi) & (walls[:, 2] > 200) & (walls[:, 2] < 240)]
        bins = np.unique(np.floor(at[:, 2]))
        assert bins.size >= 0.8 * 40, f"kerb {lo:.1f}..{hi:.1f} m lined over {bins.size} of 40 m"
    again = generate_directed(PhotoGenerator(), world, TileKey(LOD, 1, 13), [parse_directive(STREET)])
    first = generate_directed(generator, world, TileKey(LOD, 1, 13), [parse_directive(STREET)])
    assert again.splats.positions.tobytes() == first.splats.positions.tobytes()


def _footprints(b: Buildings) -> tuple[np.ndarray, np.ndarray]:
    return _footprint_samples(b.x, b.z, b.facing, b.frontage, b.depth)


@pytest.mark.parametrize(("directive", "reach"), [(UNBUILT, 0.0), (WATER, QUAY_M)])
def test_cleared_regions_keep_or_drop_whole_houses(town: tuple, directive: dict, reach: float) -> None:
    generator, world = town
    rules = generator._state(world, _fingerprint(world)).layout
    region = parse_directive(directive).region
    cx, cz = region.centre()
    box = (cx - 48, cz - 48, cx + 48, cz + 48)
    plain = buildings_in(rules, box)
    px, pz = _footprints(plain)
    distance = region.distance(px, pz)
    crossing = plain.subset((distance.min(axis=1) <= reach) & (distance.max(axis=1) > reach + 1))
    assert len(crossing) >= 2, "the region should cut across houses"
    after = standing(cloud(town, [directive], box), 1.0)
    inside = region.distance(after[:, 0], after[:, 2]) <= reach
    assert not inside.any(), f"{int(inside.sum())} splats stand in the region"
    # Each house the region's edge crosses is gone whole: nothing stands on its plan outside it.
    for i in range(len(crossing)):
        one = crossing.subset(np.array([i]))
        fx, fz = one.facing[0]
        dx, dz = after[:, 0] - one.x[0], after[:, 2] - one.z[0]
        on_plan = (np.abs(dx * fx + dz * fz) < one.depth[0] / 2 - 0.3) & (
            np.abs(dx * fz - dz * fx) < one.frontage[0] / 2 - 0.3
        )
        assert not on_plan.any(), f"half a house left at ({one.x[0]:.0f}, {one.z[0]:.0f})"


def test_water_lies_below_its_quay_in_water_colours(town: tuple) -> None:
    generator, world = town
    cx, cz = 80.0, 150.0
    box = (66.0, 136.0, 94.0, 164.0)
    water = [parse_directive(WATER)]
    splats = SplatCloud.concat([generate_directed(generator, world, k, water).splats for k in keys_over(box)])
    p = splats.positions.astype(np.float64)
    p[:, 1] -= generator.ground_height(world, p[:, 0], p[:, 2])
    r = np.hypot(p[:, 0] - cx, p[:, 2] - cz)
    wet, quay = r < 10, (r > 14.5 + 2.5) & (r < 14 + QUAY_M)
    blue = splats.colors[wet]
    assert np.mean(blue[:, 2] > blue[:, 0]) > 0.95
    assert p[wet, 1].max() < -0.5 < 0.0 <= p[quay, 1].min() + 0.05


def test_forest_plants_its_density_off_walls_and_streets(town: tuple) -> None:
    generator, world = town
    rules = generator._state(world, _fingerprint(world)).layout
    square = [[-120, 40], [120, 40], [120, 280], [-120, 280]]
    counts = {}
    for density in (0.3, 1.0):
        d = parse_directive({"kind": "layout", "region": {"polygon": square}, "forest": density})
        steer = Steering.of([d], rules)
        trees = steer.trees((-120.0, 40.0, 120.0, 280.0))
        counts[density] = len(trees)
        houses = steer.buildings((-160.0, 0.0, 160.0, 320.0))
        dx, dz = trees.x[:, None] - houses.x[None], trees.z[:, None] - houses.z[None]
        fx, fz = houses.facing[None, :, 0], houses.facing[None, :, 1]
        in_house = (np.abs(dx * fx + dz * fz) < houses.depth / 2) & (np.abs(dx * fz - dz * fx) < houses.frontage / 2)
        assert not in_house.any(), "a tree stands in a house"
    assert counts[1.0] > 40
    assert 0.2 < counts[0.3] / counts[1.0] < 0.4


def test_every_changed_tile_is_touched(town: tuple) -> None:
    """Tiles whose bytes change are exactly ones the directive touches, including those just
    outside the region whose houses reached into it; the rest keep their bytes."""
    generator, world = town
    directive = parse_directive(UNBUILT)
    state = DirectiveState(8.0, [LogEntry(1, "apply", 1, directive, 0)])
    changed, touched = 0, 0
    outside_changed = 0
    for key in keys_over((-40.0, 40.0, 80.0, 160.0)):
        plain = generator.generate(world, key).splats.positions.tobytes()
        stamp, found = state.effective(key)
        now = generate_directed(generator, world, key, [d for _, d in found]).splats.positions.tobytes()
        if now != plain:
            changed += 1
            assert stamp != 0, f"{key} changed but is not touched"
            x0, z0, x1, z1 = key.bounds(8.0)
            corners = directive.region.distance(np.array([x0, x1, x0, x1]), np.array([z0, z0, z1, z1]))
            outside_changed += int(corners.min() > 0 and directive.region.distance((x0 + x1) / 2, (z0 + z1) / 2) > 8)
        touched += stamp != 0
    assert changed >= 5 and outside_changed >= 1 and touched >= changed


def test_a_steered_street_beside_a_wide_street_is_lined_on_both_sides(town: tuple) -> None:
    """With the photo's street 13.5 m wide (lyra2_06 read under a lower horizon), a steered street
    24 m to its side leaves less room than a deep house needs between its kerb and the photo's
    street: that side of it stood empty. Houses as shallow as a house may be, or single bays
    where a cross street meets the row, line it now, on both kerbs over most of its length."""
    from dataclasses import replace

    from bridge.generate.photo.steering import Steering

    generator, world = town
    rules = replace(generator._state(world, _fingerprint(world)).layout, street_width_m=13.5)
    steering = Steering.of([parse_directive(STREET)], rules)
    houses = steering.buildings((0.0, 100.0, 48.0, 240.0))
    half = rules.street_width_m / 2
    px, pz = _footprints(houses)
    for side in (-1, 1):
        kerb = 24 + side * half
        fronts = np.abs(px - kerb).min(axis=1) < 0.5  # a footprint with its front on this kerb
        covered = np.zeros(140, dtype=bool)  # 1 m steps from z = 100 to 240
        for i in np.flatnonzero(fronts):
            lo, hi = np.floor(pz[i].min()) - 100, np.ceil(pz[i].max()) - 100
            covered[int(max(lo, 0)) : int(min(hi, 140))] = True
        assert covered.mean() > 0.8, (side, covered.mean())
