"""Directives applied to a generated tile: the generator makes the tile as if there were none,
then each directive in effect on it changes it, in the order they were applied.

A generator may offer hooks (the photo generator does): ``ground_height(world, x, z)``, its
terrain anywhere (a structure stands on a plinth down to the lowest ground under its plan,
whichever tile that lies in), ``palette(world)``, the colours structures wear unless their words
say otherwise, ``facades(world)``, the facades its buildings wear (placed houses wear them too),
and ``surroundings(world, key).ground``, its ground splats, which fill what a structure clears.
Without them the tile's own height grid, neutral colours and the tile's own ground stand in.

Everything here is a pure function of (tile, directives, world): the same bytes on any machine.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from bridge.formats.splats import SplatCloud, TileContent
from bridge.generate.directives.glb import MODELS
from bridge.generate.directives.structures import Built, Palette, build_structure, place, plan_of
from bridge.generate.hashing import hash_to_unit
from bridge.world.directives import GROUNDS, Directive, DirectiveError, Region
from bridge.world.structure_grammar import StructureSpec, footprint, parse_structure

Ground = Callable[[np.ndarray, np.ndarray], np.ndarray]
Assets = Callable[[str], bytes]  # a stored blob's bytes by sha256: an uploaded GLB
Fill = Callable[[], SplatCloud]  # the generator's ground splats for the tile: what fills a clearing
STANDING_M = 0.35  # a splat this far above the ground stands on it (a wall, a tree); below, it is ground
SINK_M = 0.15  # a GLB's or a tree's foot goes this far under its lowest ground: no gap on a slope
FLOOR_M = 0.05  # a structure's floor stands this far above the highest ground under its plan
CLEAR_MARGIN_M = 1.0  # what a structure clears reaches this far past its plan (eaves, splats' reach)
WATER_DEPTH_M = 0.8
REFERENCE_EDGE_M = 32.0  # structure detail follows the tile's edge, as the photo generator's does
FINEST_SPACING_M = 0.2
DEFAULT_PALETTE = Palette(
    wall=np.array([0.72, 0.68, 0.60]),
    roof=np.array([0.45, 0.28, 0.22]),
    foliage=np.array([0.22, 0.38, 0.16]),
    rock=np.array([0.50, 0.49, 0.46]),
)


def apply_directives(
    content: TileContent,
    directives: list[Directive],
    base_tile_m: float,
    ground: Ground | None = None,
    palette: Palette | None = None,
    assets: Assets | None = None,
    fill: Fill | None = None,
    steered: bool = False,
) -> TileContent:
    """``content`` as the directives leave it. ``ground``: the generator's terrain (see module doc);
    ``assets``: where a GLB landmark's bytes come from; ``fill``: the generator's ground splats;
    ``steered``: the generator's layout grammar already planned with the layout directives (it
    cleared, paved, flooded and planted), so only their water's level is left to lay here."""
    if not directives:
        return content
    key = content.key
    x0, z0, x1, z1 = key.bounds(base_tile_m)
    base = ground or _tile_ground(content, base_tile_m)
    surface = _surface(base, directives)
    splats = content.splats
    heights = content.heights
    if surface is not base:
        # Everything in the tile rides on the terrain change: ground, walls, trees alike.
        p = splats.positions.astype(np.float64)
        lift = surface(p[:, 0], p[:, 2]) - base(p[:, 0], p[:, 2])
        p[:, 1] += lift
        splats = SplatCloud.from_arrays(p, splats.scales, splats.rotations, splats.opacities, splats.colors)
        n = heights.shape[0] - 1
        steps = np.arange(n + 1) * (x1 - x0) / n
        gz, gx = np.meshgrid(z0 + steps, x0 + steps, indexing="ij")
        heights = (heights + (surface(gx, gz) - base(gx, gz))).astype(np.float32)
    added: list[SplatCloud] = []
    detail = key.edge_m(base_tile_m) / REFERENCE_EDGE_M
    pal = palette or DEFAULT_PALETTE
    ground_fill = _lazy(fill, content, heights, surface)
    built = {i: _built(d, d.structure, surface, detail, pal, i) for i, d in enumerate(directives) if _worded(d)}
    for index, directive in enumerate(directives):
        if (len(splats) == 0 and directive.kind != "place") or (steered and directive.kind == "layout"):
            continue
        if index in built:
            splats = _clear_plan(splats, directive, built[index], surface, ground_fill, (x0, z0, x1, z1))
        else:
            splats = _clear(splats, directive, surface)
        splats = _paint(splats, directive, surface)
    for index, directive in enumerate(directives):
        if directive.kind == "place" and "glb" in directive.params:
            added.append(_placed_glb(directive, surface, detail, pal, assets))
        elif index in built:
            added.append(built[index].cloud)
        elif directive.kind == "layout" and directive.params.get("forest") and not steered:
            added.append(_forest(directive, surface, detail, pal, (x0, z0, x1, z1)))
    if added:
        extra = SplatCloud.concat(added)
        p = extra.positions
        inside = (p[:, 0] >= x0) & (p[:, 0] < x1) & (p[:, 2] >= z0) & (p[:, 2] < z1)
        splats = SplatCloud.concat([splats, extra.subset(inside)])
    return TileContent(key=key, splats=splats, heights=heights)


def _tile_ground(content: TileContent, base_tile_m: float) -> Ground:
    """The tile's own height grid, bilinear, clamped at its border: the ground of a backend with no hook."""
    heights = content.heights.astype(np.float64)
    x0, z0, x1, _ = content.key.bounds(base_tile_m)
    n = heights.shape[0] - 1
    step = (x1 - x0) / n

    def ground(x: np.ndarray, z: np.ndarray) -> np.ndarray:
        u = np.clip((np.asarray(x) - x0) / step, 0, n - 1e-9)
        v = np.clip((np.asarray(z) - z0) / step, 0, n - 1e-9)
        i, j = np.floor(v).astype(int), np.floor(u).astype(int)
        fu, fv = u - j, v - i
        top = heights[i, j] * (1 - fu) + heights[i, j + 1] * fu
        bottom = heights[i + 1, j] * (1 - fu) + heights[i + 1, j + 1] * fu
        return top * (1 - fv) + bottom * fv

    return ground


def weight(region: Region, falloff: float, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """1 inside the region, easing to 0 over ``falloff`` metres outside it."""
    d = region.distance(x, z)
    if falloff <= 0:
        return (d <= 0).astype(np.float64)
    t = np.clip(1.0 - d / falloff, 0.0, 1.0)
    return t * t * (3 - 2 * t)


def _surface(base: Ground, directives: list[Directive]) -> Ground:
    """The ground after every terrain-changing directive, in order (each reads the one before)."""
    surface = base
    for d in directives:
        if d.kind == "terrain" or d.kind == "path" or (d.kind == "layout" and d.params.get("water")):
            surface = _terrain_step(surface, d)
    return surface


def _terrain_step(previous: Ground, d: Directive) -> Ground:
    region, falloff, op = d.region, d.falloff, d.params.get("op")
    cx, cz = region.centre()

    def step(x: np.ndarray, z: np.ndarray) -> np.ndarray:
        x, z = np.asarray(x, np.float64), np.asarray(z, np.float64)
        h = previous(x, z)
        w = weight(region, falloff, x, z)
        if d.kind == "path":
            _, nx, nz = region.centreline_distance(x, z)
            target = previous(nx, nz)  # level across the path, following it lengthwise
        elif d.kind == "layout":  # water: a level sheet under the region's centre
            target = previous(np.array([cx]), np.array([cz]))[0] - WATER_DEPTH_M
        elif op == "raise":
            return h + d.params["amount"] * w
        elif op == "lower":
            return h - d.params["amount"] * w
        elif op == "flatten":
            target = d.params["height"]
        else:  # smooth: towards the mean over a ring as wide as the falloff
            r = max(falloff, 4.0)
            ring = [previous(x + r * math.cos(a), z + r * math.sin(a)) for a in np.arange(8) * math.pi / 4]
            target = (h + sum(ring)) / 9.0
        return h + (target - h) * w

    return step


def _clears(d: Directive) -> Region | None:
    """The region whose standing things a directive removes (buildings, trees, the photo's own)."""
    if d.kind == "path" or (d.kind == "layout" and (d.params.get("buildings") is False or d.params.get("water"))):
        return d.region
    if d.kind == "layout" and d.params.get("street"):
        return d.region
    if d.kind == "place" and "glb" in d.params:
        return d.region  # the model stands inside its region (checked when it was applied)
    return None


def _clear(splats: SplatCloud, d: Directive, surface: Ground) -> SplatCloud:
    region = _clears(d)
    if region is None:
        return splats
    p = splats.positions.astype(np.float64)
    standing = p[:, 1] - surface(p[:, 0], p[:, 2]) > STANDING_M
    gone = standing & (region.distance(p[:, 0], p[:, 2]) <= 0)
    return splats.subset(~gone) if gone.any() else splats


def _ground_of(d: Directive) -> str | None:
    if d.kind == "paint":
        return d.params["ground"]
    if d.kind == "path":
        return d.params.get("ground", "dirt")
    if d.kind == "layout":
        if d.params.get("water"):
            return "water"
        if d.params.get("street"):
            return "paving"
    return None


def _paint(splats: SplatCloud, d: Directive, surface: Ground) -> SplatCloud:
    name = _ground_of(d)
    if name is None:
        return splats
    p = splats.positions.astype(np.float64)
    w = weight(d.region, d.falloff, p[:, 0], p[:, 2])
    on_ground = np.abs(p[:, 1] - surface(p[:, 0], p[:, 2])) <= STANDING_M
    at = np.flatnonzero((w > 0) & on_ground)
    if at.size == 0:
        return splats
    # World-anchored grain (10 cm cells): the painted ground is textured, and the same across tiles.
    cells = np.floor(p[at][:, [0, 2]] * 10).astype(np.int64)
    grain = 0.86 + 0.28 * hash_to_unit(cells[:, 0], cells[:, 1], 11)
    painted = np.asarray(GROUNDS[name])[None, :] * grain[:, None]
    colours = splats.colors.astype(np.float64)
    colours[at] = colours[at] * (1 - w[at, None]) + painted * w[at, None]
    return SplatCloud.from_arrays(splats.positions, splats.scales, splats.rotations, splats.opacities, colours)


def _spacing(detail: float, size_m: float) -> float:
    """Splat spacing of a structure at a tile's detail: never coarser than a third of the structure."""
    return float(np.clip(0.3 * detail, FINEST_SPACING_M, max(size_m / 3, FINEST_SPACING_M)))


@lru_cache(maxsize=64)
def _local(spec: StructureSpec, palette_key: _PaletteKey, spacing: float, salt: int, below: float) -> Built:
    """One structure in its frame, built once per worker for all the tiles it spans."""
    return build_structure(spec, palette_key.palette, spacing, salt, below)


class _PaletteKey:
    """A palette as a cache key: equal when its colours and its facades' bytes are."""

    def __init__(self, palette: Palette) -> None:
        self.palette = palette
        digest = hashlib.sha256()
        for c in (palette.wall, palette.roof, palette.foliage, palette.rock):
            digest.update(np.asarray(c, np.float64).tobytes())
        for f in palette.facades:
            digest.update(np.asarray(f.levels[0]).tobytes())
            digest.update(np.array([f.metres_per_px, f.storey_m, f.bay_m]).tobytes())
        self.digest = digest.hexdigest()

    def __hash__(self) -> int:
        return hash(self.digest)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _PaletteKey) and other.digest == self.digest


def _palette_key(p: Palette) -> _PaletteKey:
    return _PaletteKey(p)


def _worded(d: Directive) -> bool:
    return d.kind == "place" and d.structure is not None and "glb" not in d.params


@dataclass(frozen=True)
class _Standing:
    """A word-built structure as it stands in the world: its splats and its plan's polygons."""

    cloud: SplatCloud
    plan: tuple[np.ndarray, ...]  # world (x, z) [k, 2] each


def _built(d: Directive, spec: StructureSpec, surface: Ground, detail: float, pal: Palette, index: int) -> _Standing:
    """The structure standing at the region's centre: its floor just above the highest ground under
    its plan (nothing sinks), its plinth (or piers) down past the lowest (no gap under it)."""
    cx, cz = d.region.centre()
    if "facing_deg" in d.params:
        yaw = math.radians(d.params["facing_deg"])
    else:  # facing the spawn (the world's origin), where a designer first looks from
        yaw = math.atan2(cx, cz) if math.hypot(cx, cz) > 1e-6 else 0.0
    width, depth = footprint(spec)
    salt = int(hash_to_unit(int(cx * 100), int(cz * 100), index) * 1e9)
    spacing = _spacing(detail, min(width, depth) * 3)
    # The plan is known before the splats (it is the words'), so the ground under it is read first.
    plan = [_to_world(p, cx, cz, yaw) for p in plan_of(spec)]
    heights = np.concatenate([surface(*_samples(p)) for p in plan])
    floor = float(heights.max()) + FLOOR_M
    below = round(floor - float(heights.min()), 2)  # rounded: nearby tiles share one cached build
    local = _local(spec, _palette_key(pal), spacing, salt, below)
    return _Standing(place(local.cloud, cx, cz, floor, yaw), tuple(plan))


def _to_world(polygon: np.ndarray, cx: float, cz: float, yaw: float) -> np.ndarray:
    """Plan points (x, z) in the structure's frame to the world, as structures.place turns them."""
    c, s = math.cos(yaw), math.sin(yaw)
    x, z = polygon[:, 0], polygon[:, 1]
    return np.stack([cx + c * x + s * z, cz - s * x + c * z], axis=1)


def _samples(polygon: np.ndarray, n: int = 7) -> tuple[np.ndarray, np.ndarray]:
    """Points over a convex quadrilateral (its corners, edges and inside): where to read the ground."""
    a, b, _, d = polygon[:4]
    s, t = np.meshgrid(np.linspace(0, 1, n), np.linspace(0, 1, n))
    points = a + s.ravel()[:, None] * (b - a) + t.ravel()[:, None] * (d - a)
    return points[:, 0], points[:, 1]


def _inside(plan: tuple[np.ndarray, ...], x: np.ndarray, z: np.ndarray, margin: float) -> np.ndarray:
    """Points within ``margin`` of any convex polygon of ``plan``."""
    hit = np.zeros(x.shape, dtype=bool)
    for polygon in plan:
        ring = polygon if _signed_area(polygon) > 0 else polygon[::-1]  # counter-clockwise
        inside = np.ones(x.shape, dtype=bool)
        for i in range(len(ring)):
            a, b = ring[i], ring[(i + 1) % len(ring)]
            edge = b - a
            normal = np.array([edge[1], -edge[0]]) / max(float(np.hypot(*edge)), 1e-9)  # outward
            inside &= (x - a[0]) * normal[0] + (z - a[1]) * normal[1] <= margin
        hit |= inside
    return hit


def _signed_area(polygon: np.ndarray) -> float:
    x, z = polygon[:, 0], polygon[:, 1]
    return 0.5 * float(np.sum(x * np.roll(z, -1) - np.roll(x, -1) * z))


def _clear_plan(
    splats: SplatCloud, d: Directive, standing: _Standing, surface: Ground, fill: Fill, bounds: tuple[float, ...]
) -> SplatCloud:
    """Everything that stood or lay on the structure's plan (the photo's lifted facades and its
    ground alike, at any height) goes; the world's own ground, on the surface, fills the place."""
    p = splats.positions.astype(np.float64)
    gone = _inside(standing.plan, p[:, 0], p[:, 2], CLEAR_MARGIN_M)
    if not gone.any() and not _touches(standing.plan, bounds):
        return splats
    ground = fill()
    g = ground.positions.astype(np.float64)
    under = _inside(standing.plan, g[:, 0], g[:, 2], CLEAR_MARGIN_M)
    g = g[under]
    g[:, 1] = surface(g[:, 0], g[:, 2])  # the generator's underlay lies sunk where the photo's ground was
    patch = ground.subset(np.flatnonzero(under))
    patch = SplatCloud.from_arrays(g, patch.scales, patch.rotations, patch.opacities, patch.colors)
    return SplatCloud.concat([splats.subset(~gone), patch])


def _touches(plan: tuple[np.ndarray, ...], bounds: tuple[float, ...]) -> bool:
    x0, z0, x1, z1 = bounds
    points = np.vstack(plan)
    lo, hi = points.min(axis=0) - CLEAR_MARGIN_M, points.max(axis=0) + CLEAR_MARGIN_M
    return not (hi[0] < x0 or lo[0] > x1 or hi[1] < z0 or lo[1] > z1)


def _lazy(fill: Fill | None, content: TileContent, heights: np.ndarray, surface: Ground) -> Fill:
    """The ground that fills a clearing, made once and only when one is needed: the generator's,
    else the tile's own splats lying on its ground."""
    made: list[SplatCloud] = []

    def get() -> SplatCloud:
        if not made:
            if fill is not None:
                made.append(fill())
            else:
                p = content.splats.positions.astype(np.float64)
                lying = np.abs(p[:, 1] - surface(p[:, 0], p[:, 2])) <= STANDING_M
                made.append(content.splats.subset(np.flatnonzero(lying)))
        return made[0]

    return get


def glb_yaw(d: Directive) -> float:
    """A model's turn about +Y (radians): ``facing_deg``, else its glTF front (+Z) towards the spawn."""
    if "facing_deg" in d.params:
        return math.radians(d.params["facing_deg"])
    cx, cz = d.region.centre()
    return math.atan2(-cx, -cz) if math.hypot(cx, cz) > 1e-6 else 0.0


def glb_footprint(d: Directive, footprint_xz: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World (x, z) of a model's footprint points (its standing frame's, see glb.GlbModel) as placed."""
    cx, cz = d.region.centre()
    yaw = glb_yaw(d)
    c, s = math.cos(yaw), math.sin(yaw)
    lx, lz = footprint_xz[:, 0], footprint_xz[:, 1]
    return cx + c * lx + s * lz, cz - s * lx + c * lz  # as structures.place turns a point


def _placed_glb(d: Directive, surface: Ground, detail: float, pal: Palette, assets: Assets | None) -> SplatCloud:
    if assets is None:
        raise DirectiveError("a place directive with a GLB needs the GLB's bytes (upload it to the world)")
    sha, scale = d.params["glb"], float(d.params.get("scale", 1.0))
    model = MODELS.model(sha, assets)
    lo, hi = model.bounds()
    size = float(max(hi[0] - lo[0], hi[2] - lo[2])) * scale
    local = MODELS.splats(sha, assets, scale, _spacing(detail, size), np.asarray(pal.wall, np.float64))
    # The foot: the lowest ground under the model's footprint (its bounding box in its frame), as
    # a word-built structure stands, so no part hangs over a slope.
    half = (hi - lo)[[0, 2]] * scale / 2
    s, t = np.meshgrid(np.linspace(-1, 1, 7), np.linspace(-1, 1, 7))
    fx, fz = glb_footprint(d, np.stack([s.ravel() * half[0], t.ravel() * half[1]], axis=1))
    foot = float(surface(fx, fz).min()) - SINK_M
    cx, cz = d.region.centre()
    return place(local, cx, cz, foot, glb_yaw(d))


FOREST_CELL_M = 7.0


def _forest(d: Directive, surface: Ground, detail: float, pal: Palette, bounds: tuple[float, ...]) -> SplatCloud:
    """Trees at ``forest`` density on a world-anchored grid of cells over the region (near this tile)."""
    x0, z0, x1, z1 = bounds
    reach = 6.0  # a crown's half width: trees rooted just outside still reach in
    i0, i1 = math.floor((x0 - reach) / FOREST_CELL_M), math.floor((x1 + reach) / FOREST_CELL_M)
    j0, j1 = math.floor((z0 - reach) / FOREST_CELL_M), math.floor((z1 + reach) / FOREST_CELL_M)
    if (i1 - i0 + 1) * (j1 - j0 + 1) > 4096:
        return SplatCloud.empty()  # a coarse tile: the forest's ground colour carries it at this distance
    gi, gj = np.meshgrid(np.arange(i0, i1 + 1), np.arange(j0, j1 + 1))
    gi, gj = gi.ravel(), gj.ravel()
    x = (gi + 0.2 + 0.6 * hash_to_unit(gi, gj, 21)) * FOREST_CELL_M
    z = (gj + 0.2 + 0.6 * hash_to_unit(gi, gj, 22)) * FOREST_CELL_M
    keep = (hash_to_unit(gi, gj, 23) < d.params["forest"]) & (d.region.distance(x, z) <= 0)
    spec = parse_structure("tree")
    trees = []
    for tx, tz, salt in zip(x[keep], z[keep], (gi * 7919 + gj)[keep], strict=True):
        local = _local(spec, _palette_key(pal), _spacing(detail, 7.0), int(salt) % 64, 0.0).cloud
        foot = float(surface(np.array([tx]), np.array([tz]))[0]) - SINK_M
        trees.append(place(local, float(tx), float(tz), foot, 0.0))
    return SplatCloud.concat(trees)


def generate_directed(
    generator: object, world: object, key: object, directives: list[Directive], assets: Assets | None = None
) -> TileContent:
    """``generator.generate(world, key)`` under ``directives``, with the generator's hooks if it has
    them (``generate_steered(world, key, layout_directives)``: its layout grammar plans with the
    layout directives); ``assets``: uploaded GLBs' bytes by sha256."""
    steer = getattr(generator, "generate_steered", None)
    layout = [d for d in directives if d.kind == "layout"]
    if steer is not None and layout:
        content: TileContent = steer(world, key, layout)
    else:
        content = generator.generate(world, key)  # type: ignore[attr-defined]
    if not directives:
        return content
    hook_ground = getattr(generator, "ground_height", None)
    hook_palette = getattr(generator, "palette", None)
    hook_facades = getattr(generator, "facades", None)
    hook_around = getattr(generator, "surroundings", None)
    ground = (lambda x, z: np.asarray(hook_ground(world, x, z), np.float64)) if hook_ground else None
    colours = hook_palette(world) if hook_palette else None
    palette = Palette(**{k: np.asarray(v, np.float64) for k, v in colours.items()}) if colours else None
    if palette is not None and hook_facades is not None:
        palette = replace(palette, facades=tuple(hook_facades(world)))
    fill = (lambda: hook_around(world, key).ground) if hook_around else None
    base = world.options.base_tile_m  # type: ignore[attr-defined]
    return apply_directives(content, directives, base, ground, palette, assets, fill, steered=steer is not None)
