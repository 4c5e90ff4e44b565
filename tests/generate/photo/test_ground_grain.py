"""The lifted photo's far ground split into grained rows: no streaks walking in, the photo at the spawn."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions
from bridge.generate.photo.analysis import PhotoAnalysis, analyse
from bridge.generate.photo.generator import GRAIN_MAX_CORRECTION, PhotoGenerator, ground_per_edge
from bridge.generate.photo.ground_grain import long_ground, split_rows
from bridge.generate.photo.lift import lift
from bridge.generate.photo.materials import exemplar_source, pick_materials
from bridge.generate.photo.texture import Exemplar, build_exemplar
from bridge.render.images import psnr
from bridge.render.rasterize import render
from bridge.world.keys import TileKey
from bridge.world.photos import decode_photo
from tests.conftest import photo_path

TILE_M = 8.0
TARGET = TILE_M / 96  # the finest continuation ground's sigma
LUMA = np.array([0.2126, 0.7152, 0.0722])


@pytest.fixture(scope="module")
def harbour() -> tuple[PhotoAnalysis, SplatCloud, tuple[Exemplar, ...]]:
    """lyra2_00: a quay and a harbour's water seen out to the lift's edge, lifted in its own colours."""
    photo = decode_photo(photo_path("lyra2_00").read_bytes())
    analysis = analyse(photo, 96.0)
    materials = pick_materials(analysis, exemplar_source(photo))
    exemplars = tuple(build_exemplar(t, materials.texel_m) for t in materials.textures)
    return analysis, lift(analysis, analysis.image, 1), exemplars


def _rows_of(parents: SplatCloud, analysis: PhotoAnalysis, exemplars: tuple[Exemplar, ...]) -> SplatCloud:
    """Every sub-splat of ``parents``' rows: split_rows over each tile they can reach."""
    spawn = (float(analysis.camera.position[0]), float(analysis.camera.position[2]))
    lo = np.floor(parents.positions[:, [0, 2]].min(axis=0) / TILE_M).astype(int) - 1
    hi = np.floor(parents.positions[:, [0, 2]].max(axis=0) / TILE_M).astype(int) + 1
    parts = [
        split_rows(parents, spawn, TARGET, (ix, iz, TILE_M), exemplars, seed=0)
        for ix in range(lo[0], hi[0] + 1)
        for iz in range(lo[1], hi[1] + 1)
    ]
    return SplatCloud.concat(parts)


def test_far_ground_streaks_become_rows_of_grain(harbour) -> None:
    analysis, cloud, exemplars = harbour
    long = np.flatnonzero(long_ground(cloud, TARGET))
    # The harbour's water 30-96 m out: splats a few cm wide and up to metres long before.
    assert len(long) > 10_000
    assert cloud.scales[long, 2].max() > 0.5
    rng = np.random.default_rng(7)
    spawn = analysis.camera.position[[0, 2]].astype(np.float64)
    varied = 0
    for i in rng.choice(long, 24, replace=False):
        parent = cloud.subset(np.array([i]))
        rows = _rows_of(parent, analysis, exemplars)
        p = parent.positions[0].astype(np.float64)
        along = (p[[0, 2]] - spawn) / np.linalg.norm(p[[0, 2]] - spawn)
        offsets = (rows.positions[:, [0, 2]] - p[[0, 2]]) @ along
        across = (rows.positions[:, [0, 2]] - p[[0, 2]]) @ np.array([-along[1], along[0]])
        sigma = float(parent.scales[0, 2])
        assert len(rows) >= 2
        assert np.all(rows.scales[:, 2] <= TARGET * 1.0001)  # no streak longer than the ground around
        assert np.abs(across).max() < 1e-3  # on the parent's ray
        assert abs(offsets.mean()) < 1e-3 * sigma + 1e-4  # centred on it
        # The row spreads as the parent did: its variance along the ray is the parent's.
        variance = np.mean(offsets**2) + np.mean(rows.scales[:, 2].astype(np.float64) ** 2)
        assert variance == pytest.approx(sigma**2, rel=0.02)
        # Its mean colour is the parent's (the spawn still sees the photo) unless clipping bit.
        colour = parent.colors[0].astype(np.float64)
        if colour.min() > 0.05 and colour.max() < 0.8:
            assert np.abs(rows.colors.mean(axis=0) - colour).max() < 0.02
        varied += float(np.std(rows.colors @ LUMA)) > 0.005
    assert varied >= 18  # grain, not the parent's one colour repeated (ripples on the water)


def test_rows_crossing_a_tile_border_are_laid_once(harbour) -> None:
    analysis, cloud, exemplars = harbour
    spawn = (float(analysis.camera.position[0]), float(analysis.camera.position[2]))
    long = long_ground(cloud, TARGET)
    # Parents within 0.3 m of a tile border (x a multiple of 8 m), 40-60 m out: their rows cross
    # it; away from x = 0, so one 1024 m tile holds a whole row.
    x, z = cloud.positions[:, 0], cloud.positions[:, 2]
    near_border = long & (np.abs(x - np.round(x / TILE_M) * TILE_M) < 0.3) & (np.abs(x) > 10) & (z < -40) & (z > -60)
    chosen = np.flatnonzero(near_border)
    assert len(chosen) > 100
    for i in chosen[:: max(1, len(chosen) // 12)]:
        parent = cloud.subset(np.array([i]))
        by_tiles = _rows_of(parent, analysis, exemplars)
        big = int(np.floor(parent.positions[0, 0] / 1024)), int(np.floor(parent.positions[0, 2] / 1024))
        whole = split_rows(parent, spawn, TARGET, (*big, 1024.0), exemplars, seed=0)
        # The tiles a row crosses lay it once between them, in the colours it has whole.
        assert len(by_tiles) == len(whole) >= 2
        order, whole_order = np.lexsort(by_tiles.positions.T), np.lexsort(whole.positions.T)
        assert np.array_equal(by_tiles.positions[order], whole.positions[whole_order])
        assert np.array_equal(by_tiles.colors[order], whole.colors[whole_order])


def test_the_spawn_still_sees_the_photo(harbour) -> None:
    analysis, cloud, exemplars = harbour
    camera = analysis.camera
    small = camera.with_intrinsics(
        camera.intrinsics.scaled(320, round(320 * camera.intrinsics.height / camera.intrinsics.width))
    )
    long = long_ground(cloud, TARGET)
    grained = SplatCloud.concat(
        [cloud.subset(np.flatnonzero(~long)), _rows_of(cloud.subset(np.flatnonzero(long)), analysis, exemplars)]
    )
    before = render(cloud, small).image
    after = render(grained, small).image
    assert len(grained) > len(cloud)
    assert psnr(after, before) > 35.0


def test_a_tile_walked_into_is_grained_where_the_photo_allows_and_the_same_in_any_order() -> None:
    data = photo_path("lyra2_00").read_bytes()
    key = TileKey(0, 0, -6)  # 40-48 m ahead of the spawn, on the harbour's water
    first = PhotoGenerator()
    world = first.prepare(decode_photo(data), GeneratorOptions())
    for neighbour in (TileKey(0, -1, -6), TileKey(0, 0, -5), TileKey(0, 1, -7)):
        first.generate(world, neighbour)
    tile = first.generate(world, key).splats
    fresh = PhotoGenerator()
    again = fresh.generate(world, key).splats
    assert np.array_equal(tile.positions, again.positions) and np.array_equal(tile.colors, again.colors)
    target = TILE_M / ground_per_edge(key)
    flat_on_ground = (tile.positions[:, 1] == 0.0) & (tile.scales[:, 2] > tile.scales[:, 0])
    rows = flat_on_ground & (tile.scales[:, 2] <= target * 1.0001)
    assert rows.sum() > 2000  # the photo's water, grained
    # What keeps its streak is where the colour solve sharpened the spawn view (GRAIN_MAX_CORRECTION).
    still_long = flat_on_ground & (tile.scales[:, 2] > 1.5 * target)
    state = next(iter(fresh._states.values()))
    uv, _ = state.analysis.camera.project(tile.positions[still_long].astype(np.float64))
    h, w = state.solve_correction.shape
    u = np.clip(uv[:, 0], 0, w - 1).astype(int)
    v = np.clip(uv[:, 1], 0, h - 1).astype(int)
    assert np.all(state.solve_correction[v, u] > GRAIN_MAX_CORRECTION)
