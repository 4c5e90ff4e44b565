"""What word-built structures wear: stone, plaster, boards, roof tiles, the photo's own facades,
and windows cut into them (pointed lancets, round-headed, square, slits).

Every paint is a function of metres along and up its surface and of a salt, never of the splat
grid, so a wall looks the same at every tile's detail and on every machine. Roof tiles and
facades are the photo generator's own (bridge.generate.photo.dressing): a placed house wears the
same synthesised facades as the layout's houses beside it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.generate.directives.surfaces import Paint
from bridge.generate.hashing import hash_to_unit
from bridge.generate.photo.dressing import FacadeSource, facade_colours, roof_colours

GLASS = np.array([0.06, 0.065, 0.08])  # a window seen from outside in daylight: near black
WALL_TONES = 48  # photo wall colours kept per facade for stone blocks


def masonry(colour: np.ndarray, salt: int, tones: np.ndarray | None = None, course: float = 0.5) -> Paint:
    """Coursed stone: blocks ``course`` high and twice as long, staggered, each its own tone
    (one of the photo's wall colours ``tones`` when given, else ``colour`` lighter or darker)."""
    base = np.asarray(colour, dtype=np.float64)

    def paint(s: np.ndarray, t: np.ndarray) -> np.ndarray:
        row = np.floor(t / course)
        col = np.floor(s / (2 * course) + 0.5 * np.mod(row, 2))
        h = hash_to_unit(row.astype(np.int64), col.astype(np.int64), salt, 601)
        if tones is not None and len(tones):
            picked = tones[np.minimum((h * len(tones)).astype(np.int64), len(tones) - 1)]
            out = base * 0.5 + picked * 0.5  # the photo's stone, held near the wall's own colour
        else:
            out = base[None, :] * (0.9 + 0.2 * h)[:, None]
        joint = np.mod(t, course) < 0.08 * course  # the bed joint: a faint line each course
        return out * np.where(joint, 0.88, 1.0)[:, None]

    return paint


def plaster(colour: np.ndarray, salt: int) -> Paint:
    """Rendered walls: an even colour with a faint mottle and the foot a little dirtied."""
    base = np.asarray(colour, dtype=np.float64)

    def paint(s: np.ndarray, t: np.ndarray) -> np.ndarray:
        cell = hash_to_unit(np.floor(s / 0.6).astype(np.int64), np.floor(t / 0.6).astype(np.int64), salt, 602)
        foot = np.clip(t / 0.8, 0.0, 1.0)
        return base[None, :] * ((0.96 + 0.06 * cell) * (0.86 + 0.14 * foot))[:, None]

    return paint


def boards(colour: np.ndarray, salt: int, board: float = 0.25, across: bool = False) -> Paint:
    """Timber boards along the surface (or ``across`` it), each its own tone, a dark gap between."""
    base = np.asarray(colour, dtype=np.float64)

    def paint(s: np.ndarray, t: np.ndarray) -> np.ndarray:
        a, b = (s, t) if across else (t, s)
        row = np.floor(a / board)
        h = hash_to_unit(row.astype(np.int64), np.floor(b / 3.1 + row * 0.37).astype(np.int64), salt, 603)
        gap = np.mod(a, board) < 0.12 * board
        return base[None, :] * ((0.82 + 0.3 * h) * np.where(gap, 0.6, 1.0))[:, None]

    return paint


def tiles(colour: np.ndarray, salt: int) -> Paint:
    """A tiled roof in ``colour``: the photo generator's courses and staggered tiles, weathered in
    patches (a few metres across) and darker along the eaves, where the rain runs off, so a roof
    seen from afar is not one flat colour."""
    roof = np.asarray(colour, dtype=np.float32)

    def paint(s: np.ndarray, t: np.ndarray) -> np.ndarray:
        tiled = roof_colours(roof, s, t, np.full(np.size(s), salt, dtype=np.int64)).astype(np.float64)
        patch = hash_to_unit(np.floor(s / 1.8).astype(np.int64), np.floor(t / 1.4).astype(np.int64), salt, 604)
        eaves = 0.8 + 0.2 * np.clip(t / 1.2, 0.0, 1.0)
        return tiled * ((0.86 + 0.2 * patch) * eaves)[:, None]

    return paint


def weathered(named: np.ndarray, photo_roof: np.ndarray) -> np.ndarray:
    """A roof colour the words named, as fired tiles wear it under the photo's sky: a quarter of
    its saturation gone and a fifth of the photo's own roof colour in it (a red reads as clay,
    not as paint; still red)."""
    named = np.asarray(named, dtype=np.float64)
    grey = float(named @ np.array([0.2126, 0.7152, 0.0722]))
    return 0.8 * (0.75 * named + 0.25 * grey) + 0.2 * np.asarray(photo_roof, dtype=np.float64)


def facade(source: FacadeSource, width: float, ident: int, wall: int, spacing: float) -> Paint:
    """The photo's facade synthesised over a wall ``width`` metres wide (whole bays and storeys)."""

    def paint(s: np.ndarray, t: np.ndarray) -> np.ndarray:
        n = np.size(s)
        full = np.full(n, width)
        colours = facade_colours(source, s, t, full, np.full(n, ident, np.int64), np.full(n, wall, np.int64), spacing)
        return colours.astype(np.float64)

    return paint


def wall_tones(source: FacadeSource) -> np.ndarray:
    """[k, 3] colours of a facade's wall (not its windows): texels near its median brightness."""
    texels = source.levels[min(1, len(source.levels) - 1)].reshape(-1, 3).astype(np.float64)
    light = texels.mean(axis=1)
    median = float(np.median(light))
    wall = texels[np.abs(light - median) < 0.2 * max(median, 1e-3)]
    if len(wall) == 0:
        return texels[:1]
    return wall[np.linspace(0, len(wall) - 1, min(WALL_TONES, len(wall))).astype(np.int64)]


@dataclass(frozen=True)
class Opening:
    """A window or door in a wall: ``along`` its centre (metres from the wall's left end), from
    ``sill`` up to ``spring`` with straight jambs, then an arch: ``pointed`` (two arcs meeting at a
    point, gothic), ``round`` (a half circle) or ``flat``."""

    along: float
    sill: float
    spring: float
    width: float
    arch: str = "flat"

    def holds(self, s: np.ndarray, t: np.ndarray) -> np.ndarray:
        half = self.width / 2
        dx = s - self.along
        inside = (np.abs(dx) <= half) & (t >= self.sill) & (t <= self.spring)
        above = (t > self.spring) & (np.abs(dx) <= half)
        up = t - self.spring
        if self.arch == "pointed":  # equilateral: each side an arc centred on the other jamb
            arch = ((dx + half) ** 2 + up**2 <= self.width**2) & ((dx - half) ** 2 + up**2 <= self.width**2)
        elif self.arch == "round":
            arch = dx**2 + up**2 <= half**2
        else:
            arch = np.zeros_like(above)
        return inside | (above & arch)


def pierced(paint: Paint, openings: list[Opening], glass: np.ndarray = GLASS) -> Paint:
    """``paint`` with ``openings`` cut in: dark glass, a lighter frame round each."""

    def out(s: np.ndarray, t: np.ndarray) -> np.ndarray:
        colours = paint(s, t)
        for o in openings:
            frame = Opening(o.along, o.sill - 0.12, o.spring, o.width + 0.24, o.arch).holds(s, t)
            colours[frame] = colours[frame] * 0.8 + 0.12
            colours[o.holds(s, t)] = glass
        return colours

    return out


def in_bays(length: float, bay: float, margin: float) -> list[float]:
    """Centres of whole bays of about ``bay`` metres along a wall, ``margin`` kept clear at each end."""
    inner = length - 2 * margin
    if inner < bay * 0.6:
        return [length / 2]
    n = max(1, round(inner / bay))
    step = inner / n
    return [margin + (k + 0.5) * step for k in range(n)]
