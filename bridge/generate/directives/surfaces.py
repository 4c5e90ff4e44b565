"""Splat surfaces for word-built structures: walls, gables, roofs, spires, discs and round shells.

A surface is a planar patch sampled on a grid of flat two-sided splats (as the layout's buildings
are), coloured by a :data:`Paint` that is handed metres along and up the patch, so textures (stone
courses, roof tiles, a photo's facade, pointed windows) land in the same place at any spacing.
Splats carry no lighting in the renderers, so each patch is shaded once here by its outward
normal against a fixed light in the structure's frame (its front, -Z, faces the spawn): faces
turned from the light read darker and a box reads as a box, not as a flat cut-out.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from bridge.formats._quat import wxyz_from_matrix
from bridge.formats.splats import SplatCloud
from bridge.generate.hashing import hash_to_unit

COVER = 0.65  # splat std dev over its grid step: a closed surface
THICKNESS = 0.08  # across a surface, of the std dev
AMBIENT = 0.62  # the shade of a face turned away from the light
LIGHT = np.array([-0.45, 0.75, -0.5]) / np.linalg.norm([-0.45, 0.75, -0.5])  # from above, front left
Paint = Callable[[np.ndarray, np.ndarray], np.ndarray]  # (metres along, metres up) -> [N, 3] sRGB
Plan = tuple[float, float]  # (x, z) in the structure's frame
_UP = np.array([0.0, 1.0, 0.0])


def solid(colour: np.ndarray | tuple[float, float, float]) -> Paint:
    c = np.asarray(colour, dtype=np.float64)
    return lambda s, t: np.broadcast_to(c, (np.size(s), 3)).copy()


def shade(normal: np.ndarray) -> float:
    """The light a face with this outward normal gets, AMBIENT to 1."""
    return AMBIENT + (1.0 - AMBIENT) * max(0.0, float(np.dot(normal, LIGHT)))


class Builder:
    """Collects surface patches at one grid spacing."""

    def __init__(self, spacing: float, yaw: float = 0.0) -> None:
        """``yaw``: everything added is turned this far about +Y (radians, as structures.place
        turns) before it is shaded, so a plan drawn square to its axes can stand turned."""
        self.spacing = spacing
        c, s = math.cos(yaw), math.sin(yaw)
        self.turn = np.array([[c, 0.0, s], [0.0, 1.0, 0.0], [-s, 0.0, c]])
        self.parts: list[SplatCloud] = []

    def patch(
        self, origin: np.ndarray, u: np.ndarray, v: np.ndarray, paint: Paint, gable: float = 0.0, point: bool = False
    ) -> None:
        """The parallelogram origin + s*u + t*v, s and t in [0, 1], its outward face u x v. With
        ``gable`` > 0 the top ``gable`` metres of it are a triangle rising to the middle of its top
        edge (a wall with its gable); with ``point``, the whole patch is such a triangle."""
        origin, u, v = (np.asarray(a, dtype=np.float64) for a in (origin, u, v))
        lu, lv = float(np.linalg.norm(u)), float(np.linalg.norm(v))
        if lu < 1e-6 or lv < 1e-6:
            return
        nu, nv = max(1, math.ceil(lu / self.spacing)), max(1, math.ceil(lv / self.spacing))
        s, t = np.meshgrid((np.arange(nu) + 0.5) / nu, (np.arange(nv) + 0.5) / nv, indexing="xy")
        s, t = s.ravel(), t.ravel()
        rect = 0.0 if point else 1.0 - min(gable / lv, 1.0)  # where the triangle starts, of t
        if point or gable > 0:
            keep = (t <= rect) | ((t - rect) / max(1.0 - rect, 1e-9) <= 1.0 - np.abs(2.0 * s - 1.0))
            s, t = s[keep], t[keep]
        if s.size == 0:
            return
        positions = origin + s[:, None] * u + t[:, None] * v
        du, dv = u / lu, v / lv
        normal = np.cross(du, dv)
        normal /= max(float(np.linalg.norm(normal)), 1e-9)
        step_u, step_v = lu / nu, lv / nv
        scales = np.tile([step_u * COVER, step_v * COVER, min(step_u, step_v) * COVER * THICKNESS], (s.size, 1))
        self.flat(positions, np.stack([du, dv, normal], axis=1), scales, paint(s * lu, t * lv))

    def wall(self, a: Plan, b: Plan, y0: float, height: float, paint: Paint, gable: float = 0.0) -> None:
        """An upright wall from plan point ``a`` to ``b`` (``a`` on the left seen from outside:
        outside is to the right of a -> b seen from above, +y up), with a gable on top."""
        u = np.array([b[0] - a[0], 0.0, b[1] - a[1]])
        self.patch(np.array([a[0], y0, a[1]]), u, _UP * (height + gable), paint, gable=gable)

    def box(
        self,
        centre: Plan,
        width: float,
        depth: float,
        y0: float,
        height: float,
        paints: Paint | tuple[Paint, Paint, Paint, Paint],
        gables: tuple[float, float] = (0.0, 0.0),
    ) -> None:
        """Four walls (x extent ``width``, z extent ``depth``); ``paints`` per wall: the -z (front),
        +x, +z and -x walls; ``gables[0]`` metres of gable on the +x and -x walls (a ridge along
        x) or, negative, on the front and back (a ridge along z)."""
        cx, cz = centre
        x0, x1, z0, z1 = cx - width / 2, cx + width / 2, cz - depth / 2, cz + depth / 2
        front, right, back, left = paints if isinstance(paints, tuple) else (paints,) * 4
        g_side, g_end = max(gables[0], 0.0), max(-gables[0], 0.0)
        self.wall((x1, z0), (x0, z0), y0, height, front, g_end)
        self.wall((x1, z1), (x1, z0), y0, height, right, g_side)
        self.wall((x0, z1), (x1, z1), y0, height, back, g_end)
        self.wall((x0, z0), (x0, z1), y0, height, left, g_side)

    def gable_roof(
        self,
        centre: Plan,
        length: float,
        width: float,
        eaves: float,
        rise: float,
        paint: Paint,
        along_x: bool = True,
        overhang: float = 0.35,
    ) -> None:
        """Two slopes meeting at a ridge ``rise`` above ``eaves``; the ridge runs along x (or z)."""
        cx, cz = centre
        half = width / 2 + overhang
        drop = overhang * rise / (width / 2)  # the slope carried on past the wall
        for side in (-1.0, 1.0):
            # Each slope's outward face (u x v) looks up and away from the ridge.
            if along_x:
                eave = np.array([cx - side * (length / 2 + overhang), eaves - drop, cz + side * half])
                u = np.array([side * (length + 2 * overhang), 0.0, 0.0])
                v = np.array([0.0, rise + drop, -side * half])
            else:
                eave = np.array([cx + side * half, eaves - drop, cz + side * (length / 2 + overhang)])
                u = np.array([0.0, 0.0, -side * (length + 2 * overhang)])
                v = np.array([-side * half, rise + drop, 0.0])
            self.patch(eave, u, v, paint)

    def spire(self, centre: Plan, half: float, y: float, rise: float, paint: Paint, sides: int = 4) -> None:
        """A pointed roof of ``sides`` faces over a base of half-width ``half`` at ``y``, apex ``rise`` up."""
        cx, cz = centre
        radius = half / math.cos(math.pi / sides) if sides > 4 else half * math.sqrt(2)
        angles = math.pi / sides + 2 * math.pi * np.arange(sides) / sides
        corners = [(cx + radius * math.cos(a), cz + radius * math.sin(a)) for a in angles]
        apex = np.array([cx, y + rise, cz])
        for i in range(sides):
            # Clockwise from above (x right, z towards the viewer): u x v points out of the spire.
            (bx, bz), (ax, az) = corners[i], corners[(i + 1) % sides]
            a = np.array([ax, y, az])
            u = np.array([bx - ax, 0.0, bz - az])
            self.patch(a, u, apex - (a + u / 2), paint, point=True)

    def lid(self, centre: Plan, width: float, depth: float, y: float, paint: Paint) -> None:
        """A flat horizontal patch facing up."""
        cx, cz = centre
        self.patch([cx - width / 2, y, cz + depth / 2], [width, 0, 0], [0, 0, -depth], paint)

    def disc(self, centre: np.ndarray, normal: np.ndarray, radius: float, colour: np.ndarray) -> None:
        """A flat round patch (a rose window, a clock) facing ``normal`` (horizontal)."""
        across = np.cross(_UP, normal)
        corner = centre - across * radius - _UP * radius
        n = max(1, math.ceil(2 * radius / self.spacing))
        s, t = np.meshgrid((np.arange(n) + 0.5) / n, (np.arange(n) + 0.5) / n, indexing="xy")
        keep = (s - 0.5) ** 2 + (t - 0.5) ** 2 <= 0.25
        positions = corner + (s[keep, None] * across + t[keep, None] * _UP) * 2 * radius
        step = 2 * radius / n
        scales = np.tile([step * COVER, step * COVER, step * COVER * THICKNESS], (len(positions), 1))
        colours = np.broadcast_to(np.asarray(colour, dtype=np.float64), (len(positions), 3))
        self.flat(positions, np.stack([across, _UP, normal], axis=1), scales, colours)

    def blob(self, centre: np.ndarray, radii: np.ndarray, colour: np.ndarray, salt: int, roughness: float) -> None:
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
        lit = 0.75 + 0.35 * (direction[:, 1:2] * 0.5 + 0.5)  # lit from above: reads as round
        grain = 0.92 + 0.16 * hash_to_unit(np.arange(n), salt, 9)
        colours = np.asarray(colour, dtype=np.float64) * lit * grain[:, None]
        self.add(positions @ self.turn.T, np.full((n, 3), size), np.tile([1.0, 0, 0, 0], (n, 1)), colours)

    def flat(self, positions: np.ndarray, frame: np.ndarray, scales: np.ndarray, colours: np.ndarray) -> None:
        """Flat splats of one surface (``frame``: its along, up and outward axes as columns),
        turned by the builder's yaw and shaded by where their face then looks."""
        frame = self.turn @ frame
        lit = np.asarray(colours, dtype=np.float64) * shade(frame[:, 2])
        frames = frame[None].repeat(len(positions), axis=0)
        self.add(positions @ self.turn.T, scales, wxyz_from_matrix(frames), lit)

    def add(self, positions: np.ndarray, scales: np.ndarray, rotations: np.ndarray, colours: np.ndarray) -> None:
        n = len(positions)
        self.parts.append(SplatCloud.from_arrays(positions, scales, rotations, np.ones(n), np.clip(colours, 0, 1)))

    def cloud(self) -> SplatCloud:
        return SplatCloud.concat(self.parts)
