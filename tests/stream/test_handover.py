"""The LOD hand-over rule (bridge/stream/handover.py): which held tiles a viewer draws."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.stream.handover import tiles_to_draw
from bridge.stream.messages import TileSent, TileUnloaded
from bridge.world.keys import TileKey
from tests.stream_support import Viewer, make_worlds, pose, world_dir

__all__ = ["world_dir"]


def cells(key: TileKey) -> list[tuple[int, int]]:
    """The LOD-0 squares a tile covers."""
    n = 1 << key.lod
    return [(key.ix * n + i, key.iz * n + j) for i in range(n) for j in range(n)]


def test_a_parent_gives_way_only_when_all_four_children_are_held() -> None:
    parent = TileKey(1, 0, 0)
    children = parent.children()
    assert tiles_to_draw([parent, *children[:3]]) == {parent}
    assert tiles_to_draw([parent, *children]) == set(children)
    # Two levels: a grandchild block completes one child, the others are held themselves.
    grand = TileKey(2, -1, 3)
    kids = grand.children()
    grandkids = kids[0].children()
    assert tiles_to_draw([grand, *kids[1:], *grandkids]) == {*kids[1:], *grandkids}
    assert tiles_to_draw([grand, *kids[1:], *grandkids[:3]]) == {grand}
    assert tiles_to_draw([]) == set()


keys = st.builds(
    TileKey,
    st.integers(0, 3),
    st.integers(-3, 2),
    st.integers(-3, 2),
)


@settings(max_examples=300, deadline=None)
@given(st.lists(keys, max_size=40))
def test_drawn_tiles_never_overlap_and_cover_exactly_what_is_held(held: list[TileKey]) -> None:
    drawn = tiles_to_draw(held)
    assert drawn <= set(held)
    counts = Counter(c for k in drawn for c in cells(k))
    assert all(n == 1 for n in counts.values())  # no square drawn twice
    assert set(counts) == {c for k in held for c in cells(k)}  # and none held left undrawn


def test_what_a_walking_viewer_holds_draws_without_overlap_or_hole(world_dir: tuple[Path, str]) -> None:
    """Against the real stream: at every moment of a walk (after each tile and each unload, as
    coarse tiles give way to fine ones and back), the drawn tiles cover what is held, once."""
    data_dir, world_id = world_dir

    async def walk() -> list[object]:
        worlds, pool = make_worlds(data_dir)
        viewer = Viewer(worlds, world_id, pose(radius=160))
        try:
            await viewer.settled(1)
            for step in range(1, 8):
                viewer.move(pose(z=-30.0 * step, radius=160, velocity=(0, 0, -30)), sequence=1 + step)
                await viewer.settled(1 + step)
        finally:
            await viewer.close()
            await worlds.close()
            pool.shutdown()
        return viewer.events

    held: set[TileKey] = set()
    moments = overlapping = 0
    for event in asyncio.run(asyncio.wait_for(walk(), 240)):
        if isinstance(event, TileSent):
            held.add(event.key)
        elif isinstance(event, TileUnloaded):
            held.discard(event.key)
        else:
            continue
        drawn = tiles_to_draw(held)
        counts = Counter(c for k in drawn for c in cells(k))
        assert all(n == 1 for n in counts.values())
        assert set(counts) == {c for k in held for c in cells(k)}
        moments += 1
        overlapping += len(drawn) < len(held)
    assert moments > 100 and overlapping > 0  # parents and children were held together at times
