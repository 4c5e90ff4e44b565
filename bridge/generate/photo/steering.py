"""Layout directives as inputs of the layout grammar's own plan (see layout.py).

``{"kind": "layout", ...}`` directives in effect on a tile steer what the grammar plans there:

- ``buildings: false``: no building on a parcel whose footprint comes into the region; whole
  footprints go or stay, and a neighbour that shared a party wall with one gone stands whole.
- ``street: true`` (a polyline): a street of the photo's street width along the line, paved with
  the photo's street material; in a town, lined on both sides with houses of the photo's
  proportions (its bays and storeys), parcel by parcel from each segment's start, the grammar's
  own buildings cleared from the band they take.
- ``water: true``: open water over the region (the photo's water material, else the water
  preset) and, in a town, a paved quay round it; nothing built on either.
- ``forest: d``: the grammar's trees over the region give way to trees on a jittered grid at
  density ``d`` (the share of cells holding one), off streets, water and walls.

Every decision is a pure function of the directives and world-anchored hashes: a building
belongs to the tile its footprint's centre stands in, and is judged from its whole footprint,
so neighbouring tiles agree. Directives that reach a tile (bridge/world/directives.py,
``LAYOUT_REACH_M``) cover every building whose plan or party walls they change.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass

import numpy as np

from bridge.formats.splats import SplatCloud
from bridge.generate.hashing import hash_to_unit
from bridge.generate.photo.layout import (
    BAYS,
    DEPTH_M,
    FOREST_CELL_M,
    QUAY_M,
    Buildings,
    LayoutRules,
    Trees,
    buildings_in,
    dressed,
    eaves_m,
    grown,
    no_buildings,
    on_street,
    trees_in,
    water_at,
)
from bridge.generate.photo.terrain import Terrain
from bridge.world.directives import Directive, Region

EAVES_M = 0.4  # a footprint's margin: the roof's overhang and the wall splats' reach
FOOTPRINT_STEP_M = 1.0  # footprints are judged on samples this far apart, at most
SLACK_M = FOOTPRINT_STEP_M * math.sqrt(2) / 2  # how far a footprint's point may lie from a sample
HOUSE_BAND_M = DEPTH_M[1] + 1.0  # past each kerb, what a steered street's houses take
TREE_CLEAR_M = 1.5  # a tree's trunk keeps this far from walls, kerbs and quays
MAX_JOINT_DEG = 150.0  # a sharper bend than this leaves its segments unbuilt near it
STANDING_M = 0.35  # the photo's splats this far above the terrain stand on it; below, they are ground
MAX_FRONTAGE_M = 60.0  # two parcels of five 6 m bays: how far a house's footprint can reach


@dataclass(frozen=True)
class Street:
    centreline: Region  # the directive's polyline, width 0: distances are to its centre line
    salt: int  # from the directive's JSON: its houses differ from another street's


def _placed(
    a: np.ndarray, u: np.ndarray, normal: np.ndarray, half_street_m: float, run: np.ndarray, depths: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Footprint centres of houses ``run`` metres along a segment from ``a`` (direction ``u``) on
    the side ``normal`` points to, their front walls on the kerb."""
    offset = half_street_m + depths / 2
    return a[0] + u[0] * run + normal[0] * offset, a[1] + u[1] * run + normal[1] * offset


@dataclass(frozen=True)
class Steering:
    """The layout directives in effect on a tile, as the grammar of ``rules`` reads them."""

    rules: LayoutRules
    unbuilt: tuple[Region, ...]
    streets: tuple[Street, ...]
    water: tuple[Region, ...]
    forests: tuple[tuple[Region, float], ...]

    @classmethod
    def of(cls, directives: list[Directive], rules: LayoutRules) -> Steering:
        layout = [d for d in directives if d.kind == "layout"]
        return cls(
            rules=rules,
            unbuilt=tuple(d.region for d in layout if d.params.get("buildings") is False),
            streets=tuple(
                Street(Region("polyline", d.region.points), _salt(d)) for d in layout if d.params.get("street")
            ),
            water=tuple(d.region for d in layout if d.params.get("water")),
            forests=tuple((d.region, float(d.params["forest"])) for d in layout if "forest" in d.params),
        )

    @property
    def half_street_m(self) -> float:
        return self.rules.street_width_m / 2

    @property
    def band_m(self) -> float:
        """Past a steered street's kerb, what it clears of the grammar's buildings (its houses' band)."""
        return HOUSE_BAND_M if self.rules.town else EAVES_M

    # -- the ground ------------------------------------------------------------------------

    def carriageway(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        return _within([s.centreline for s in self.streets], x, z, self.half_street_m)

    def wet(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        return _within(list(self.water), x, z, 0.0)

    def quay(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """In a town, the paved band round steered water (as the photo's canals have quays)."""
        if not self.rules.town:
            return np.zeros(np.shape(x), dtype=bool)
        return _within(list(self.water), x, z, QUAY_M) & ~self.wet(x, z)

    def paved(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        return self.carriageway(x, z) | self.quay(x, z)

    def surfaced(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """Where the grammar's ground replaces the photo's lifted ground (streets, water, quays)."""
        return self.paved(x, z) | self.wet(x, z)

    def photo_kept(self, photo: SplatCloud, terrain: Terrain) -> SplatCloud:
        """The lifted photo's splats less what the steering clears: what stands on a steered
        street, water or unbuilt region (not on a quay: the photo's own waterfront may stand
        there), and the photo's ground under streets, water and quays."""
        if len(photo) == 0 or not (self.unbuilt or self.streets or self.water):
            return photo
        p = photo.positions.astype(np.float64)
        x, z = p[:, 0], p[:, 2]
        standing = p[:, 1] - terrain.height(x, z) > STANDING_M
        surfaced = self.surfaced(x, z)
        cleared = self.wet(x, z) | _within(list(self.unbuilt), x, z, 0.0)
        cleared |= _within([s.centreline for s in self.streets], x, z, self.half_street_m + EAVES_M)
        gone = (standing & cleared) | (~standing & surfaced)
        return photo.subset(~gone) if gone.any() else photo

    # -- buildings -------------------------------------------------------------------------

    def blocked(
        self, x: np.ndarray, z: np.ndarray, facing: np.ndarray, frontage: np.ndarray, depth: np.ndarray
    ) -> np.ndarray:
        """[n] bool: grammar parcels the steering keeps unbuilt (layout.Blocked)."""
        corridor = self.half_street_m + self.band_m
        regions = self._kept_clear() + [(s.centreline, corridor) for s in self.streets]
        return _footprints_near(regions, x, z, facing, frontage, depth)

    def buildings(self, bounds: tuple[float, float, float, float]) -> Buildings:
        """The grammar's buildings whose footprint's centre lies in ``bounds``, as steered."""
        rules = self.rules
        own = buildings_in(rules, bounds, self.blocked if (self.unbuilt or self.streets or self.water) else None)
        if not rules.town or not self.streets:
            return own
        parts = [own] + [self._street_houses(i, bounds) for i in range(len(self.streets))]
        return _concat(parts, rules)

    def _street_houses(self, index: int, bounds: tuple[float, float, float, float]) -> Buildings:
        """Houses lining street ``index`` on both sides, whose footprint's centre lies in ``bounds``."""
        rules, street = self.rules, self.streets[index]
        points = street.centreline.points
        reach = self.half_street_m + HOUSE_BAND_M + MAX_FRONTAGE_M
        parts = []
        for k in range(len(points) - 1):
            a, b = points[k], points[k + 1]
            lo, hi = np.minimum(a, b) - reach, np.maximum(a, b) + reach
            if hi[0] < bounds[0] or lo[0] > bounds[2] or hi[1] < bounds[1] or lo[1] > bounds[3]:
                continue
            start = _joint_m(points, k, self.half_street_m)
            end = _joint_m(points, k + 1, self.half_street_m)
            for side in (1, -1):
                row = self._row(index, k, side, start, end)
                if row is not None:
                    parts.append(row)
        if not parts:
            return _concat([], rules)
        houses = _concat(parts, rules)
        x0, z0, x1, z1 = bounds
        return houses.subset((houses.x >= x0) & (houses.x < x1) & (houses.z >= z0) & (houses.z < z1))

    def _row(self, index: int, k: int, side: int, start: float, end: float) -> Buildings | None:
        """One side of one segment: parcels from its start, each a whole number of the photo's bays,
        the last taking up the rest (as the grammar's block sides are built end to end)."""
        rules, street = self.rules, self.streets[index]
        a, b = street.centreline.points[k], street.centreline.points[k + 1]
        length = float(np.hypot(*(b - a)))
        room = length - start - end
        if length <= 0 or room < BAYS[0] * rules.bay_m:
            return None
        u = (b - a) / length
        normal = np.array([-u[1], u[0]]) * side  # from the centre line to this side's houses
        depth = DEPTH_M[0] + (DEPTH_M[1] - DEPTH_M[0]) * float(hash_to_unit(street.salt, k, side + 1, rules.seed, 510))
        slots = np.arange(int(room // (BAYS[0] * rules.bay_m)) + 1)
        pick = hash_to_unit(street.salt, k, side + 1, slots, rules.seed, 511)
        bays = BAYS[0] + np.floor(pick * (BAYS[1] - BAYS[0] + 1))
        widths = bays * rules.bay_m
        ends = np.cumsum(widths)
        last = int((ends <= room).sum()) - 1
        if last < 0:
            return None
        widths = widths[: last + 1]
        widths[last] += room - ends[last]
        run = start + np.cumsum(widths) - widths / 2
        n = widths.size
        ident = (hash_to_unit(street.salt, k, side + 1, slots[:n], rules.seed, 512) * (1 << 40)).astype(np.int64)
        run, widths, depths, ident, kept = self._fitted(index, a, u, normal, run, widths, np.full(n, depth), ident)
        x, z = _placed(a, u, normal, self.half_street_m, run, depths)
        facing = np.tile(-normal, (run.size, 1))
        # Party walls: wall 2 (the front's right) lies towards -u on the left side (+1), +u on the right.
        height = np.where(kept, eaves_m(rules, ident), 0.0)
        before = np.concatenate([[0.0], height[:-1]])
        after = np.concatenate([height[1:], [0.0]])
        shelter = np.stack([before, after] if side == 1 else [after, before], axis=1)
        houses = dressed(rules, x, z, facing, widths, depths, ident, shelter)
        return houses.subset(kept)

    def _fitted(
        self,
        index: int,
        a: np.ndarray,
        u: np.ndarray,
        normal: np.ndarray,
        run: np.ndarray,
        widths: np.ndarray,
        depths: np.ndarray,
        ident: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """A row's parcels (centres ``run`` along the segment) as they fit, and which are built: a
        house as deep as the row's that would reach a street behind it is built as shallow as a
        house may be; a parcel that still meets a street (a cross street of the grammar at its
        end) is cut into single bays, each built where it fits. (Where the grammar's streets left
        less room than the row's depth, a steered street stood empty on that side.)"""

        def blocked(run: np.ndarray, widths: np.ndarray, depths: np.ndarray) -> np.ndarray:
            x, z = _placed(a, u, normal, self.half_street_m, run, depths)
            return self._house_blocked(index, x, z, np.tile(-normal, (run.size, 1)), widths, depths)

        kept = ~blocked(run, widths, depths)
        shallow = ~kept & (depths > DEPTH_M[0])
        if shallow.any():
            depths = np.where(shallow, DEPTH_M[0], depths)
            kept |= shallow & ~blocked(run, widths, depths)
        cut = ~kept & (widths >= 2 * self.rules.bay_m)
        if not cut.any():
            return run, widths, depths, ident, kept
        bay = self.rules.bay_m
        counts = np.where(cut, np.floor(widths / bay).astype(np.int64), 1)
        parent = np.repeat(np.arange(run.size), counts)
        part = np.arange(parent.size) - np.repeat(np.cumsum(counts) - counts, counts)
        last = part == counts[parent] - 1
        piece = np.where(cut[parent], np.where(last, widths[parent] - bay * part, bay), widths[parent])
        begins = run[parent] - widths[parent] / 2 + np.where(cut[parent], bay * part, 0.0)
        run, widths, depths = begins + piece / 2, piece, depths[parent]
        pieces = hash_to_unit(ident[parent], part, 513) * (1 << 40)
        ident = np.where(cut[parent], pieces.astype(np.int64), ident[parent])
        kept, bays = kept[parent], np.flatnonzero(cut[parent])
        kept[bays] = ~blocked(run[bays], widths[bays], depths[bays])  # only the new bays are judged again
        return run, widths, depths, ident, kept

    def _kept_clear(self) -> list[tuple[Region, float]]:
        """(region, margin) that no building's footprint may come within: unbuilt regions, and
        water with its quay."""
        return [(r, EAVES_M) for r in self.unbuilt] + [(r, QUAY_M + EAVES_M) for r in self.water]

    def _house_blocked(
        self, index: int, x: np.ndarray, z: np.ndarray, facing: np.ndarray, frontage: np.ndarray, depth: np.ndarray
    ) -> np.ndarray:
        """A street's houses stand clear of every street (the grammar's and the steered ones, an
        earlier street's houses too), of water and quays, and of unbuilt regions."""
        half = self.half_street_m
        regions = self._kept_clear()
        for j, other in enumerate(self.streets):
            # Its own centre line is half a street from its front wall: only a bend can come nearer.
            pad = half + HOUSE_BAND_M if j < index else (half - SLACK_M - 0.05 if j == index else half + EAVES_M)
            regions.append((other.centreline, pad))
        hit = _footprints_near(regions, x, z, facing, frontage, depth)
        px, pz = _footprint_samples(x, z, facing, frontage, depth)
        rules = self.rules
        hit |= on_street(rules, px, pz).any(axis=1) | water_at(rules, px, pz).any(axis=1)
        return hit

    # -- trees -----------------------------------------------------------------------------

    def trees(self, bounds: tuple[float, float, float, float]) -> Trees:
        """The grammar's trees in ``bounds`` less those steered away, and the steered forests'."""
        rules = self.rules
        own = trees_in(rules, bounds)
        gone = self._tree_refused(own.x, own.z) | _within([r for r, _ in self.forests], own.x, own.z, 0.0)
        own = own.subset(~gone)
        if not self.forests:
            return own
        x0, z0, x1, z1 = bounds
        ci = np.arange(math.floor(x0 / FOREST_CELL_M), math.ceil(x1 / FOREST_CELL_M))
        cj = np.arange(math.floor(z0 / FOREST_CELL_M), math.ceil(z1 / FOREST_CELL_M))
        gi, gj = (v.ravel() for v in np.meshgrid(ci, cj, indexing="ij"))
        x = (gi + 0.1 + 0.8 * hash_to_unit(gi, gj, rules.seed, 520)) * FOREST_CELL_M
        z = (gj + 0.1 + 0.8 * hash_to_unit(gi, gj, rules.seed, 521)) * FOREST_CELL_M
        chance = hash_to_unit(gi, gj, rules.seed, 522)
        # The newest forest directive over a cell decides its density.
        density = np.full(x.shape, -1.0)
        for region, d in self.forests:
            density = np.where(region.distance(x, z) <= 0, d, density)
        keep = (chance < density) & (x >= x0) & (x < x1) & (z >= z0) & (z < z1)
        keep &= ~on_street(rules, x, z) & ~water_at(rules, x, z) & ~self._tree_refused(x, z)
        if keep.any():
            pad = MAX_FRONTAGE_M / 2 + TREE_CLEAR_M
            near = self.buildings((x0 - pad, z0 - pad, x1 + pad, z1 + pad))
            keep[keep] = ~_in_footprints(near, x[keep], z[keep], TREE_CLEAR_M)
        ident = (hash_to_unit(gi[keep], gj[keep], rules.seed, 523) * (1 << 40)).astype(np.int64)
        forest = grown(rules, x[keep], z[keep], ident)
        return Trees(
            *(np.concatenate([getattr(own, f), getattr(forest, f)]) for f in ("x", "z", "height", "crown_m", "ident"))
        )

    def _tree_refused(self, x: np.ndarray, z: np.ndarray) -> np.ndarray:
        """No tree on a steered street (in a town, nor in its houses' band), water or quay."""
        kerb = self.half_street_m + (HOUSE_BAND_M if self.rules.town else TREE_CLEAR_M)
        return _within([s.centreline for s in self.streets], x, z, kerb) | _within(
            list(self.water), x, z, QUAY_M + TREE_CLEAR_M
        )


def _salt(d: Directive) -> int:
    text = json.dumps(d.to_json(), sort_keys=True, separators=(",", ":"))
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:6], "big")


def _within(regions: list[Region], x: np.ndarray, z: np.ndarray, pad: float) -> np.ndarray:
    hit = np.zeros(np.shape(x), dtype=bool)
    for region in regions:
        hit |= region.distance(x, z) <= pad
    return hit


def _joint_m(points: np.ndarray, k: int, half: float) -> float:
    """How far from point ``k`` a segment's houses start, so the rows either side of a bend
    (the inner side's) do not run into each other: none at the line's ends."""
    if k == 0 or k == len(points) - 1:
        return 0.0
    a, b = points[k] - points[k - 1], points[k + 1] - points[k]
    la, lb = float(np.hypot(*a)), float(np.hypot(*b))
    if la <= 0 or lb <= 0:
        return 0.0
    turn = math.acos(float(np.clip(a @ b / (la * lb), -1, 1)))
    turn = min(turn, math.radians(MAX_JOINT_DEG))
    return (half + HOUSE_BAND_M) * math.tan(turn / 2)


def _footprint_samples(
    x: np.ndarray, z: np.ndarray, facing: np.ndarray, frontage: np.ndarray, depth: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """[n, k] points over each footprint (its edges and inside), at most FOOTPRINT_STEP_M apart."""
    if x.size == 0:
        return np.zeros((0, 1)), np.zeros((0, 1))
    ns = math.ceil(float(frontage.max()) / FOOTPRINT_STEP_M) + 1
    nd = math.ceil(float(depth.max()) / FOOTPRINT_STEP_M) + 1
    s = np.linspace(-0.5, 0.5, ns)[None, None, :] * frontage[:, None, None]
    t = np.linspace(-0.5, 0.5, nd)[None, :, None] * depth[:, None, None]
    fx, fz = facing[:, 0, None, None], facing[:, 1, None, None]
    # Along the frontage: wall 2's direction, (fz, -fx) (see buildings._walls).
    px = x[:, None, None] + fx * t + fz * s
    pz = z[:, None, None] + fz * t - fx * s
    return px.reshape(x.size, -1), pz.reshape(x.size, -1)


def _footprints_near(
    regions: list[tuple[Region, float]],
    x: np.ndarray,
    z: np.ndarray,
    facing: np.ndarray,
    frontage: np.ndarray,
    depth: np.ndarray,
) -> np.ndarray:
    """[n] bool: footprints that come within each region's pad of it (never misses one: the
    samples' spacing is allowed for)."""
    hit = np.zeros(x.shape, dtype=bool)
    if x.size == 0 or not regions:
        return hit
    reach = np.hypot(frontage, depth) / 2
    for region, pad in regions:
        rx0, rz0, rx1, rz1 = region.bbox()
        margin = reach + pad + SLACK_M
        near = (x + margin >= rx0) & (x - margin <= rx1) & (z + margin >= rz0) & (z - margin <= rz1) & ~hit
        at = np.flatnonzero(near)
        if at.size == 0:
            continue
        px, pz = _footprint_samples(x[at], z[at], facing[at], frontage[at], depth[at])
        hit[at] |= region.distance(px, pz).min(axis=1) <= pad + SLACK_M
    return hit


def _in_footprints(b: Buildings, x: np.ndarray, z: np.ndarray, margin: float) -> np.ndarray:
    """[m] bool: points within ``margin`` of any of the buildings' footprints."""
    if len(b) == 0 or x.size == 0:
        return np.zeros(x.shape, dtype=bool)
    dx, dz = x[:, None] - b.x[None, :], z[:, None] - b.z[None, :]
    fx, fz = b.facing[None, :, 0], b.facing[None, :, 1]
    along_depth = np.abs(dx * fx + dz * fz) <= b.depth[None, :] / 2 + margin
    along_front = np.abs(dx * fz - dz * fx) <= b.frontage[None, :] / 2 + margin
    return (along_depth & along_front).any(axis=1)


def _concat(parts: list[Buildings], rules: LayoutRules) -> Buildings:
    if not parts:
        return no_buildings(rules)
    fields = ("x", "z", "facing", "frontage", "depth", "height", "roof_m")
    arrays = {f: np.concatenate([getattr(p, f) for p in parts]) for f in fields}
    return Buildings(
        **arrays,
        storey_m=rules.storey_m,
        ident=np.concatenate([p.ident for p in parts]),
        shelter_m=np.concatenate([p.shelter_m for p in parts]),
    )
