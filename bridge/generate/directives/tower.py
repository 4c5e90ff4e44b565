"""A tower: a square stone keep, slits up every face storey by storey, paired round-headed
windows at the top, a door at its foot, and a crenellated parapet on corbels; a steep tiled
pyramid roof instead when its words give a roof colour or a gothic or medieval era."""

from __future__ import annotations

import numpy as np

from bridge.generate.directives.looks import Opening, pierced
from bridge.generate.directives.surfaces import Builder, Paint
from bridge.world.structure_grammar import TOWER_M, StructureSpec

STOREY_M = 3.5
DOOR_WOOD = (0.24, 0.15, 0.08)


def tower(b: Builder, spec: StructureSpec, stone: Paint, roof: Paint, roofed: bool) -> None:
    s = spec.scale
    side = TOWER_M * s
    storeys = spec.storeys or 4
    height = STOREY_M * storeys * s * (1.4 if spec.tall else 1.0)
    storey = height / storeys
    slits = [
        Opening(side / 2, k * storey + storey * 0.35, k * storey + storey * 0.35 + 1.3 * s, 0.32 * s)
        for k in range(1, storeys - 1)
    ]
    top = [
        Opening(side / 2 + d * 0.8 * s, height - storey * 0.75, height - storey * 0.75 + 1.4 * s, 0.9 * s, "round")
        for d in (-1, 1)
    ]
    faces = pierced(stone, slits + top)
    door = pierced(faces, [Opening(side / 2, 0.0, 2.0 * s, 1.5 * s, "round")], np.array(DOOR_WOOD))
    b.box((0.0, 0.0), side, side, 0.0, height, (door, faces, faces, faces))
    if roofed:
        b.box((0.0, 0.0), side + 0.2 * s, side + 0.2 * s, height, 0.5 * s, stone)
        b.spire((0.0, 0.0), side / 2 + 0.35 * s, height + 0.5 * s, side * 1.1, roof)
        return
    # A corbelled parapet standing out from the walls, merlons along its top, the roof inside it.
    out = side + 0.7 * s
    b.lid((0.0, 0.0), side, side, height + 0.1 * s, stone)
    b.box((0.0, 0.0), out, out, height, 1.0 * s, stone)
    b.lid((0.0, 0.0), out, out, height - 0.02, stone)  # the corbels' underside, seen from below
    merlons = 4
    step = out / (2 * merlons - 1)
    for k in range(merlons):
        a = -out / 2 + step / 2 + 2 * k * step
        edge = out / 2 - 0.2 * s
        for at, w, d in (
            ((a, -edge), step, 0.4 * s),
            ((a, edge), step, 0.4 * s),
            ((-edge, a), 0.4 * s, step),
            ((edge, a), 0.4 * s, step),
        ):
            b.box(at, w, d, height + 1.0 * s, 0.8 * s, stone)
            b.lid(at, w, d, height + 1.8 * s, stone)
