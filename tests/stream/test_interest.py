"""The interest set: which tiles a viewer gets, at which LOD."""

from __future__ import annotations

import pytest

from bridge.stream.interest import StreamOptions, finest_lod, select_tiles, select_tiles_walk
from bridge.stream.pose import Pose
from bridge.stream.session import StreamSession
from bridge.world.grid import TileGrid
from tests.interest_support import WORLD, prioritised_by_key, walks

GRID = TileGrid(8.0, 64)


def _pose(speed_m_s: float) -> Pose:
    return Pose((0.0, 3.0, 0.0), (0.0, 0.0, -1.0), (0.0, 0.0, -speed_m_s), 60.0, 720, 256.0)


def test_a_fast_viewer_gets_no_tile_it_would_cross_in_under_a_second() -> None:
    """At 50 m/s an 8 m tile passes in 0.16 s: the finest tiles sent are 64 m ones (crossed in
    1.3 s), so a server keeps up and no hole opens ahead; standing still, the ground under the
    viewer comes at LOD 0; the finest LOD grows with speed."""
    options = StreamOptions()
    still, walking, running = (select_tiles(_pose(v), GRID, options) for v in (0.0, 1.5, 50.0))
    assert min(k.lod for k in still) == 0 and min(k.lod for k in walking) == 0
    assert min(k.lod for k in running) == 3 and GRID.base_tile_m * 2**3 >= 50.0 * options.min_tile_dwell_s
    assert len(running) < len(still) / 2
    assert [finest_lod(_pose(v), GRID, options) for v in (0.0, 5.0, 10.0, 20.0, 50.0, 200.0)] == [0, 0, 1, 2, 3, 5]


def test_the_array_selection_is_the_walk_tile_for_tile_and_in_its_order() -> None:
    """The interest set computed a quadtree level at a time with numpy is the one the key-by-key
    walk finds, in the same order, and the session's urgencies and order are what scoring each key
    on its own gives, for real walks (at three thresholds, as a session coarsens to fit its budget)."""
    options = StreamOptions()
    poses = walks()
    assert len(poses) > 200
    for pose in poses:
        for threshold in (3.0, 6.0, 24.0):
            assert select_tiles(pose, WORLD, options, threshold) == select_tiles_walk(pose, WORLD, options, threshold)
        session = StreamSession("w", WORLD, options)
        session.update_view(pose)
        expected = prioritised_by_key(select_tiles_walk(pose, WORLD, options), pose, WORLD, options)
        assert session.wanted == [key for key, _ in expected]
        assert [session.urgency(key) for key in session.wanted] == pytest.approx([s for _, s in expected], rel=1e-12)


def test_the_tile_cap_cuts_the_set_where_the_walk_does() -> None:
    """With ``max_tiles`` exactly the set's size the cap never acts (the array path serves it);
    one tile fewer and the walk's stop decides which tiles stay coarse: both as the walk."""
    pose = walks()[40]
    full = select_tiles_walk(pose, WORLD, StreamOptions())
    for cap in (len(full), len(full) - 1, len(full) // 3):
        options = StreamOptions(max_tiles=cap)
        walked = select_tiles_walk(pose, WORLD, options)
        assert select_tiles(pose, WORLD, options) == walked
        assert (walked == full) == (cap == len(full))
