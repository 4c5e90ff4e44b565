"""Placed structures as a person sees them, on real sample photos: from the spawn, a gothic church
40 m ahead shows its pointed spire (the highest thing it adds to the view, inside the frame) and a
red, tiled roof; it stands on the ground; it clears its own plan, not a circle round it (the
photo's tower in front of it stays); and from above, a bridge leaves no blank around or under it."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image
from scipy import ndimage

from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions
from bridge.generate.directives.apply import generate_directed
from bridge.generate.photo import PhotoGenerator
from bridge.render.rasterize import render
from bridge.render.sky import sky_background
from bridge.world.camera import Camera, Intrinsics
from bridge.world.directives import parse_directive
from bridge.world.keys import TileKey, tile_at
from bridge.world.photos import decode_photo
from tests.conftest import photo_path

LOD = 1  # 16 m tiles: what a viewer holds 40 m out, and a quarter of the splats of LOD 0
CHURCH = "a gothic church with a red roof"


def red(image: np.ndarray) -> np.ndarray:
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    return (r > 0.3) & (r > 1.8 * g) & (r > 1.8 * b)


def world_of(name: str) -> tuple[PhotoGenerator, object]:
    image = Image.open(photo_path(name)).convert("RGB").resize((480, 300))
    out = io.BytesIO()
    image.save(out, format="PNG")
    generator = PhotoGenerator()
    return generator, generator.prepare(decode_photo(out.getvalue()), GeneratorOptions())


def ahead(world: object, metres: float) -> tuple[float, float]:
    spawn = world.spawn  # type: ignore[attr-defined]
    x, _, z = (float(v) for v in spawn.position)
    heading = math.atan2(float(spawn.forward[0]), -float(spawn.forward[2]))
    return x + metres * math.sin(heading), z - metres * math.cos(heading)


def tiles(generator: PhotoGenerator, world: object, directives: list, box: tuple[float, ...]) -> SplatCloud:
    a, b = tile_at(box[0], box[1], LOD, 8.0), tile_at(box[2], box[3], LOD, 8.0)
    keys = [TileKey(LOD, ix, iz) for iz in range(a.iz, b.iz + 1) for ix in range(a.ix, b.ix + 1)]
    return SplatCloud.concat([generate_directed(generator, world, k, directives).splats for k in keys])


def added_to(before: SplatCloud, after: SplatCloud) -> np.ndarray:
    """Positions in ``after`` that ``before`` did not hold."""
    old = {row.tobytes() for row in before.positions}
    return after.positions[[row.tobytes() not in old for row in after.positions]].astype(np.float64)


def church_scene(name: str) -> dict:
    """A sample world with the church 40 m ahead, before and after, seen from the spawn (160 px wide)."""
    generator, world = world_of(name)
    cx, cz = ahead(world, 40)
    church = parse_directive(
        {"kind": "place", "region": {"circle": {"center": [cx, cz], "radius": 14}}, "structure": CHURCH}
    )
    box = (cx - 32, cz - 24, cx + 32, 0.0)
    before, after = tiles(generator, world, [], box), tiles(generator, world, [church], box)
    k = world.spawn.intrinsics
    camera = world.spawn.with_intrinsics(k.scaled(160, round(k.height * 160 / k.width)))
    background = sky_background(world.sky.panorama, camera)
    return {
        "generator": generator,
        "world": world,
        "centre": (cx, cz),
        "before": before,
        "after": after,
        "camera": camera,
        "seen_before": render(before, camera, background).image,
        "seen_after": render(after, camera, background).image,
    }


@pytest.fixture(scope="module")
def town() -> dict:
    return church_scene("lyra2_06")


@pytest.mark.slow
def test_the_churchs_spire_is_the_highest_thing_it_adds_pointed_and_inside_the_frame(town: dict) -> None:
    before, after = town["seen_before"], town["seen_after"]
    changed = np.abs(after - before).max(axis=2) > 0.08
    labels, count = ndimage.label(changed)
    sizes = ndimage.sum(changed, labels, range(1, count + 1))
    church = np.isin(labels, 1 + np.flatnonzero(sizes >= 12))  # specks from cleared edges aside
    rows = np.flatnonzero(church.any(axis=1))
    top = int(rows.min())
    assert top > 0, "the spire runs out of the frame"
    # A point: one or two pixels wide at its top, widening downwards, in the roof's red.
    widths = [int(church[r].sum()) for r in range(top, top + 6)]
    assert widths[0] <= 3 and widths[5] >= widths[0] + 3, f"not a point: widths {widths}"
    tip = after[top : top + 4][church[top : top + 4]]
    assert red(tip[None]).mean() > 0.5, f"the spire is not the roof's red: {tip.round(2).tolist()}"
    # The spire stands well above everything else the church adds (its tower rises past the ridge):
    # the next highest columns, a spire's width away, reach no higher than a few pixels under it.
    column_tops = np.where(church.any(axis=0), np.argmax(church, axis=0), after.shape[0])
    peak = int(np.argmin(column_tops))
    elsewhere = np.abs(np.arange(len(column_tops)) - peak) > 12
    assert column_tops[elsewhere].min() - top >= 6, "the spire does not stand clear of the roof"


@pytest.mark.slow
def test_the_churchs_roof_turns_a_share_of_the_view_red(town: dict) -> None:
    new_red = red(town["seen_after"]) & ~red(town["seen_before"])
    assert new_red.mean() > 0.02, f"only {new_red.mean():.3%} of the view turned red"
    rows = np.flatnonzero(new_red.any(axis=1))
    assert rows.max() < town["camera"].intrinsics.height * 0.75  # the roof is up, not a red patch on the ground


@pytest.mark.slow
def test_the_church_clears_its_plan_not_the_photos_tower_in_front_of_it(town: dict) -> None:
    # lyra2_06's own tower stands 31-34 m out, in front of the church's east end: it stays whole.
    def tower(cloud: SplatCloud) -> int:
        p = cloud.positions
        return int(np.count_nonzero((p[:, 1] > 8) & (np.abs(p[:, 0]) < 4) & (p[:, 2] > -34.5) & (p[:, 2] < -30)))

    assert tower(town["before"]) > 300
    assert tower(town["after"]) == tower(town["before"])


@pytest.mark.slow
def test_the_church_stands_on_the_ground_on_a_plinth(town: dict) -> None:
    generator, world = town["generator"], town["world"]
    added = added_to(town["before"], town["after"])
    ground = generator.ground_height(world, added[:, 0], added[:, 2])
    above = added[:, 1] - ground
    assert above.min() > -1.0, "sunk into the ground"
    # Something the church adds meets the ground all round it: every 3 m cell along its outline
    # that holds any of it holds some within a few decimetres of the ground.
    cx, cz = town["centre"]
    near = np.hypot(added[:, 0] - cx, added[:, 2] - cz) < 14
    standing = added[near & (above > 0.5) & (above < 4)]
    cells = {(int(px // 3), int(pz // 3)) for px, pz in standing[:, [0, 2]]}
    low = added[near & (np.abs(above) < 0.35)]
    met = {(int(px // 3), int(pz // 3)) for px, pz in low[:, [0, 2]]}
    assert len(cells) > 12 and len(cells - met) <= 0.1 * len(cells), f"walls off the ground in {cells - met}"


@pytest.mark.slow
def test_in_the_desert_the_church_shows_its_red_roof_with_its_spire_inside_the_frame() -> None:
    desert = church_scene("lyra2_09")
    new_red = red(desert["seen_after"]) & ~red(desert["seen_before"])
    assert new_red.mean() > 0.01, f"only {new_red.mean():.3%} of the view turned red"
    camera = desert["camera"]
    added = added_to(desert["before"], desert["after"])
    tip = added[np.argmax(added[:, 1])]
    (u, v), depth = camera.project(tip[None])[0][0], camera.project(tip[None])[1][0]
    assert depth > 0 and 0 <= u < camera.intrinsics.width and 2 <= v < camera.intrinsics.height


@pytest.mark.slow
def test_a_bridge_leaves_no_blank_under_or_around_it_seen_from_above() -> None:
    generator, world = world_of("lyra2_09")
    cx, cz = ahead(world, 26)
    bridge = parse_directive(
        {
            "kind": "place",
            "region": {"circle": {"center": [cx, cz], "radius": 12}},
            "structure": "a wooden bridge",
            "facing_deg": 90,
        }
    )
    box = (cx - 16, cz - 16, cx + 16, cz + 16)
    before, after = tiles(generator, world, [], box), tiles(generator, world, [bridge], box)
    # Cleared fully: under the deck's plan nothing is left but the bridge and the world's ground,
    # lying on the surface (the photo's lifted splats, its ground among them, are gone).
    p = after.positions.astype(np.float64)
    plan = (np.abs(p[:, 0] - cx) < 10) & (np.abs(p[:, 2] - cz) < 1.6)
    old = {row.tobytes() for row in before.positions}
    kept = np.array([row.tobytes() in old for row in after.positions[plan]])
    ground = generator.ground_height(world, p[plan, 0], p[plan, 2])
    on_ground = np.abs(p[plan, 1] - ground) < 0.02
    assert on_ground.sum() > 50
    assert not (kept & ~on_ground).any(), f"{(kept & ~on_ground).sum()} of the photo's splats left under the bridge"
    # Seen from 40 m above: the deck, and ground all round and under it, no background.
    k = Intrinsics.from_vertical_fov(40, 120, 120)
    top = Camera.looking((cx, 40.0, cz), (0.0, -1.0, 1e-4), k, up=(0.0, 0.0, -1.0))
    magenta = np.zeros((120, 120, 3), np.float32)
    magenta[..., [0, 2]] = 1.0
    seen = render(after, top, magenta).image
    blank = (seen[..., 0] > 0.9) & (seen[..., 1] < 0.1) & (seen[..., 2] > 0.9)
    assert not blank.any(), f"{blank.sum()} blank pixels"
    changed = np.abs(seen - render(before, top, magenta).image).max(axis=2) > 0.05
    assert changed[56:64, 25:95].mean() > 0.7, "the deck is not seen from above"
