"""The LOD hand-over rule (bridge/stream/handover.py): which held tiles a viewer draws."""

from __future__ import annotations

import asyncio
import json
from collections import Counter
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from bridge.stream.handover import tiles_to_draw
from bridge.stream.messages import TileSent, TileUnloaded
from bridge.world.keys import TileKey
from tests.stream_support import Viewer, make_worlds, pose, world_dir
from tests.vectors.vector_tools import node_check

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


def _random_held_sets(count: int, seed: int) -> list[list[TileKey]]:
    """Held sets as a walking viewer has them: a few LODs of a quadtree around one spot, each tile
    held or not at random (parents with some, all or none of their children; negative indices)."""
    rng = np.random.default_rng(seed)
    sets = []
    for _ in range(count):
        root = TileKey(3, int(rng.integers(-3, 3)), int(rng.integers(-3, 3)))
        held: list[TileKey] = []
        stack = [root]
        while stack:
            key = stack.pop()
            if rng.random() < 0.5:
                held.append(key)
            if key.lod > 0 and rng.random() < 0.7:
                stack.extend(key.children())
        sets.append(held)
    return sets


def test_the_web_viewer_draws_by_the_same_rule(tmp_path: Path) -> None:
    """web/src/handover.js, run in Node, draws exactly the tiles bridge/stream/handover.py does."""
    cases = _random_held_sets(300, seed=4)
    (tmp_path / "cases.json").write_text(json.dumps([[[k.lod, k.ix, k.iz] for k in held] for held in cases]))
    got = node_check("check_handover.mjs", tmp_path)["drawn"]
    expected = [sorted(f"{k.lod}/{k.ix}/{k.iz}" for k in tiles_to_draw(held)) for held in cases]
    assert got == expected
    # The cases hold the interesting ones: parents both drawn and given way, some all drawn.
    assert sum(len(d) < len(h) for d, h in zip(expected, cases, strict=True)) > 100
    assert any(any(k.lod > 0 for k in tiles_to_draw(held)) for held in cases)
