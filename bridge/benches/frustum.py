"""What a player sees, on the ground: the precise meaning of "a tile enters the view frustum".

Definition (used by ``worldbridge bench stream``):

- The player's camera is a pinhole at the player's position (eye height included), looking along
  its view direction, with the viewer's vertical FOV and a 16:9 image; its frustum is bounded by
  the four side planes, a near plane at 0.1 m, and the view radius (the server streams nothing
  beyond it: past it is fog).
- The ground is the plane y = 0. The world's finest grid is the LOD-0 tiles ("cells").
- A cell **is in the view frustum** when its square on the ground intersects the frustum's
  footprint on the ground (the convex region of y = 0 inside all five planes) and some point of
  the square lies within the view radius of the player (in the ground plane).
- A cell **enters the view frustum** at the first sample at which it is in it, having not been
  at the previous sample (samples every ``step_s`` of real time).
- A cell is **covered** when the viewer holds a tile, of any LOD, that contains it. A tile is
  **missing** when a cell enters the view frustum uncovered: a hole the player can see.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from bridge.world.keys import MAX_LOD

NEAR_M = 0.1
ASPECT = 16.0 / 9.0

Cell = tuple[int, int]  # (ix, iz) of a LOD-0 tile
HalfPlane = tuple[float, float, float]  # a*x + b*z + c >= 0 on the ground


@dataclass(frozen=True)
class GroundFrustum:
    """The frustum's footprint on y = 0: a convex polygon (x, z) and the view disc."""

    polygon: list[tuple[float, float]]
    centre: tuple[float, float]
    radius_m: float

    def cells(self, base_tile_m: float) -> set[Cell]:
        """Every LOD-0 cell in the view frustum (see the module's definition)."""
        if len(self.polygon) < 3:
            return set()
        xs = [p[0] for p in self.polygon]
        zs = [p[1] for p in self.polygon]
        found = set()
        cx, cz = self.centre
        for iz in range(math.floor(min(zs) / base_tile_m), math.floor(max(zs) / base_tile_m) + 1):
            for ix in range(math.floor(min(xs) / base_tile_m), math.floor(max(xs) / base_tile_m) + 1):
                x0, z0 = ix * base_tile_m, iz * base_tile_m
                x1, z1 = x0 + base_tile_m, z0 + base_tile_m
                near = math.hypot(max(x0 - cx, 0.0, cx - x1), max(z0 - cz, 0.0, cz - z1))
                if near <= self.radius_m and _square_meets_polygon(x0, z0, x1, z1, self.polygon):
                    found.add((ix, iz))
        return found


def ground_frustum(
    position: Iterable[float], forward: Iterable[float], vertical_fov_deg: float, radius_m: float
) -> GroundFrustum:
    c = np.asarray(list(position), dtype=np.float64)
    f = np.asarray(list(forward), dtype=np.float64)
    f /= np.linalg.norm(f)
    up = np.array([0.0, 1.0, 0.0])
    right = np.cross(f, up)
    if np.linalg.norm(right) < 1e-9:  # looking straight up or down: any right will do
        right = np.array([1.0, 0.0, 0.0])
    right /= np.linalg.norm(right)
    u = np.cross(right, f)
    tv = math.tan(math.radians(vertical_fov_deg) / 2.0)
    th = tv * ASPECT
    # Inward normals of the side planes through the camera centre, and the near plane.
    planes: list[tuple[np.ndarray, float]] = [
        (th * f - right, 0.0),
        (th * f + right, 0.0),
        (tv * f - u, 0.0),
        (tv * f + u, 0.0),
        (f, -NEAR_M),
    ]
    half_planes: list[HalfPlane] = []
    for n, offset in planes:
        # n . (X - C) + offset >= 0 with X = (x, 0, z).
        half_planes.append((float(n[0]), float(n[2]), float(-n @ c + offset)))
    x, z = float(c[0]), float(c[2])
    polygon = [
        (x - radius_m, z - radius_m),
        (x + radius_m, z - radius_m),
        (x + radius_m, z + radius_m),
        (x - radius_m, z + radius_m),
    ]
    for plane in half_planes:
        polygon = _clip(polygon, plane)
        if not polygon:
            break
    return GroundFrustum(polygon, (x, z), radius_m)


def covered(cell: Cell, held: set[tuple[int, int, int]], max_lod: int = MAX_LOD) -> bool:
    """Is the LOD-0 ``cell`` inside a held tile (lod, ix, iz) of any LOD?"""
    ix, iz = cell
    return any((lod, ix >> lod, iz >> lod) in held for lod in range(max_lod + 1))


def _clip(polygon: list[tuple[float, float]], plane: HalfPlane) -> list[tuple[float, float]]:
    """Sutherland-Hodgman: the part of a convex polygon where a*x + b*z + c >= 0."""
    a, b, c = plane
    out: list[tuple[float, float]] = []
    for i, p in enumerate(polygon):
        q = polygon[(i + 1) % len(polygon)]
        dp = a * p[0] + b * p[1] + c
        dq = a * q[0] + b * q[1] + c
        if dp >= 0:
            out.append(p)
        if (dp >= 0) != (dq >= 0):
            t = dp / (dp - dq)
            out.append((p[0] + t * (q[0] - p[0]), p[1] + t * (q[1] - p[1])))
    return out


def _square_meets_polygon(x0: float, z0: float, x1: float, z1: float, polygon: list[tuple[float, float]]) -> bool:
    """Separating-axis test between an axis-aligned square and a convex polygon."""
    xs = [p[0] for p in polygon]
    zs = [p[1] for p in polygon]
    if max(xs) < x0 or min(xs) > x1 or max(zs) < z0 or min(zs) > z1:
        return False
    corners = ((x0, z0), (x1, z0), (x1, z1), (x0, z1))
    for i, p in enumerate(polygon):
        q = polygon[(i + 1) % len(polygon)]
        nx, nz = q[1] - p[1], p[0] - q[0]  # an edge normal
        poly = [nx * v[0] + nz * v[1] for v in polygon]
        square = [nx * v[0] + nz * v[1] for v in corners]
        if max(square) < min(poly) or min(square) > max(poly):
            return False
    return True
