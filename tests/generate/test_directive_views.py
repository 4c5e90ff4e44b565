"""Placed structures as a person sees them: rendered from a sample world's spawn, the church's
red roof shows, pointed (its spire inside the frame), and it stands on the ground (no gap under
its walls, no sinking)."""

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
from bridge.world.directives import parse_directive
from bridge.world.keys import TileKey, tile_at
from bridge.world.photos import decode_photo
from tests.conftest import photo_path

LOD = 1  # 16 m tiles: what a viewer holds 40 m out, and a quarter of the splats of LOD 0


def red(image: np.ndarray) -> np.ndarray:
    r, g, b = image[..., 0], image[..., 1], image[..., 2]
    return (r > 0.35) & (r > 1.8 * g) & (r > 1.8 * b)


@pytest.mark.slow
def test_a_gothic_church_40_m_ahead_shows_its_red_pointed_roof_and_stands_on_the_ground() -> None:
    image = Image.open(photo_path("lyra2_09")).convert("RGB").resize((480, 300))
    out = io.BytesIO()
    image.save(out, format="PNG")
    generator = PhotoGenerator()
    world = generator.prepare(decode_photo(out.getvalue()), GeneratorOptions())
    spawn = world.spawn
    x, _, z = (float(v) for v in spawn.position)
    f = spawn.forward
    heading = math.atan2(float(f[0]), -float(f[2]))
    cx, cz = x + 40 * math.sin(heading), z - 40 * math.cos(heading)
    church = parse_directive(
        {
            "kind": "place",
            "region": {"circle": {"center": [cx, cz], "radius": 14}},
            "structure": "a gothic church with a red roof",
        }
    )
    a, b = tile_at(cx - 32, cz - 24, LOD, 8.0), tile_at(cx + 32, z, LOD, 8.0)
    keys = [TileKey(LOD, ix, iz) for iz in range(a.iz, b.iz + 1) for ix in range(a.ix, b.ix + 1)]
    before = SplatCloud.concat([generator.generate(world, k).splats for k in keys])
    after = SplatCloud.concat([generate_directed(generator, world, k, [church]).splats for k in keys])
    k = spawn.intrinsics
    camera = spawn.with_intrinsics(k.scaled(160, round(k.height * 160 / k.width)))
    background = sky_background(world.sky.panorama, camera)
    seen_before = render(before, camera, background).image
    seen_after = render(after, camera, background).image
    new_red = red(seen_after) & ~red(seen_before)
    assert new_red.mean() > 0.02, f"only {new_red.mean():.3%} of the view turned red"
    rows = np.flatnonzero(new_red.any(axis=1))
    assert rows.max() < camera.intrinsics.height * 0.75  # the roof is up, not a red patch on the ground
    # Pointed: the church's red (the largest red patch: clearing the photo's standing splats can
    # bare a few reddish pixels of what stood behind) has a top edge rising to a narrow peak, the
    # spire, well above the rest of it, and inside the frame (not cut by its top edge).
    labels, count = ndimage.label(new_red)
    church_red = labels == 1 + int(np.argmax(ndimage.sum(new_red, labels, range(1, count + 1))))
    columns = np.flatnonzero(church_red.any(axis=0))
    tops = np.array([np.flatnonzero(church_red[:, c]).min() for c in columns])
    peak = int(tops.min())
    assert peak > 0, "the spire runs out of the frame"
    assert np.median(tops) - peak >= 5, f"no peak above the roof: tops {tops.tolist()}"
    assert np.count_nonzero(tops <= peak + 1) <= 0.2 * len(columns), f"a flat top, not a point: {tops.tolist()}"

    # On the ground: the walls reach down to it everywhere along the front, and no lower than the
    # lowest ground under the footprint (less the sink that closes gaps on slopes).
    old = {row.tobytes() for row in before.positions}
    added = after.positions[[row.tobytes() not in old for row in after.positions]].astype(np.float64)
    ground = generator.ground_height(world, added[:, 0], added[:, 2])
    above = added[:, 1] - ground
    assert above.min() > -0.6, "sunk into the ground"
    near = np.hypot(added[:, 0] - cx, added[:, 2] - cz) < 12
    low = above[near] < 0.4
    cells = {(int(px // 3), int(pz // 3)) for px, pz in added[near][low][:, [0, 2]]}
    assert len(cells) > 8, "no walls meet the ground"
