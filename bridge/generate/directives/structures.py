"""Structures for ``place`` directives, built as splat surfaces from a parsed description.

Each builder works in a local frame: the structure's floor at y = 0, its centre at the origin, its
front facing -Z. :func:`build_structure` returns the local cloud and the structure's plan (the
polygons it stands on), on a plinth reaching ``below`` metres under the floor, where the lowest
ground under it lies; the caller turns and stands it (see apply._placed). Churches, chapels,
towers, houses and bridges have their own modules; walls, arches, trees and rocks are here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from bridge.formats.splats import SplatCloud
from bridge.generate.directives.church import chapel, church, church_yaw
from bridge.generate.directives.footbridge import footbridge
from bridge.generate.directives.houses import houses
from bridge.generate.directives.looks import masonry, plaster, tiles, wall_tones, weathered
from bridge.generate.directives.surfaces import Builder, Paint, solid
from bridge.generate.directives.tower import tower
from bridge.generate.hashing import hash_to_unit
from bridge.generate.photo.dressing import FacadeSource
from bridge.world.structure_grammar import (
    BRIDGE_M,
    CHAPEL_M,
    CHURCH_NAVE_M,
    CHURCH_TOWER_M,
    MATERIALS,
    TOWER_M,
    StructureSpec,
    house_row,
)

PLINTH_OUT_M = 0.1  # the plinth stands this far out of the walls: its top reads as a base course
PLINTH_UP_M = 0.3  # and rises this far above the floor
BURIED_M = 0.3  # the plinth and piers reach this far under the lowest ground: no gap on a slope
WOOD = (0.50, 0.34, 0.20)
BARK = (0.30, 0.21, 0.13)


@dataclass(frozen=True)
class Palette:
    """The world's colours (and, from a photo, its facades) a structure wears unless its words
    say otherwise."""

    wall: np.ndarray  # [3] sRGB
    roof: np.ndarray  # [3]
    foliage: np.ndarray  # [3]
    rock: np.ndarray  # [3]
    facades: tuple[FacadeSource, ...] = field(default=())


@dataclass(frozen=True)
class Built:
    """A structure in its frame and the plan it stands on: convex polygons, (x, z) [k, 2] each."""

    cloud: SplatCloud
    plan: tuple[np.ndarray, ...]


def build_structure(spec: StructureSpec, palette: Palette, spacing: float, salt: int, below: float = 0.0) -> Built:
    """The structure in its frame (floor at y = 0, front facing -Z), splats ``spacing`` apart."""
    wall = np.asarray(spec.wall if spec.wall is not None else palette.wall, dtype=np.float64)
    roof = np.asarray(palette.roof if spec.roof is None else weathered(np.asarray(spec.roof), palette.roof))
    gothic = spec.era in ("gothic", "medieval", "victorian")
    stone = _stone(spec, wall, palette, salt)
    roofing = tiles(roof, salt)
    plan = plan_of(spec)
    if spec.kind == "church":
        b = Builder(spacing, church_yaw())
        church(b, spec, stone, roofing, gothic or spec.era == "", below + BURIED_M)
    elif spec.kind == "chapel":
        b = Builder(spacing)
        white = spec.wall is not None and min(spec.wall) > 0.8
        chapel(b, spec, plaster(wall, salt) if white or spec.wall == MATERIALS["plaster"] else stone, roofing, gothic)
    elif spec.kind == "tower":
        b = Builder(spacing)
        tower(b, spec, stone, roofing, gothic or spec.roof is not None)
    elif spec.kind == "house":
        b = Builder(spacing)
        houses(b, spec, wall, roof, palette.facades, salt)
    elif spec.kind == "bridge":
        b = Builder(spacing)
        deck = wall if spec.wall is not None else np.asarray(WOOD) * 0.6 + np.asarray(palette.wall) * 0.4
        footbridge(b, spec, deck, below + BURIED_M, salt)
        return Built(b.cloud(), plan)  # on its piers: no plinth
    else:
        b = Builder(spacing)
        _simple(b, spec, palette, stone, salt)
        if spec.kind in ("tree", "rock"):
            return Built(b.cloud(), plan)
    base = Builder(spacing)  # the plan is already turned as the structure stands: not turned again
    _plinth(base, plan, below + BURIED_M, masonry(wall * 0.72, salt + 1))
    return Built(SplatCloud.concat([b.cloud(), base.cloud()]), plan)


def plan_of(spec: StructureSpec) -> tuple[np.ndarray, ...]:
    """The convex polygons, (x, z) [4, 2] each in the structure's frame, that it stands on."""
    s = spec.scale
    if spec.kind == "church":  # its walls' plan: the buttresses stand on the nave's plinth's ledge
        (length, width), side = (v * s for v in CHURCH_NAVE_M), CHURCH_TOWER_M * s
        nave = _rect(-side / 2, 0.0, length, width)
        tower = _rect(-side / 2 + length / 2 + side / 2, 0.0, side, side)
        return (_turn(nave, church_yaw()), _turn(tower, church_yaw()))
    if spec.kind == "chapel":
        return (_rect(0.0, 0.0, CHAPEL_M[0] * s, CHAPEL_M[1] * s),)
    if spec.kind == "tower":
        return (_rect(0.0, 0.0, TOWER_M * s, TOWER_M * s),)
    if spec.kind == "house":
        row = house_row(spec.count, s)
        street = -max(d for _, _, d in row) / 2
        return tuple(_rect(cx, street + d / 2, f, d) for cx, f, d in row)
    if spec.kind == "bridge":
        return (_rect(0.0, 0.0, BRIDGE_M[0] * s, BRIDGE_M[1] * s),)
    if spec.kind == "wall":
        return (_rect(0.0, 0.0, 24.0 * s * spec.count, 1.2 * s),)
    if spec.kind == "arch":
        return (_rect(0.0, 0.0, 10.0 * s, 2.0 * s),)
    if spec.kind == "tree":
        return (_rect(0.0, 0.0, 7.0 * s * spec.count, 7.0 * s),)
    return (_rect(0.0, 0.0, 5.0 * s * spec.count, 4.0 * s),)  # rock


def _stone(spec: StructureSpec, wall: np.ndarray, palette: Palette, salt: int) -> Paint:
    """Walls of masonry: the photo's own wall colours in the blocks when the words name none."""
    if spec.wall is None and palette.facades:
        return masonry(wall, salt, wall_tones(palette.facades[0]))
    if spec.wall is not None and min(spec.wall) > 0.8:  # white, marble: rendered, not coursed
        return plaster(wall, salt)
    return masonry(wall, salt, course=0.3 if spec.wall == MATERIALS["brick"] else 0.5)


def _simple(b: Builder, spec: StructureSpec, palette: Palette, stone: Paint, salt: int) -> None:
    """Walls, arches, trees and rocks into ``b``."""
    s = spec.scale
    if spec.kind == "wall":
        length, thick, height = 24.0 * s * spec.count, 1.2 * s, 3.5 * s
        b.box((0, 0), length, thick, 0, height, stone)
        b.lid((0, 0), length, thick, height, stone)
        n = max(2, int(length // (2.0 * s)))
        for k in range(n):
            b.box((-length / 2 + (k + 0.5) * length / n, 0), 1.0 * s, thick, height, 0.9 * s, stone)
            b.lid((-length / 2 + (k + 0.5) * length / n, 0), 1.0 * s, thick, height + 0.9 * s, stone)
        return
    if spec.kind == "arch":
        width, thick, height = 10.0 * s, 2.0 * s, 9.0 * s
        pillar = 2.2 * s
        spring = height * 0.62
        for side in (-1, 1):
            b.box((side * (width / 2 - pillar / 2), 0), pillar, thick, 0, spring, stone)
        inner = width / 2 - pillar
        n = 16
        for k in range(n):
            a0, a1 = math.pi * k / n, math.pi * (k + 1) / n
            for r, sign in ((inner, -1.0), (width / 2, 1.0)):  # the soffit looks in, the extrados out
                p0 = np.array([r * math.cos(a0), spring + r * math.sin(a0), 0.0])
                p1 = np.array([r * math.cos(a1), spring + r * math.sin(a1), 0.0])
                depth = np.array([0.0, 0.0, thick])
                if sign > 0:
                    b.patch(p1 - depth / 2, p0 - p1, depth, stone)
                else:
                    b.patch(p0 - depth / 2, p1 - p0, depth, stone)
            for z in (-thick / 2, thick / 2):
                p0 = np.array([inner * math.cos(a0), spring + inner * math.sin(a0), z])
                radial = np.array([(width / 2 - inner) * math.cos(a0), (width / 2 - inner) * math.sin(a0), 0])
                along = np.array([inner * (math.cos(a1) - math.cos(a0)), inner * (math.sin(a1) - math.sin(a0)), 0])
                if z < 0:
                    b.patch(p0, radial, along, stone)
                else:
                    b.patch(p0, along, radial, stone)
        return
    if spec.kind == "tree":
        for k in range(spec.count):
            cx = (k - (spec.count - 1) / 2) * 7.0 * s
            height = (8.0 + 3.0 * float(hash_to_unit(salt, k, 1))) * s
            b.box((cx, 0), 0.6 * s, 0.6 * s, 0, height * 0.55, solid(BARK))
            crown = np.array([3.0 * s, height * 0.35, 3.0 * s])
            b.blob(np.array([cx, height * 0.62, 0]), crown, palette.foliage, salt + k, 0.25)
        return
    for k in range(spec.count):  # rock
        cx = (k - (spec.count - 1) / 2) * 5.0 * s
        radii = np.array([2.2, 1.4, 1.8]) * s * (0.8 + 0.4 * float(hash_to_unit(salt, k, 2)))
        colour = np.asarray(spec.wall if spec.wall is not None else palette.rock)
        b.blob(np.array([cx, radii[1] * 0.7, 0]), radii, colour, salt + k, 0.3)


def _plinth(b: Builder, plan: tuple[np.ndarray, ...], depth: float, paint: Paint) -> None:
    """A base under each polygon of the plan, from ``depth`` under the floor to a little above it."""
    for polygon in plan:
        ring = polygon if _area(polygon) < 0 else polygon[::-1]  # walls look out (see Builder.wall)
        centre = ring.mean(axis=0)
        for i in range(len(ring)):
            a, c = ring[i], ring[(i + 1) % len(ring)]
            a = a + (a - centre) / max(float(np.linalg.norm(a - centre)), 1e-9) * PLINTH_OUT_M
            c = c + (c - centre) / max(float(np.linalg.norm(c - centre)), 1e-9) * PLINTH_OUT_M
            b.wall((float(a[0]), float(a[1])), (float(c[0]), float(c[1])), -depth, depth + PLINTH_UP_M, paint)


def _area(polygon: np.ndarray) -> float:
    x, z = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.sum(x * np.roll(z, -1) - np.roll(x, -1) * z))


def _rect(cx: float, cz: float, width: float, depth: float) -> np.ndarray:
    return np.array(
        [
            [cx + width / 2, cz - depth / 2],
            [cx - width / 2, cz - depth / 2],
            [cx - width / 2, cz + depth / 2],
            [cx + width / 2, cz + depth / 2],
        ]
    )


def _turn(xz: np.ndarray, yaw: float) -> np.ndarray:
    """Plan points turned as structures.place turns positions."""
    c, s = math.cos(yaw), math.sin(yaw)
    return np.stack([c * xz[:, 0] + s * xz[:, 1], -s * xz[:, 0] + c * xz[:, 1]], axis=1)


def place(cloud: SplatCloud, x: float, z: float, foot_y: float, yaw: float) -> SplatCloud:
    """The local cloud turned by ``yaw`` (radians, about +Y) and stood with its foot at (x, foot_y, z)."""
    c, s = math.cos(yaw), math.sin(yaw)
    turn = np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]])
    positions = cloud.positions.astype(np.float64) @ turn.T + [x, foot_y, z]
    q = np.array([math.cos(yaw / 2), 0.0, math.sin(yaw / 2), 0.0])  # wxyz, about +Y
    r = cloud.rotations.astype(np.float64)
    w0, x0, y0, z0 = q
    w1, x1, y1, z1 = r[:, 0], r[:, 1], r[:, 2], r[:, 3]
    rotations = np.stack(
        [
            w0 * w1 - x0 * x1 - y0 * y1 - z0 * z1,
            w0 * x1 + x0 * w1 + y0 * z1 - z0 * y1,
            w0 * y1 - x0 * z1 + y0 * w1 + z0 * x1,
            w0 * z1 + x0 * y1 - y0 * x1 + z0 * w1,
        ],
        axis=1,
    )
    return SplatCloud.from_arrays(positions, cloud.scales, rotations, cloud.opacities, cloud.colors)
