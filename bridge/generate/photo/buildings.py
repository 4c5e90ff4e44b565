"""The layout's buildings as splats: walls and roofs as surfaces of flat splats on a grid.

Each building is a box with a gable (or flat) roof. Its four walls and its roof planes are
sampled on a grid of ``WALL_SPACING_M * detail`` (see generator.detail_scale) (coarser off the street front; never fewer
than one splat per wall): flat splats lying in the surface, wide enough to close up with their
neighbours, coloured by the
dressing (facades synthesised from the photo's, a tiled roof in its roof colour). Splats are
two-sided, so a wall reads as solid from inside a courtyard too.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.formats._quat import wxyz_from_matrix
from bridge.formats.splats import SplatCloud
from bridge.generate.photo.dressing import FacadeSource, facade_colours, roof_colours
from bridge.generate.photo.layout import Buildings

WALL_SPACING_M = 0.3  # splat spacing on the street front of a 32 m tile (detail 1)
# A street front a viewer walks past is seen from 3-4 m: at 0.15 m its windows and timbers were
# a blur. 7.5 cm matches the facade samples' finest texels (facades.MIN_TEXEL_M and the photo's
# 3-6 cm pixels on its walls), and only the finest (8 m) tiles go that fine.
FINEST_WALL_M = 0.075
BACK_SPACING = 1.6  # side and back walls and roofs, seen less and from farther: this much coarser
FINEST_BACK_M = 0.24  # ... and never finer than this: the finer street front is what is looked at
COVER = 0.72  # splat std dev as a fraction of its grid step: closed surfaces, sharp windows
# (at 0.62 a wall seen from a few metres showed a lattice of its splats: the wall behind
# showed through between them)
THICKNESS = 0.08  # of the std dev, across the surface
_UP = np.array([0.0, 1.0, 0.0])


@dataclass(frozen=True)
class _Surfaces:
    """Planar rectangles (optionally with a gable triangle on top), one row each."""

    centre: np.ndarray  # [n, 3] the middle of the rectangle's bottom edge
    tangent: np.ndarray  # [n, 3] unit, along the bottom edge (left to right seen from the front)
    rise: np.ndarray  # [n, 3] unit, up the surface
    normal: np.ndarray  # [n, 3] unit, out of the front
    width: np.ndarray  # [n]
    height: np.ndarray  # [n] of the rectangle
    base: np.ndarray  # [n] the rectangle's bottom above the building's foot (what a facade is read at)
    gable: np.ndarray  # [n] a triangle of this height on top, its apex over the centre
    building: np.ndarray  # [n] index into the Buildings
    wall: np.ndarray  # [n] which surface of its building (0-3 walls, 4-5 roof)


def building_splats(
    buildings: Buildings, ground_y: np.ndarray, detail: float, facades: list[FacadeSource], roof: np.ndarray
) -> SplatCloud:
    """Splats of ``buildings`` standing on ``ground_y`` (per building), built at ``detail``."""
    if len(buildings) == 0:
        return SplatCloud.empty()
    spacing = max(WALL_SPACING_M * detail, FINEST_WALL_M)
    walls, roofs = _walls(buildings, ground_y), _roofs(buildings, ground_y)
    clouds = []
    for surfaces, is_roof in ((walls, False), (roofs, True)):
        if surfaces.width.size == 0:
            continue
        positions, s, y, index, step = _sample(surfaces, spacing)
        y = y + surfaces.base[index]
        ident = buildings.ident[surfaces.building[index]]
        if is_roof:
            colours = roof_colours(roof, s, y, ident)
        elif facades:
            which = np.mod(ident, len(facades))
            colours = np.zeros((index.size, 3), dtype=np.float32)
            for f, source in enumerate(facades):
                at = which == f
                if at.any():
                    colours[at] = facade_colours(
                        source, s[at], y[at], surfaces.width[index[at]], ident[at], surfaces.wall[index[at]], spacing
                    )
        else:
            colours = np.broadcast_to(np.asarray(roof, np.float32), (index.size, 3))
        # Local x along the surface, y up it, z out of it (tangent x rise = normal: a rotation).
        frames = np.stack([surfaces.tangent, surfaces.rise, surfaces.normal], axis=2)
        rotations = wxyz_from_matrix(frames)[index]
        scales = np.stack(
            [step[:, 0] * COVER, step[:, 1] * COVER, np.minimum(step[:, 0], step[:, 1]) * COVER * THICKNESS], axis=1
        )
        clouds.append(SplatCloud.from_arrays(positions, scales, rotations, np.ones(index.size), np.clip(colours, 0, 1)))
    return SplatCloud.concat(clouds)


def _walls(b: Buildings, ground_y: np.ndarray) -> _Surfaces:
    n = len(b)
    front = np.stack([b.facing[:, 0], np.zeros(n), b.facing[:, 1]], axis=1)
    # Left to right as seen from the front: the viewer looks along -front, so right is -front x up.
    side = np.cross(-front, _UP)
    base = np.stack([b.x, ground_y, b.z], axis=1)
    half_d, half_f = (b.depth / 2)[:, None], (b.frontage / 2)[:, None]
    centres = [base + front * half_d, base - front * half_d, base + side * half_f, base - side * half_f]
    normals = [front, -front, side, -side]
    tangents = [side, -side, -front, front]
    widths = [b.frontage, b.frontage, b.depth, b.depth]
    gables = [np.zeros(n), np.zeros(n), b.roof_m, b.roof_m]  # the ridge runs along the frontage
    # Side walls start above the neighbour they share a party wall with (the rest is hidden).
    base = np.concatenate(
        [np.zeros(n), np.zeros(n), np.minimum(b.shelter_m[:, 0], b.height), np.minimum(b.shelter_m[:, 1], b.height)]
    )
    centre = np.concatenate(centres) + _UP * base[:, None]
    return _Surfaces(
        centre=centre,
        tangent=np.concatenate(tangents),
        rise=np.tile(_UP, (4 * n, 1)),
        normal=np.concatenate(normals),
        width=np.concatenate(widths),
        height=np.tile(b.height, 4) - base,
        base=base,
        gable=np.concatenate(gables),
        building=np.tile(np.arange(n), 4),
        wall=np.repeat(np.arange(4), n),
    )


def _roofs(b: Buildings, ground_y: np.ndarray) -> _Surfaces:
    """Two slopes from the eaves (front and back) up to the ridge, or one flat roof."""
    n = len(b)
    front = np.stack([b.facing[:, 0], np.zeros(n), b.facing[:, 1]], axis=1)
    side = np.cross(-front, _UP)
    eaves = np.stack([b.x, ground_y + b.height, b.z], axis=1)
    half_d = b.depth / 2
    gabled = b.roof_m > 0
    centres, tangents, rises, widths, heights, which, surface = [], [], [], [], [], [], []
    for sign, wall in ((1.0, 4), (-1.0, 5)):
        out = front * sign
        slope = np.hypot(half_d, b.roof_m)
        rise = (-out * half_d[:, None] + _UP * b.roof_m[:, None]) / slope[:, None]
        centres.append((eaves + out * half_d[:, None])[gabled])
        tangents.append((side * sign)[gabled])
        rises.append(rise[gabled])
        widths.append(b.frontage[gabled])
        heights.append(slope[gabled])
        which.append(np.flatnonzero(gabled))
        surface.append(np.full(int(gabled.sum()), wall))
    flat = ~gabled
    centres.append((eaves + front * half_d[:, None])[flat])
    tangents.append(side[flat])
    rises.append(-front[flat])
    widths.append(b.frontage[flat])
    heights.append(b.depth[flat])
    which.append(np.flatnonzero(flat))
    surface.append(np.full(int(flat.sum()), 4))
    tangent, rise = np.concatenate(tangents), np.concatenate(rises)
    return _Surfaces(
        centre=np.concatenate(centres),
        tangent=tangent,
        rise=rise,
        normal=np.cross(tangent, rise),
        width=np.concatenate(widths),
        height=np.concatenate(heights),
        base=np.zeros(tangent.shape[0]),
        gable=np.zeros(tangent.shape[0]),
        building=np.concatenate(which),
        wall=np.concatenate(surface),
    )


def _sample(surfaces: _Surfaces, spacing: float) -> tuple[np.ndarray, ...]:
    """Grid points over every surface: (positions [N, 3], s [N] from the left end, y [N] up the
    surface, surface index [N], grid step [N, 2]); gable triangles keep the points under their slopes."""
    total_h = surfaces.height + surfaces.gable
    spacing_here = np.where(surfaces.wall == 0, spacing, max(spacing * BACK_SPACING, FINEST_BACK_M))
    nu = np.maximum(1, np.ceil(surfaces.width / spacing_here)).astype(np.int64)
    nv = np.maximum(1, np.ceil(total_h / spacing_here)).astype(np.int64)
    counts = np.where(total_h > 0.05, nu * nv, 0)  # a party wall hidden to its top has nothing to show
    index = np.repeat(np.arange(counts.size), counts)
    local = np.arange(index.size) - np.repeat(np.cumsum(counts) - counts, counts)
    i, j = local % nu[index], local // nu[index]
    du, dv = surfaces.width / nu, total_h / nv
    s = (i + 0.5) * du[index]
    y = (j + 0.5) * dv[index]
    half = surfaces.width[index] / 2
    over = y - surfaces.height[index]
    gable = surfaces.gable[index]
    keep = (over <= 0) | ((gable > 0) & (over <= gable * (1 - np.abs(s - half) / np.maximum(half, 1e-6))))
    s, y, index = s[keep], y[keep], index[keep]
    positions = (
        surfaces.centre[index]
        + surfaces.tangent[index] * (s - surfaces.width[index] / 2)[:, None]
        + surfaces.rise[index] * y[:, None]
    )
    step = np.stack([du[index], dv[index]], axis=1)
    return positions, s, y, index, step
