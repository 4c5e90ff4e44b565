"""The interest set: which tiles a viewer gets, at which LOD."""

from __future__ import annotations

from bridge.stream.interest import StreamOptions, finest_lod, select_tiles
from bridge.stream.pose import Pose
from bridge.world.grid import TileGrid

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
