"""Tile keys and LOD arithmetic."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bridge.world.keys import MAX_LOD, TileKey, tile_at, tiles_in_radius

lods = st.integers(0, 10)
indices = st.integers(-(10**6), 10**6)
coords = st.floats(-1e5, 1e5, allow_nan=False)


@given(lods.filter(lambda v: v > 0), indices, indices)
def test_children_tile_their_parent_exactly(lod: int, ix: int, iz: int) -> None:
    key = TileKey(lod, ix, iz)
    children = key.children()
    assert all(c.parent() == key for c in children)
    x0, z0, x1, z1 = key.bounds(32.0)
    boxes = [c.bounds(32.0) for c in children]
    assert min(b[0] for b in boxes) == x0 and max(b[2] for b in boxes) == x1
    assert min(b[1] for b in boxes) == z0 and max(b[3] for b in boxes) == z1
    assert math.isclose(sum((b[2] - b[0]) * (b[3] - b[1]) for b in boxes), (x1 - x0) * (z1 - z0))


@given(coords, coords, lods)
def test_point_lies_in_its_tile_and_in_its_tiles_ancestors(x: float, z: float, lod: int) -> None:
    key = tile_at(x, z, lod, 32.0)
    x0, z0, x1, z1 = key.bounds(32.0)
    assert x0 <= x < x1 and z0 <= z < z1
    coarser = tile_at(x, z, min(lod + 3, MAX_LOD), 32.0)
    assert key.ancestor(coarser.lod) == coarser


@given(coords, coords, st.floats(0, 300), st.integers(0, 4))
def test_tiles_in_radius_are_exactly_those_within_reach(x: float, z: float, radius: float, lod: int) -> None:
    found = set(tiles_in_radius(x, z, radius, lod, 32.0))
    assert tile_at(x, z, lod, 32.0) in found
    assert all(k.distance_m(x, z, 32.0) <= radius for k in found)
    # One ring further out: anything not found must be out of reach.
    edge = 32.0 * 2**lod
    reach = math.ceil(radius / edge) + 1
    centre = tile_at(x, z, lod, 32.0)
    for ix in range(centre.ix - reach, centre.ix + reach + 1):
        for iz in range(centre.iz - reach, centre.iz + reach + 1):
            key = TileKey(lod, ix, iz)
            if key not in found:
                assert key.distance_m(x, z, 32.0) > radius


def test_negative_indices_floor_towards_minus_infinity() -> None:
    assert tile_at(-0.5, -0.5, 0, 32.0) == TileKey(0, -1, -1)
    assert TileKey(0, -1, -1).parent() == TileKey(1, -1, -1)
    assert TileKey(0, -3, 2).ancestor(2) == TileKey(2, -1, 0)


@pytest.mark.parametrize("text", ["", "1,2", "a,b,c", "1,2,3,4", "-1,0,0", "99,0,0", "0,1e3,0"])
def test_parse_rejects_malformed_keys(text: str) -> None:
    with pytest.raises(ValueError):
        TileKey.parse(text)


def test_parse_round_trips() -> None:
    assert TileKey.parse(str(TileKey(3, -7, 12))) == TileKey(3, -7, 12)


def test_lod0_has_no_children_and_radius_must_be_finite() -> None:
    with pytest.raises(ValueError):
        TileKey(0, 0, 0).children()
    with pytest.raises(ValueError):
        list(tiles_in_radius(0, 0, float("nan"), 0, 32.0))
