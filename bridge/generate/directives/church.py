"""Churches and chapels, built so that they read as such from a distance.

A church: a long nave under a steep pointed roof (55 degrees when gothic), buttresses between its
bays, a pointed lancet in each bay, a great pointed window in its east gable, and at its west end
a tower rising well clear of the ridge, with paired belfry lancets, a parapet with corner
pinnacles and a tall eight-sided spire: the tallest thing, and the farthest from the front, where
a photo camera's frame reaches highest (structure_grammar.church_plan). A chapel: one small
nave, its gable to the front with a round-headed door and a round window, a steep roof, and a
bell-cote with a cross over the front gable.
"""

from __future__ import annotations

import math

import numpy as np

from bridge.generate.directives.looks import Opening, in_bays, pierced
from bridge.generate.directives.surfaces import Builder, Paint, solid
from bridge.world.structure_grammar import (
    CHAPEL_M,
    CHURCH_BUTTRESS_M,
    CHURCH_NAVE_M,
    CHURCH_TOWER_M,
    CHURCH_TURN_DEG,
    StructureSpec,
)

GOTHIC_PITCH_DEG = 55.0
PLAIN_PITCH_DEG = 42.0
DOOR = np.array([0.22, 0.14, 0.08])  # oak, in shadow


def church(b: Builder, spec: StructureSpec, stone: Paint, roof: Paint, gothic: bool, below: float) -> None:
    """Into ``b`` (built turned by CHURCH_TURN_DEG): the nave along x, the tower at +x (west);
    the buttresses reach ``below`` under the floor, to the ground."""
    s = spec.scale
    (length, width), side = (v * s for v in CHURCH_NAVE_M), CHURCH_TOWER_M * s
    eaves = 2.1 * s * spec.storeys if spec.storeys else 4.2 * s
    pitch = GOTHIC_PITCH_DEG if gothic else PLAIN_PITCH_DEG
    rise = width / 2 * math.tan(math.radians(pitch))
    nave_x = -side / 2
    x0, x1 = nave_x - length / 2, nave_x + length / 2
    arch = "pointed" if gothic else "round"
    # Long walls: a lancet in each bay, buttresses between the bays.
    bays = in_bays(length, 3.0 * s, 0.9 * s)
    lancet_w = 1.0 * s
    spring = eaves - 0.6 * s - 0.87 * lancet_w
    lancets = [Opening(a, 1.4 * s, spring, lancet_w, arch) for a in bays]
    east_w = min(2.6 * s, width * 0.4)
    east_window = Opening(width / 2, 1.8 * s, eaves + rise * 0.2, east_w, arch)
    front = pierced(stone, lancets)
    back = pierced(stone, lancets)
    east = pierced(stone, [east_window])
    b.box((nave_x, 0.0), length, width, 0.0, eaves, (front, stone, back, east), gables=(rise, 0.0))
    b.gable_roof((nave_x, 0.0), length, width, eaves, rise, roof)
    step = bays[1] - bays[0] if len(bays) > 1 else length
    edges = [x0 + bays[0] - step / 2 + k * step for k in range(len(bays) + 1)]
    for x in edges:
        for sign in (-1.0, 1.0):
            at = (x, sign * (width / 2 + CHURCH_BUTTRESS_M * s / 2))
            _buttress(b, at, 0.55 * s, CHURCH_BUTTRESS_M * s, eaves, below, stone)
    # The tower: two stages, paired belfry lancets in the upper, a west door, a parapet with
    # corner pinnacles, and an eight-sided spire.
    tx = x1 + side / 2
    tower_h = eaves + rise + 1.5 * s
    belfry = [
        Opening(side / 2 + d * 0.7 * s, tower_h - 3.3 * s, tower_h - 1.3 * s - 0.87 * 0.8 * s, 0.8 * s, arch)
        for d in (-1, 1)
    ]
    slit = [Opening(side / 2, eaves * 0.55, eaves * 0.55 + 1.1 * s, 0.3 * s, "flat")]
    door = [Opening(side / 2, 0.0, 2.2 * s, 1.4 * s, arch)]
    upper = pierced(stone, belfry + slit)
    west = pierced(pierced(stone, belfry + slit), door, DOOR)
    b.box((tx, 0.0), side, side, 0.0, tower_h, (upper, west, upper, upper))
    parapet = 0.7 * s
    b.box((tx, 0.0), side + 0.3 * s, side + 0.3 * s, tower_h, parapet, stone)
    for cx in (-1, 1):
        for cz in (-1, 1):
            at = (tx + cx * (side / 2 - 0.05 * s), cz * (side / 2 - 0.05 * s))
            b.spire(at, 0.3 * s, tower_h + parapet, 1.5 * s, roof)
    spire_h = (4.0 if gothic else 1.8) * s
    b.spire(
        (tx, 0.0), side / 2 - 0.4 * s, tower_h + 0.2 * s, spire_h + parapet - 0.2 * s, roof, sides=8 if gothic else 4
    )


def _buttress(
    b: Builder, at: tuple[float, float], along: float, out: float, eaves: float, below: float, stone: Paint
) -> None:
    """A buttress against a long wall, from the ground to below the eaves, capped."""
    top = eaves * 0.82
    b.box(at, along, out, -below, top + below, stone)
    b.lid(at, along, out, top, stone)


def chapel(b: Builder, spec: StructureSpec, walls: Paint, roof: Paint, gothic: bool) -> None:
    """Into ``b``: one nave along z, its gable front to -z with the door, a bell-cote over it."""
    s = spec.scale
    width, length = (v * s for v in CHAPEL_M)
    eaves = 2.6 * s * spec.storeys if spec.storeys else 3.6 * s
    rise = width / 2 * math.tan(math.radians(GOTHIC_PITCH_DEG))
    arch = "pointed" if gothic else "round"
    door = Opening(width / 2, 0.0, 1.9 * s, 1.3 * s, arch)
    high = Opening(width / 2, eaves + rise * 0.18, eaves + rise * 0.18 + 0.4 * s, 0.5 * s, "flat")
    front = pierced(pierced(walls, [high]), [door], DOOR)
    windows = [
        Opening(a, 1.3 * s, eaves - 0.8 * s - 0.45 * s, 0.9 * s, arch) for a in in_bays(length, 2.8 * s, 1.2 * s)
    ]
    sides = pierced(walls, windows)
    b.box((0.0, 0.0), width, length, 0.0, eaves, (front, sides, walls, sides), gables=(-rise, 0.0))
    b.gable_roof((0.0, 0.0), length, width, eaves, rise, roof, along_x=False)
    # Round window in the front gable.
    b.disc(np.array([0.0, eaves + rise * 0.42, -length / 2 - 0.05]), np.array([0.0, 0.0, -1.0]), 0.45 * s, DOOR * 0.5)
    # The bell-cote: a small open gabled frame astride the front gable's apex, with its bell.
    ridge = eaves + rise
    cote_w, cote_d, cote_h = 1.3 * s, 0.8 * s, 1.8 * s
    cz = -length / 2 + cote_d / 2
    opening = Opening(cote_w / 2, 0.45 * s, cote_h - 0.55 * s, 0.7 * s, "round")
    bell = pierced(walls, [opening], np.array([0.1, 0.09, 0.08]))
    b.box((0.0, cz), cote_w, cote_d, ridge - 0.5 * s, cote_h + 0.5 * s, (bell, walls, bell, walls), (-0.5 * s, 0.0))
    b.gable_roof((0.0, cz), cote_d, cote_w, ridge + cote_h, 0.5 * s, roof, along_x=False, overhang=0.12 * s)
    _cross(b, (0.0, cz), ridge + cote_h + 0.5 * s, 1.1 * s, walls)


def _cross(b: Builder, at: tuple[float, float], y: float, height: float, paint: Paint) -> None:
    """A thin cross facing the front, on top of what stands at ``at``."""
    thick = max(0.12 * height, b.spacing * 0.6)
    colour = solid(np.clip(paint(np.zeros(1), np.zeros(1))[0] * 0.45, 0, 1))
    x, z = at
    for face in (-1.0, 1.0):  # both faces, so it reads from behind too
        zf = z + face * 0.02
        u = np.array([face * thick, 0.0, 0.0])  # u x up looks out of this face
        b.patch(np.array([x - face * thick / 2, y, zf]), u, np.array([0.0, height, 0.0]), colour)
        arm = np.array([face * height * 0.6, 0.0, 0.0])
        b.patch(np.array([x - face * height * 0.3, y + height * 0.62, zf]), arm, np.array([0.0, thick, 0.0]), colour)


def church_yaw() -> float:
    """The turn the church is built with (see structure_grammar.turned_church_corners)."""
    return math.radians(-CHURCH_TURN_DEG)
