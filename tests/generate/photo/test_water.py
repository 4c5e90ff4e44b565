"""Water goes on where the photo has it: a canal ahead between quays, or a waterfront to one side
with the sea beyond the quay; on the land no water patches, in the water no houses."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.generate.photo import generator as photo_generator
from bridge.generate.photo.generator import ground_per_edge
from bridge.generate.photo.layout import QUAY_M, Water, buildings_in, water_at
from bridge.world.keys import TileKey
from tests.generate.photo.test_layout import load_photo


def _world(name: str):
    generator = PhotoGenerator()
    world = generator.prepare(load_photo(name), GeneratorOptions())
    return generator, world, generator._state(world, photo_generator._fingerprint(world))


PATCH_SPLATS = 5  # a water patch is metres across, a deck's gap between planks a few centimetres


def _ground_far_ahead(generator, world, state) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, z, nearest material) of the ground splats of LOD-0 tiles 0.5-1.5 km down the photo's
    street, each judged by the mean colour round it (PATCH_SPLATS across, 0.4 m): what is asked
    is whether patches of ground look like water, not whether a plank's dark gap does."""
    hx, hz = state.layout.heading
    xs, zs, nearest = [], [], []
    means = np.array([e.mean for e in state.exemplars])
    for along in np.arange(500.0, 1500.0, 250.0):
        for across in (-16.0, 0.0, 16.0):  # the tiles on, and either side of, the street
            x = world.spawn.position[0] + along * hx - across * hz
            z = world.spawn.position[2] + along * hz + across * hx
            key = TileKey(0, int(np.floor(x / world.options.base_tile_m)), int(np.floor(z / world.options.base_tile_m)))
            n = ground_per_edge(key)
            ground = generator.generate(world, key).splats.subset(np.arange(n**2))
            xs.append(ground.positions[:, 0])
            zs.append(ground.positions[:, 2])
            around = ndimage.uniform_filter(ground.colors.reshape(n, n, 3), (PATCH_SPLATS, PATCH_SPLATS, 1))
            nearest.append(np.argmin(((around.reshape(-1, 1, 3) - means[None]) ** 2).sum(axis=2), axis=1))
    return np.concatenate(xs), np.concatenate(zs), np.concatenate(nearest)


@pytest.mark.parametrize(("photo", "expected"), [("lyra2_05", Water.CANAL), ("lyra2_00", Water.RIGHT)])
def test_the_photos_water_goes_on_and_stays_water(photo: str, expected: Water) -> None:
    """lyra2_05's stream runs ahead (a canal between snowy quays); lyra2_00's harbour lies to the
    right of its quay (the sea beyond it). Far down the street the water is still water-coloured
    ground where the layout has it, the land beside it is not, and no house stands in it."""
    generator, world, state = _world(photo)
    assert state.layout.water == expected
    water = state.water_material
    assert water is not None
    x, z, nearest = _ground_far_ahead(generator, world, state)
    wet = water_at(state.layout, x, z)
    assert wet.sum() > 1000 and (~wet).sum() > 1000
    # (lyra2_05's water carries white ice floes, nearer the snow's colour.)
    assert np.mean(nearest[wet] == water) > 0.75, "the water stays water"
    # The water's patches on the land took 28-44 % of it; a deck's dark gaps between its planks,
    # judged one by one, were 17-24 % nearest the water's colour, and round them 0-1 %.
    assert np.mean(nearest[~wet] == water) < 0.15, "the land has no water patches"
    if expected == Water.CANAL:
        # Quays either side: land between the canal and the houses.
        _, across = _frame(state.layout, x, z)
        half = state.layout.street_width_m / 2
        quay = (np.abs(across) > half - QUAY_M + 0.5) & (np.abs(across) < half - 0.5)
        assert quay.sum() > 100 and not wet[quay].any()
    hx, hz = state.layout.heading
    sx, sz = world.spawn.position[0] + 1000 * hx, world.spawn.position[2] + 1000 * hz
    houses = buildings_in(state.layout, (sx - 300, sz - 300, sx + 300, sz + 300))
    assert len(houses) > 20, "the town goes on beside the water"
    corners = [(houses.x + dx * houses.depth / 2, houses.z + dz * houses.depth / 2) for dx in (-1, 1) for dz in (-1, 1)]
    assert not any(water_at(state.layout, cx, cz).any() for cx, cz in corners), "no house stands in the water"


def test_a_town_without_water_has_none() -> None:
    """lyra2_06's square shows no water: its layout has none, and its streets are paved as before."""
    _, _, state = _world("lyra2_06")
    assert state.layout.water == Water.NONE
    assert not water_at(state.layout, np.linspace(-2000, 2000, 50), np.linspace(-2000, 2000, 50)).any()


def _frame(rules, x, z):
    from bridge.generate.photo.layout import _to_frame

    return _to_frame(rules, x, z)
