"""Structures for ``place`` directives, built as splat surfaces from a parsed description.

Each builder works in a local frame: the structure's foot at y = 0, its centre at the origin, its
front facing -Z. Walls, roofs and decks are planar patches (rectangles and triangles) sampled on
a grid of flat two-sided splats, as the layout's buildings are; crowns and rocks are shells of
round splats. :func:`build_structure` returns the local cloud; the caller turns and stands it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bridge.formats._quat import wxyz_from_matrix
from bridge.formats.splats import SplatCloud
from bridge.generate.hashing import hash_to_unit
from bridge.world.structure_grammar import CHURCH_NAVE_M, CHURCH_TOWER_M, CHURCH_TURN_DEG, StructureSpec

COVER = 0.65  # splat std dev over its grid step: a closed surface
THICKNESS = 0.08  # across a surface, of the std dev
WINDOW_DARK = 0.35  # a window's colour over its wall's
Colour = tuple[float, float, float] | np.ndarray


@dataclass(frozen=True)
class Palette:
    """The world's colours a structure wears unless its words say otherwise."""

    wall: np.ndarray  # [3] sRGB
    roof: np.ndarray  # [3]
    foliage: np.ndarray  # [3]
    rock: np.ndarray  # [3]


class _Builder:
    """Collects surface patches at one grid spacing."""

    def __init__(self, spacing: float) -> None:
        self.spacing = spacing
        self.parts: list[SplatCloud] = []

    def patch(
        self,
        origin: np.ndarray,
        u: np.ndarray,
        v: np.ndarray,
        colour: Colour,
        triangle: bool = False,
        windows: tuple[float, float] | None = None,
    ) -> None:
        """The parallelogram origin + s*u + t*v (s, t in [0, 1]); with ``triangle``, only the part
        under the line from its top centre (a gable). ``windows``: (bay, storey) metres, darker
        openings in that rhythm."""
        origin, u, v = (np.asarray(a, dtype=np.float64) for a in (origin, u, v))
        lu, lv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
        if lu < 1e-6 or lv < 1e-6:
            return
        nu, nv = max(1, math.ceil(lu / self.spacing)), max(1, math.ceil(lv / self.spacing))
        s, t = np.meshgrid((np.arange(nu) + 0.5) / nu, (np.arange(nv) + 0.5) / nv, indexing="xy")
        s, t = s.ravel(), t.ravel()
        if triangle:
            keep = t <= 1.0 - np.abs(2.0 * s - 1.0)
            s, t = s[keep], t[keep]
        positions = origin + s[:, None] * u + t[:, None] * v
        colours = np.broadcast_to(np.asarray(colour, dtype=np.float64), (s.size, 3)).copy()
        if windows is not None:
            bay, storey = windows
            along, up = s * lu, t * lv
            in_bay = np.abs(np.mod(along, bay) / bay - 0.5) < 0.2
            in_storey = (np.mod(up, storey) / storey > 0.3) & (np.mod(up, storey) / storey < 0.78)
            inset = (along > 0.6) & (along < lu - 0.6)
            colours[in_bay & in_storey & inset] *= WINDOW_DARK
        du, dv = u / lu, v / lv
        normal = np.cross(du, dv)
        normal /= max(float(np.linalg.norm(normal)), 1e-9)
        frame = np.stack([du, dv, normal], axis=1)[None].repeat(s.size, axis=0)
        step_u, step_v = lu / nu, lv / nv
        scales = np.tile([step_u * COVER, step_v * COVER, min(step_u, step_v) * COVER * THICKNESS], (s.size, 1))
        self.add(positions, scales, wxyz_from_matrix(frame), colours)

    def box(
        self,
        centre: tuple[float, float],
        width: float,
        depth: float,
        y0: float,
        height: float,
        colour: Colour,
        windows: tuple[float, float] | None = None,
    ) -> None:
        """Four walls of a box (x extent ``width``, z extent ``depth``) from y0 up ``height``."""
        cx, cz = centre
        x0, x1, z0, z1 = cx - width / 2, cx + width / 2, cz - depth / 2, cz + depth / 2
        up = np.array([0.0, height, 0.0])
        self.patch([x0, y0, z0], [width, 0, 0], up, colour, windows=windows)  # front (-z)
        self.patch([x1, y0, z1], [-width, 0, 0], up, colour, windows=windows)
        self.patch([x0, y0, z1], [0, 0, -depth], up, colour, windows=windows)
        self.patch([x1, y0, z0], [0, 0, depth], up, colour, windows=windows)

    def lid(self, centre: tuple[float, float], width: float, depth: float, y: float, colour: Colour) -> None:
        cx, cz = centre
        self.patch([cx - width / 2, y, cz - depth / 2], [width, 0, 0], [0, 0, depth], colour)

    def gable_roof(
        self,
        centre: tuple[float, float],
        width: float,
        depth: float,
        eaves: float,
        rise: float,
        roof: Colour,
        wall: Colour,
    ) -> None:
        """A ridge along x over a box; gable triangles close the ends."""
        cx, cz = centre
        overhang = 0.3
        x0, w = cx - width / 2 - overhang, width + 2 * overhang
        for side in (-1.0, 1.0):
            eave = np.array([x0, eaves - 0.15, cz + side * (depth / 2 + overhang)])
            ridge = np.array([0.0, rise + 0.15, -side * (depth / 2 + overhang)])
            self.patch(eave, [w, 0, 0], ridge, roof)
        for end in (-1.0, 1.0):
            base = [cx + end * width / 2, eaves, cz - depth / 2]
            self.patch(base, [0, 0, depth], [0, rise, 0], wall, triangle=True)

    def pyramid(self, centre: tuple[float, float], half: float, y: float, rise: float, colour: Colour) -> None:
        """A four-sided spire or hipped cap of base 2*half, apex ``rise`` above ``y``."""
        cx, cz = centre
        corners = [(-half, -half), (half, -half), (half, half), (-half, half)]
        for i in range(4):
            (ax, az), (bx, bz) = corners[i], corners[(i + 1) % 4]
            a = np.array([cx + ax, y, cz + az])
            u = np.array([bx - ax, 0.0, bz - az])
            v = np.array([-(ax + bx) / 2, rise, -(az + bz) / 2])  # from the edge's middle to the apex
            self.patch(a, u, v, colour, triangle=True)

    def cylinder(
        self,
        centre: tuple[float, float],
        radius: float,
        y0: float,
        height: float,
        colour: Colour,
        cone: float = 0.0,
        cone_colour: Colour = (0.3, 0.3, 0.3),
    ) -> None:
        """Upright walls of a cylinder; with ``cone`` > 0, a cone of that height in ``cone_colour`` on top."""
        cx, cz = centre
        n = max(6, math.ceil(2 * math.pi * radius / self.spacing))
        angles = 2 * math.pi * np.arange(n) / n
        for a0, a1 in zip(angles, np.append(angles[1:], 2 * math.pi), strict=True):
            p0 = np.array([cx + radius * math.sin(a0), y0, cz - radius * math.cos(a0)])
            p1 = np.array([cx + radius * math.sin(a1), y0, cz - radius * math.cos(a1)])
            self.patch(p0, p1 - p0, [0, height, 0], colour)
            if cone > 0:
                top0, top1 = p0 + np.array([0, height, 0]), p1 + np.array([0, height, 0])
                apex = np.array([cx, y0 + height + cone, cz])
                self.patch(top0, top1 - top0, apex - (top0 + top1) / 2, cone_colour, True)

    def disc(self, centre: np.ndarray, normal: np.ndarray, radius: float, colour: Colour) -> None:
        """A flat round patch (a rose window) facing ``normal`` (horizontal), ``radius`` across."""
        across = np.cross([0.0, 1.0, 0.0], normal)
        corner = centre - across * radius - np.array([0.0, radius, 0.0])
        n = max(1, math.ceil(2 * radius / self.spacing))
        s, t = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="xy")
        keep = (s - 0.5) ** 2 + (t - 0.5) ** 2 <= 0.25
        positions = corner + (s[keep, None] * across + t[keep, None] * np.array([0.0, 1.0, 0.0])) * 2 * radius
        step = 2 * radius / n
        frame = np.stack([across, [0.0, 1.0, 0.0], normal], axis=1)[None].repeat(len(positions), axis=0)
        scales = np.tile([step * COVER, step * COVER, step * COVER * THICKNESS], (len(positions), 1))
        colours = np.broadcast_to(np.asarray(colour, dtype=np.float64), (len(positions), 3))
        self.add(positions, scales, wxyz_from_matrix(frame), colours)

    def blob(self, centre: np.ndarray, radii: np.ndarray, colour: Colour, salt: int, roughness: float) -> None:
        """A closed shell of round splats over an ellipsoid (crowns, rocks), its surface lumpy by ``roughness``."""
        area = 4 * math.pi * float(np.mean(radii)) ** 2
        n = max(12, min(6000, math.ceil(area / self.spacing**2)))
        i = np.arange(n) + 0.5
        polar = np.arccos(1 - 2 * i / n)
        azimuth = math.pi * (1 + 5**0.5) * i
        direction = np.stack([np.cos(azimuth) * np.sin(polar), np.cos(polar), np.sin(azimuth) * np.sin(polar)], 1)
        bump = 1.0 + roughness * (hash_to_unit(np.arange(n), salt, 7) - 0.5)
        positions = np.asarray(centre) + direction * np.asarray(radii) * bump[:, None]
        size = math.sqrt(area / n) * 0.8
        shade = 0.75 + 0.35 * (direction[:, 1:2] * 0.5 + 0.5)  # lit from above: reads as round
        grain = 0.92 + 0.16 * hash_to_unit(np.arange(n), salt, 9)
        colours = np.asarray(colour, dtype=np.float64) * shade * grain[:, None]
        self.add(positions, np.full((n, 3), size), np.tile([1.0, 0, 0, 0], (n, 1)), colours)

    def add(self, positions: np.ndarray, scales: np.ndarray, rotations: np.ndarray, colours: np.ndarray) -> None:
        n = len(positions)
        self.parts.append(SplatCloud.from_arrays(positions, scales, rotations, np.ones(n), np.clip(colours, 0, 1)))

    def cloud(self) -> SplatCloud:
        return SplatCloud.concat(self.parts)


def _mix(colour: Colour, other: Colour, t: float) -> np.ndarray:
    return np.asarray(colour, dtype=np.float64) * (1 - t) + np.asarray(other, dtype=np.float64) * t


def build_structure(spec: StructureSpec, palette: Palette, spacing: float, salt: int) -> SplatCloud:
    """The structure in its local frame (foot at y = 0, front facing -Z), splats ``spacing`` apart."""
    wall = np.asarray(spec.wall if spec.wall is not None else palette.wall, dtype=np.float64)
    roof = np.asarray(spec.roof if spec.roof is not None else palette.roof, dtype=np.float64)
    b = _Builder(spacing)
    s = spec.scale
    gothic = spec.era in ("gothic", "medieval", "victorian")
    if spec.kind == "church":
        return place(_church(spec, wall, roof, gothic, spacing), 0.0, 0.0, 0.0, math.radians(-CHURCH_TURN_DEG))
    if spec.kind == "chapel":
        width, depth = 7.0 * s, 11.0 * s
        eaves = 4.0 * s * max(1, spec.storeys)
        b.box((0, 0), width, depth, 0, eaves, wall, windows=(2.5 * s, eaves))
        b.gable_roof((0, 0), width, depth, eaves, width * 0.55, roof, wall)
        # A bell-cote on the front gable: small, open, a chapel's mark.
        cote = 1.6 * s
        ridge = eaves + width * 0.55
        b.box((0, -depth / 2 + cote / 2), cote, cote, ridge - 0.6 * s, 2.2 * s, wall)
        b.pyramid((0, -depth / 2 + cote / 2), cote / 2 + 0.15, ridge + 1.6 * s, 1.6 * s, roof)
    elif spec.kind == "tower":
        radius = 3.5 * s
        height = (4.0 * (spec.storeys or 6)) * s * (1.25 if spec.tall else 1.0)
        if gothic or spec.roof is not None:
            b.cylinder((0, 0), radius, 0, height, wall, cone=radius * 2.2, cone_colour=roof)
        else:
            b.cylinder((0, 0), radius, 0, height, wall)
            b.lid((0, 0), radius * 2, radius * 2, height, _mix(wall, (0, 0, 0), 0.25))
            for k in range(8):  # battlements
                a = 2 * math.pi * k / 8
                at = (radius * 0.85 * math.sin(a), -radius * 0.85 * math.cos(a))
                b.box(at, 1.0 * s, 1.0 * s, height, 1.1 * s, wall)
        # Arrow slits up the front.
        for k in range(max(1, int(height // (4 * s)) - 1)):
            slit = [-0.25 * s, (2.5 + 4 * k) * s, -radius - 0.05]
            b.patch(slit, [0.5 * s, 0, 0], [0, 1.4 * s, 0], wall * WINDOW_DARK)
    elif spec.kind == "house":
        width, depth = 8.5 * s, 8.0 * s
        eaves = 3.0 * s * (spec.storeys or 2)
        total = width * spec.count + 1.0 * (spec.count - 1)
        for k in range(spec.count):
            cx = -total / 2 + width / 2 + k * (width + 1.0)
            tint = 0.94 + 0.12 * float(hash_to_unit(salt, k, 3))  # neighbours differ a little
            b.box((cx, 0), width, depth, 0, eaves, wall * tint, windows=(2.4 * s, 3.0 * s))
            b.gable_roof((cx, 0), width, depth, eaves, depth * 0.45, roof, wall * tint)
            door = _mix(wall, (0.2, 0.12, 0.06), 0.7)
            b.patch([cx - 0.6 * s, 0, -depth / 2 - 0.05], [1.2 * s, 0, 0], [0, 2.1 * s, 0], door)
    elif spec.kind == "wall":
        length, thick, height = 24.0 * s * spec.count, 1.2 * s, 3.5 * s
        b.box((0, 0), length, thick, 0, height, wall)
        b.lid((0, 0), length, thick, height, wall * 0.85)
        n = max(2, int(length // (2.0 * s)))
        for k in range(n):
            b.box((-length / 2 + (k + 0.5) * length / n, 0), 1.0 * s, thick, height, 0.9 * s, wall)
    elif spec.kind == "bridge":
        # A humped footbridge along z: an arched deck with its fascia, railings on posts, and
        # piers standing on the ground, open beneath.
        width, span, rise = 4.0 * s, 22.0 * s, 2.5 * s
        segments = 12
        zs = np.linspace(-span / 2, span / 2, segments + 1)
        ys = rise * (1 - (2 * zs / span) ** 2) + 0.4 * s
        deck = wall if spec.wall is not None else _mix(palette.wall, (0.45, 0.3, 0.18), 0.5)
        for k in range(segments):
            p0, p1 = np.array([-width / 2, ys[k], zs[k]]), np.array([-width / 2, ys[k + 1], zs[k + 1]])
            b.patch(p0, [width, 0, 0], p1 - p0, deck)
            for side in (-width / 2, width / 2):
                edge = np.array([side, ys[k], zs[k]])
                b.patch(edge - np.array([0, 0.45 * s, 0]), p1 - p0, [0, 0.45 * s, 0], deck * 0.7)  # fascia
                b.patch(edge + np.array([0, 0.95 * s, 0]), p1 - p0, [0, 0.18 * s, 0], deck * 0.85)  # hand rail
                b.box((side, zs[k]), 0.14 * s, 0.14 * s, ys[k], 1.1 * s, deck * 0.85)  # rail post
        for z in (-span / 2, -span / 4, 0.0, span / 4, span / 2):  # piers
            top = rise * (1 - (2 * z / span) ** 2) + 0.4 * s
            for side in (-width / 2 + 0.3 * s, width / 2 - 0.3 * s):
                b.box((side, z), 0.5 * s, 0.5 * s, 0.0, top, deck * 0.6)
    elif spec.kind == "arch":
        width, thick, height = 10.0 * s, 2.0 * s, 9.0 * s
        pillar = 2.2 * s
        for side in (-1, 1):
            b.box((side * (width / 2 - pillar / 2), 0), pillar, thick, 0, height * 0.62, wall)
        inner = width / 2 - pillar
        n = 16
        for k in range(n):
            a0, a1 = math.pi * k / n, math.pi * (k + 1) / n
            for r in (inner, width / 2):
                p0 = np.array([r * math.cos(a0), height * 0.62 + r * math.sin(a0), -thick / 2])
                p1 = np.array([r * math.cos(a1), height * 0.62 + r * math.sin(a1), -thick / 2])
                b.patch(p0, p1 - p0, [0, 0, thick], wall)
            for z in (-thick / 2, thick / 2):
                p0 = np.array([inner * math.cos(a0), height * 0.62 + inner * math.sin(a0), z])
                radial = [(width / 2 - inner) * math.cos(a0), (width / 2 - inner) * math.sin(a0), 0]
                along = [inner * (math.cos(a1) - math.cos(a0)), inner * (math.sin(a1) - math.sin(a0)), 0]
                b.patch(p0, radial, along, wall)
    elif spec.kind == "tree":
        for k in range(spec.count):
            cx = (k - (spec.count - 1) / 2) * 7.0 * s
            height = (8.0 + 3.0 * float(hash_to_unit(salt, k, 1))) * s
            b.cylinder((cx, 0), 0.35 * s, 0, height * 0.55, (0.30, 0.21, 0.13))
            crown = np.array([3.0 * s, height * 0.35, 3.0 * s])
            b.blob(np.array([cx, height * 0.62, 0]), crown, palette.foliage, salt + k, 0.25)
    else:  # rock
        for k in range(spec.count):
            cx = (k - (spec.count - 1) / 2) * 5.0 * s
            radii = np.array([2.2, 1.4, 1.8]) * s * (0.8 + 0.4 * float(hash_to_unit(salt, k, 2)))
            b.blob(
                np.array([cx, radii[1] * 0.7, 0]), radii, wall if spec.wall is not None else palette.rock, salt + k, 0.3
            )
    return b.cloud()


def _church(spec: StructureSpec, wall: np.ndarray, roof: np.ndarray, gothic: bool, spacing: float) -> SplatCloud:
    """A church before its turn (structure_grammar.church_plan): a nave along x with a steep gable
    roof, its west gable (-x) with a door and a rose window, tall windows down its sides, and the
    tower at its east end rising clear of the ridge under a spire. Sized so that 40 m from the
    spawn, the spire stands inside a photo camera's frame (about 15-18 m up there)."""
    b = _Builder(spacing)
    s = spec.scale
    (length, width), side = (v * s for v in CHURCH_NAVE_M), CHURCH_TOWER_M * s
    eaves = 2.5 * s * spec.storeys if spec.storeys else (4.2 if gothic else 3.6) * s
    rise = width * (0.85 if gothic else 0.5)  # a gothic roof is steep: its gable reads as pointed
    nave_x = -side / 2
    b.box((nave_x, 0), length, width, 0, eaves, wall, windows=(2.6 * s, eaves))
    b.gable_roof((nave_x, 0), length, width, eaves, rise, roof, wall)
    # The west front: a door and, high in the gable, a round window.
    west = nave_x - length / 2 - 0.06
    dark = wall * WINDOW_DARK
    b.patch([west, 0, 0.8 * s], [0, 0, -1.6 * s], [0, 2.6 * s, 0], dark)
    b.disc(np.array([west, eaves + rise * 0.25, 0.0]), np.array([-1.0, 0.0, 0.0]), 1.1 * s, dark)
    # The tower: belfry openings near its top, a spire (a low cap when not gothic).
    tx = nave_x + length / 2 + side / 2
    tower_h = eaves + rise + 1.4 * s
    b.box((tx, 0), side, side, 0, tower_h, wall)
    for k in range(4):
        a = math.pi / 2 * k
        normal, along = np.array([math.cos(a), 0.0, math.sin(a)]), np.array([-math.sin(a), 0.0, math.cos(a)])
        centre = np.array([tx, tower_h - 2.0 * s, 0.0]) + normal * (side / 2 + 0.06)
        b.patch(centre - along * 0.5 * s - [0, 1.0 * s, 0], along * 1.0 * s, [0, 2.0 * s, 0], dark)
    b.pyramid((tx, 0), side / 2 + 0.2, tower_h, (5.2 if gothic else 1.8) * s, roof)
    return b.cloud()


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
