"""Uprights: what stands in the photo stands on its contact line with the ground, and its surface
bends back to the backdrop at its ends instead of tearing."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.generate.photo.analysis import KIND_BACKDROP, KIND_GROUND, KIND_SKY, KIND_UPRIGHT, PhotoAnalysis, analyse
from bridge.generate.photo.lift import lift
from bridge.generate.photo.uprights import hiding_far_ground, upright_evidence
from bridge.render.rasterize import _project
from bridge.world.photos import decode_photo
from tests.conftest import photo_path

LIFT_RADIUS_M = 96.0


@pytest.fixture(scope="module")
def town() -> PhotoAnalysis:
    """lyra2_06: a street of half-timbered houses on both sides of a square."""
    return analyse(decode_photo(photo_path("lyra2_06").read_bytes()), LIFT_RADIUS_M)


def _points(analysis: PhotoAnalysis) -> np.ndarray:
    rays = analysis.camera.pixel_rays()
    depth = np.where(np.isfinite(analysis.depth), analysis.depth, 0.0)
    return analysis.camera.position + rays * depth[..., None]


def test_the_street_facades_stand_on_the_ground_where_they_meet_it(town: PhotoAnalysis) -> None:
    points = _points(town)
    h, w = town.kind.shape
    checked = 0
    for u in [*range(8, w // 5, 8), *range(w - w // 5, w - 8, 8)]:  # the houses left and right
        rows = np.flatnonzero(town.kind[:, u] == KIND_UPRIGHT)
        assert rows.size > h // 3, f"column {u}: the facade should stand, {rows.size} upright pixels"
        column = points[rows, u]
        foot = column[-1]
        # Standing: every pixel of the column is as far out over the ground as its foot (a pitched
        # camera's column is not one bearing, so not one spot) ...
        reach = np.hypot(column[:, 0], column[:, 2])
        assert np.ptp(reach) < 1e-3 * reach[-1]
        # ... rising from the ground at its contact row, nearer than the backdrop ...
        assert abs(foot[1]) < 0.05 * (column[:, 1].max() - foot[1])
        assert np.hypot(foot[0], foot[2]) < LIFT_RADIUS_M / 2
        # ... where the ground the photo shows below it ends: no step between the two.
        below = rows[-1] + 1
        assert town.kind[below, u] == KIND_GROUND
        assert np.hypot(*(points[below, u] - foot)[[0, 2]]) < 0.05 * np.hypot(foot[0], foot[2])
        checked += 1
    assert checked >= 20


def test_surfaces_bend_back_to_the_backdrop_instead_of_tearing() -> None:
    # lyra2_00: a house on the left and ships on the water, with open backdrop between them.
    analysis = analyse(decode_photo(photo_path("lyra2_00").read_bytes()), LIFT_RADIUS_M)
    points = _points(analysis)
    standing = (analysis.kind == KIND_UPRIGHT) | (analysis.kind == KIND_BACKDROP)
    disparity = np.where(standing, 1.0 / np.maximum(np.hypot(points[..., 0], points[..., 2]), 1e-6), np.nan)
    assert (analysis.kind == KIND_UPRIGHT).any() and (analysis.kind == KIND_BACKDROP).any()
    both = standing[:, 1:] & standing[:, :-1]
    step = np.abs(np.diff(disparity, axis=1))[both]
    near, far = 1.0 / 7.0, 1.0 / LIFT_RADIUS_M
    # A hard edge from a facade 7 m away to the backdrop would step by ~0.13 per column; the
    # bend spreads that over tens of columns.
    assert step.max() < 0.1 * (near - far)
    assert np.nanmax(disparity) > 3 * far  # and something does stand well in front of the backdrop


def test_ground_seen_in_perspective_is_not_evidence_of_standing(town: PhotoAnalysis) -> None:
    evidence = upright_evidence(town.image, town.horizon_v, town.camera.intrinsics.cx)
    h, w = town.kind.shape
    cobbles = evidence[int(h * 0.85) :, int(w * 0.3) : int(w * 0.7)]  # the square in front of the fountain
    facades = evidence[int(h * 0.2) : int(h * 0.6), : int(w * 0.15)]  # the timbered house on the left
    assert facades.mean() > 0.1
    assert cobbles.mean() < facades.mean() - 0.1


def test_a_photo_seen_from_high_above_stands_nothing_up() -> None:
    # lyra2_07: a snowy valley from far above; its ground reaches the lift radius everywhere.
    analysis = analyse(decode_photo(photo_path("lyra2_07").read_bytes()), LIFT_RADIUS_M)
    assert (analysis.kind == KIND_UPRIGHT).mean() < 0.02


def test_upright_splats_cover_just_their_pixel_from_the_spawn(town: PhotoAnalysis) -> None:
    """However obliquely a surface runs (down to where it bends back to the backdrop), its splats
    seen from the spawn are the size of their pixel, so the spawn view stays the photo."""
    cloud = lift(town, town.image, 1)
    upright = town.kind[town.kind != KIND_SKY] == KIND_UPRIGHT
    projected = _project(cloud, town.camera)
    footprint = np.sqrt(projected.cov_diag.numpy().max(axis=1))
    seen = upright[projected.source.numpy()]
    assert seen.sum() > 0.3 * town.kind.size
    # 0.5 px of footprint, plus the renderer's 0.3 px^2 of dilation: ~0.77 px.
    assert np.percentile(footprint[seen], 99) < 1.0
    assert np.percentile(footprint[seen], 1) > 0.6


def test_a_row_of_upright_splats_closes_up_like_a_mesh(town: PhotoAnalysis) -> None:
    """Seen from aside, each upright splat reaches its row neighbours (it is as wide as the step
    to them), so a step aside stretches the surface instead of opening gaps in it."""
    k = 2
    cloud = lift(town, town.image, k)
    h, w = town.kind.shape
    blocks = town.kind[k // 2 :: k, k // 2 :: k][: h // k, : w // k]
    index = np.full(blocks.shape, -1)
    index[blocks != KIND_SKY] = np.arange(int((blocks != KIND_SKY).sum()))
    pairs = (blocks[:, :-1] == KIND_UPRIGHT) & (blocks[:, 1:] == KIND_UPRIGHT)
    left, right = index[:, :-1][pairs], index[:, 1:][pairs]
    gap = np.linalg.norm(cloud.positions[right] - cloud.positions[left], axis=1)
    width = np.maximum(cloud.scales[left, 0], cloud.scales[right, 0])
    assert left.size > 10_000
    assert gap.max() > 1.0  # the rows do cross bends of metres ...
    assert np.mean(gap <= 2.5 * width) > 0.99  # ... and still close up


def test_what_hides_the_far_ground_stands_in_front_of_it() -> None:
    # lyra2_03: a fortress on a hilltop, seen over a hazy valley. Its undercarriage's decks and
    # balconies run across like the ground's lines, so its texture reads as lying flat; but it
    # hides the valley its sides show: below the horizon, where the fortress rises above it, it
    # stands in front of the far ground.
    analysis = analyse(decode_photo(photo_path("lyra2_03").read_bytes()), LIFT_RADIUS_M)
    assert analysis.far_ground is not None
    h, w = analysis.kind.shape
    horizon = int(analysis.horizon_v)
    first_row = np.full(w, float(horizon))
    hiding = hiding_far_ground(analysis.far_ground, analysis.sky, analysis.horizon_v, first_row)
    rises = ~analysis.sky[horizon - h // 10 : horizon].any(axis=0)  # solid just above the horizon
    columns = np.flatnonzero(rises)
    assert columns.size > w // 5
    undercarriage = hiding[horizon + 2 : horizon + int(0.3 * (h - horizon))][:, columns]
    assert undercarriage.mean() > 0.5, undercarriage.mean()
    assert not hiding[:, ~rises].any()  # only what rises above the horizon
    assert not hiding[int(0.9 * h) :].any()  # the hilltop at the bottom edge is ground


def test_nothing_hides_far_ground_where_none_shows(town: PhotoAnalysis) -> None:
    assert town.far_ground is not None and not town.far_ground.any()
    first_row = np.full(town.kind.shape[1], town.horizon_v)
    assert not hiding_far_ground(town.far_ground, town.sky, town.horizon_v, first_row).any()
