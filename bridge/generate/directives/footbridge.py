"""A bridge: a humped deck along z on piers, railings on posts down both sides, ramps to the
ground at its ends; timber boards and trestles unless its words name stone or brick, then a
stone deck on stone piers. Open beneath, so the ground under it shows."""

from __future__ import annotations

import numpy as np

from bridge.generate.directives.looks import boards, masonry
from bridge.generate.directives.surfaces import Builder
from bridge.world.structure_grammar import BRIDGE_M, MATERIALS, StructureSpec

SEGMENTS = 14
DECK_M = 0.35  # the deck's thickness: its fascia
_UP = np.array([0.0, 1.0, 0.0])
_X = np.array([1.0, 0.0, 0.0])


def footbridge(b: Builder, spec: StructureSpec, wall: np.ndarray, below: float, salt: int) -> None:
    """Into ``b``; ``below``: how far under the floor the lowest ground lies (the piers reach it)."""
    s = spec.scale
    width, span = (v * s for v in BRIDGE_M)
    rise = 1.9 * s
    stone = spec.wall is not None and spec.wall not in (MATERIALS["wooden"], MATERIALS["wood"], MATERIALS["timber"])
    deck = masonry(wall, salt, course=0.35) if stone else boards(wall, salt, board=0.3)
    beam = masonry(wall * 0.8, salt) if stone else boards(wall * 0.62, salt, board=0.35, across=True)
    rail = masonry(wall * 0.9, salt) if stone else boards(wall * 0.78, salt, board=0.12, across=True)
    zs = np.linspace(-span / 2, span / 2, SEGMENTS + 1)
    ys = rise * (1 - (2 * zs / span) ** 2) + 0.15 * s  # the ends rest just above the ground
    for k in range(SEGMENTS):
        a = np.array([-width / 2, ys[k], zs[k]])
        run = np.array([0.0, ys[k + 1] - ys[k], zs[k + 1] - zs[k]])
        b.patch(a + _X * width, -_X * width, run, deck)  # faces up
        for side in (-1.0, 1.0):
            edge = np.array([side * width / 2, ys[k], zs[k]])
            # u x v looks out of the bridge's side: u along the span, v up, turned per side.
            u, start = (-run, edge + run) if side > 0 else (run, edge)
            b.patch(start - _UP * DECK_M * s, u, _UP * DECK_M * s, beam)
            if stone:  # a parapet wall
                b.patch(start, u, _UP * 1.0 * s, rail)
            else:  # a hand rail and a mid rail between posts
                b.patch(start + _UP * 0.95 * s, u, _UP * 0.14 * s, rail)
                b.patch(start + _UP * 0.5 * s, u, _UP * 0.1 * s, rail)
                if k % 2 == 0:
                    b.box((side * (width / 2 - 0.07 * s), zs[k]), 0.14 * s, 0.14 * s, ys[k], 1.1 * s, beam)
    # Piers: stone ones across the whole deck, timber trestles as a pair of posts and a cross beam.
    for z in (-span * 0.3, 0.0, span * 0.3):
        top = float(rise * (1 - (2 * z / span) ** 2) + 0.15 * s - DECK_M * s)
        if stone:
            b.box((0.0, z), width * 0.9, 0.9 * s, -below, top + below, beam)
            continue
        for x in (-width / 2 + 0.3 * s, width / 2 - 0.3 * s):
            b.box((x, z), 0.3 * s, 0.3 * s, -below, top + below, beam)
        b.box((0.0, z), width - 0.3 * s, 0.25 * s, top - 0.3 * s, 0.3 * s, beam)
    for z in (-span / 2, span / 2):  # a post at each corner, where the bridge meets its banks
        for x in (-width / 2, width / 2):
            b.box((x, z), 0.22 * s, 0.22 * s, -below, 1.3 * s + 0.15 * s + below, beam)
