"""Houses, one or a row: each of its own frontage, depth, storeys, roof pitch and colour within
what the words asked, so a row reads as neighbours built apart, not as one box repeated.

Walls wear the photo's own facades (synthesised by whole storeys and bays, as the layout's
houses are) when the world has them and the words name no wall colour or material; otherwise
the named or palette colour, rendered, with windows in rows and columns and a door.
"""

from __future__ import annotations

import math

import numpy as np

from bridge.generate.directives.looks import Opening, boards, facade, in_bays, masonry, pierced, plaster, tiles
from bridge.generate.directives.surfaces import Builder, Paint
from bridge.generate.hashing import hash_to_unit
from bridge.generate.photo.dressing import FacadeSource
from bridge.world.structure_grammar import MATERIALS, StructureSpec, house_row

STOREY_M = 2.9
PITCHES_DEG = (40.0, 52.0, 34.0, 46.0, 56.0, 38.0, 48.0, 30.0)  # by place in the row, in turn
STOREYS = (2, 3, 2, 3, 3, 2, 3, 2)  # when the words name none: low enough to stay in a photo's frame 40 m out
DOOR = np.array([0.25, 0.16, 0.09])


def houses(
    b: Builder, spec: StructureSpec, wall: np.ndarray, roof: np.ndarray, facades: tuple[FacadeSource, ...], salt: int
) -> None:
    """Into ``b``: the row along x, every front on one street line at z = -(deepest)/2."""
    s = spec.scale
    row = house_row(spec.count, s)
    street = -max(d for _, _, d in row) / 2
    dressed = bool(facades) and spec.wall is None
    for k, (cx, frontage, depth) in enumerate(row):
        ident = salt * 31 + k
        storeys = spec.storeys or STOREYS[(k + salt) % len(STOREYS)]
        eaves = STOREY_M * storeys * s
        pitch = math.radians(PITCHES_DEG[(k + salt // 7) % len(PITCHES_DEG)])
        gable_front = spec.count > 1 and k % 2 == 1  # every other house turns its gable to the street
        span = frontage if gable_front else depth  # what the roof spans across its ridge
        rise = span / 2 * math.tan(pitch)
        tint = _tint(ident)
        cz = street + depth / 2
        paints = _walls(spec, wall * tint, facades, ident, frontage, depth, eaves, b.spacing, dressed)
        gables = (-rise, 0.0) if gable_front else (rise, 0.0)
        b.box((cx, cz), frontage, depth, 0.0, eaves, paints, gables)
        roof_paint = tiles(np.clip(roof * _roof_tint(ident), 0, 1), ident)
        if gable_front:
            b.gable_roof((cx, cz), depth, frontage, eaves, rise, roof_paint, along_x=False, overhang=0.3 * s)
        else:
            b.gable_roof((cx, cz), frontage, depth, eaves, rise, roof_paint, overhang=0.3 * s)
            # A chimney through one slope near an end: a small mark that it is lived in.
            chimney_x = cx + (frontage / 2 - 1.0 * s) * (1 if k % 2 else -1)
            b.box(
                (chimney_x, cz + depth * 0.12),
                0.6 * s,
                0.6 * s,
                eaves + rise * 0.4,
                rise * 0.6 + 0.9 * s,
                masonry(wall * 0.7, ident),
            )


def _walls(
    spec: StructureSpec,
    wall: np.ndarray,
    facades: tuple[FacadeSource, ...],
    ident: int,
    frontage: float,
    depth: float,
    eaves: float,
    spacing: float,
    dressed: bool,
) -> tuple[Paint, Paint, Paint, Paint]:
    """The -z (street front), +x, +z and -x walls' paints."""
    if dressed:
        source = facades[ident % len(facades)]
        return (
            facade(source, frontage, ident, 0, spacing),
            facade(source, depth, ident, 2, spacing),
            facade(source, frontage, ident, 1, spacing),
            facade(source, depth, ident, 3, spacing),
        )
    s = spec.scale
    base = _material(spec, wall, ident)
    storeys = max(1, round(eaves / (STOREY_M * s)))
    storey = eaves / storeys

    def windows(width: float, door: bool) -> list[Opening]:
        out = []
        bays = in_bays(width, 2.4 * s, 0.8 * s)
        for k in range(storeys):
            for i, a in enumerate(bays):
                if door and k == 0 and i == len(bays) // 2:
                    continue
                out.append(Opening(a, k * storey + 0.9 * s, k * storey + 0.9 * s + 1.3 * s, 1.0 * s))
        return out

    front = pierced(
        pierced(base, windows(frontage, True)),
        [Opening(frontage / 2 + _door_shift(frontage, s), 0.0, 2.1 * s, 1.1 * s)],
        DOOR,
    )
    side = pierced(base, windows(depth, False))
    return front, side, pierced(base, windows(frontage, False)), side


def _door_shift(frontage: float, s: float) -> float:
    """The door sits in the middle bay (in_bays' middle centre), not between two windows."""
    bays = in_bays(frontage, 2.4 * s, 0.8 * s)
    return bays[len(bays) // 2] - frontage / 2


def _material(spec: StructureSpec, wall: np.ndarray, ident: int) -> Paint:
    if spec.wall is not None and spec.wall in (MATERIALS["wooden"], MATERIALS["timber"]):
        return boards(wall, ident)
    if spec.wall is not None and spec.wall in (MATERIALS["stone"], MATERIALS["brick"], MATERIALS["granite"]):
        return masonry(wall, ident, course=0.3 if spec.wall == MATERIALS["brick"] else 0.5)
    return plaster(wall, ident)


def _tint(ident: int) -> np.ndarray:
    """Neighbours' walls differ a little in brightness and warmth."""
    h1, h2 = float(hash_to_unit(ident, 701)), float(hash_to_unit(ident, 702))
    light, warm = 0.9 + 0.2 * h1, 0.06 * (h2 - 0.5)
    return np.array([light * (1 + warm), light, light * (1 - warm)])


def _roof_tint(ident: int) -> np.ndarray:
    """Roofs of one asked colour differ in shade and a little in hue, as old and new tiles do."""
    h1, h2 = float(hash_to_unit(ident, 703)), float(hash_to_unit(ident, 704))
    light, shift = 0.78 + 0.4 * h1, 0.16 * (h2 - 0.5)
    return np.array([light * (1 + shift), light, light * (1 - shift)])
