"""The LOD hand-over rule: which of the tiles a viewer holds it draws.

A viewer may hold a tile and some of its descendants at once (the server keeps a coarse tile
until the finer ones over its area are in, and vice versa, so no hole opens). Drawing both would
double the splats (z-fighting with meshes). The rule, the same for every client:

    Draw a held tile unless (a) a held ancestor of it is drawn, or (b) its whole area is covered
    by held finer tiles. Coverage: each of its four children is held, or is itself covered.

So a parent gives way to its children at once when the last of them arrives (never a partial
swap), the drawn tiles never overlap, and together they cover exactly the area the held tiles
cover. A client applies it after every tile and unload event.
"""

from __future__ import annotations

from collections.abc import Iterable

from bridge.world.keys import TileKey


def tiles_to_draw(held: Iterable[TileKey]) -> set[TileKey]:
    """The held tiles to draw under the hand-over rule (see the module docstring)."""
    held_set = set(held)
    if not held_set:
        return set()
    lowest = min(k.lod for k in held_set)
    covered: dict[TileKey, bool] = {}

    def is_covered(key: TileKey) -> bool:
        """Is the key's whole area held at finer LODs (itself not counted)?"""
        if key.lod <= lowest:
            return False
        known = covered.get(key)
        if known is None:
            known = covered[key] = all(c in held_set or is_covered(c) for c in key.children())
        return known

    top = max(k.lod for k in held_set)

    drawn = set()
    # Coarse to fine: a tile's ancestors are decided before it.
    for key in sorted(held_set, key=lambda k: -k.lod):
        if is_covered(key):
            continue
        if any(key.ancestor(lod) in drawn for lod in range(key.lod + 1, top + 1)):
            continue
        drawn.add(key)
    return drawn
