"""The bench's definition of "in the view frustum", on cases one can check by hand."""

from __future__ import annotations

from bridge.benches.frustum import covered, ground_frustum

BASE = 32.0


def test_cells_ahead_and_in_range_are_in_view_and_others_are_not() -> None:
    view = ground_frustum((0.0, 2.0, 0.0), (0.0, 0.0, -1.0), 60.0, 256.0).cells(BASE)
    assert (0, -2) in view  # straight ahead, 32-64 m away
    assert (-1, -5) in view  # ahead, a little to the left
    assert (0, 3) not in view  # behind
    assert (0, -10) not in view  # straight ahead but past the 256 m radius
    assert (3, -1) not in view  # 96 m to the right, 0-32 m ahead: outside the 16:9 image
    assert (0, -1) in view  # the ground shows from 2 m / tan(30 deg) = 3.5 m ahead
    assert (0, 0) not in view and (-1, 0) not in view  # under and behind the camera
    # Turned to +X, the view turns with it.
    right = ground_frustum((0.0, 2.0, 0.0), (1.0, 0.0, 0.0), 60.0, 256.0).cells(BASE)
    assert (2, 0) in right and (0, -4) not in right and (0, 3) not in right


def test_a_cell_is_covered_by_a_held_tile_of_any_lod_containing_it() -> None:
    held = {(2, 1, -1), (0, 0, 0)}
    assert covered((5, -3), held)  # inside the LOD-2 tile (x 128-256, z -128-0)
    assert covered((0, 0), held)
    assert not covered((3, -3), held)
