"""The layout grammar: what stands where in the world, decided by world-anchored fields.

The photo's street continues through the spawn along its heading, and a grid of streets runs
parallel and across it (the street frame: ``along`` the heading, ``across`` to its right). The
blocks between them are lined with buildings on all four sides, parcel by parcel, each parcel's
frontage a whole number of the photo's window bays, its height a whole number of its storeys.
Some blocks stay open: squares (paved) and parks (trees), more of them where the photo shows
less built and more vegetation. Where the photo shows almost nothing built, there are no
streets: the land is open, with forests where its vegetation says so.

Where a town's photo shows water (and its ground has a water material), the water goes on as the
photo has it: ahead down the middle, a canal along the photo's street between two quays; to one
side, a waterfront: the street is the quay and everything on that side of it is open water.

Every decision is a hash of integer cell coordinates and the world's seed, so any tile, at any
LOD, on any machine, finds the same buildings and trees; a building belongs to the one tile its
footprint's centre stands in.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from bridge.generate.hashing import hash_to_unit
from bridge.generate.noise import value_noise
from bridge.generate.photo.scene import LAYER_WATER, SceneReading

MIN_BUILT_SHARE = 0.04  # below this share of built pixels, the world has no streets
STREET_WIDTH_M = (10.0, 24.0)  # the photo's street width is held to this range (its reading runs narrow)
SIDE_STREET_FACTOR = 0.75  # cross and parallel streets are this much narrower
BLOCK_ALONG_M = (56.0, 96.0)  # block length along the heading (street to street, centre lines)
BLOCK_ACROSS_M = 48.0  # block depth across the heading, plus the street
DEPTH_M = (8.0, 13.0)  # building depth, front wall to back wall
BAYS = (2, 5)  # window bays per building frontage
DEFAULT_STOREY_M = 3.2
DEFAULT_BAY_M = 3.0
DEFAULT_STOREYS = (2, 4)
MAX_STREET_TURN_DEG = 30.0  # a photo's street heading within this of straight ahead is straight ahead
MAX_PARCELS = 24  # per block side (a side never holds more: 96 m / 2 bays of 2 m)
ROOF_PITCH_DEG = (30.0, 45.0)
LOWEST_PITCH_DEG = 15.0  # a house lowered under the photo's skyline keeps a roof at least this steep
PLINTH_M = 0.4  # walls rise this much above their storeys (a plinth, the eaves' beam)
FOREST_CELL_M = 7.0  # forest trees stand on a jittered grid of this spacing
LONE_TREE_CELL_M = 22.0  # trees outside forests: at most one per cell of this edge
FOREST_WAVELENGTH_M = 160.0
WATER_MIN_SHARE = 0.03  # of the photo's non-sky pixels read as water, for its town to have water
CANAL_BAND = 0.15  # water whose mean column lies this near the photo's middle (share of its width) runs ahead
CANAL_STREET_M = 18.0  # the photo's street when it is a canal: the water and a quay either side
QUAY_M = 4.0


class Water(IntEnum):
    """Where a town's water lies, in the street frame."""

    NONE = 0
    CANAL = 1  # down the middle of the photo's street
    LEFT = 2  # everything left of the photo's street (the street is the quay)
    RIGHT = 3


NO_PARCEL = np.iinfo(np.int64).min  # stands for "no neighbour" where parcel idents are expected

# Block kinds.
BLOCK_BUILT, BLOCK_SQUARE, BLOCK_PARK = 0, 1, 2


@dataclass(frozen=True)
class LayoutRules:
    """The grammar's parameters for one world, measured from its photo (see :func:`rules_from`)."""

    origin: tuple[float, float]  # the spawn's (x, z): the photo's street passes through it
    heading: tuple[float, float]  # unit (x, z) along the photo's street
    town: bool  # streets and blocks, or open land
    street_width_m: float
    block_along_m: float
    storey_m: float
    bay_m: float
    storeys: tuple[int, int]  # fewest and most storeys
    building_presence: float  # probability that a parcel holds a building
    square_share: float  # of blocks left open as paved squares
    park_share: float  # of blocks left open as parks
    forest_share: float  # of open land under forest
    lone_tree_presence: float  # probability of a tree in a lone-tree cell
    seed: int
    water: Water = Water.NONE


def rules_from(
    reading: SceneReading, origin: tuple[float, float], seed: int, has_water_ground: bool = False
) -> LayoutRules:
    """The photo's mix decides the world's: a town where it shows building, woods where trees,
    canals or a waterfront where water (given ``has_water_ground``: a ground material to draw it)."""
    mix = reading.mix
    built = mix.built + 0.5 * mix.objects
    facade = reading.facades[0] if reading.facades else None
    storey = facade.storey_m if facade is not None and 2.6 <= facade.storey_m <= 4.2 else DEFAULT_STOREY_M
    bay = facade.bay_m if facade is not None and 1.5 <= facade.bay_m <= 6.0 else DEFAULT_BAY_M
    low, high = reading.building_height_m
    # What the frame cuts off at its top reads lower than it stands: houses have a few storeys at least.
    low = max(low, DEFAULT_STOREYS[0] * storey)
    high = max(high, low + storey, DEFAULT_STOREYS[1] * storey)
    fewest = int(np.clip(round(low / storey), 1, 8))
    most = int(np.clip(round(high / storey), fewest, 10))
    heading = np.asarray(reading.street_heading, dtype=np.float64)
    norm = float(np.hypot(*heading))
    heading = heading / norm if norm > 1e-6 else np.array([0.0, -1.0])
    # The street runs where the photo looks unless its lines clearly say otherwise: a walk
    # straight ahead from the spawn stays on it.
    if heading @ np.array([0.0, -1.0]) > math.cos(math.radians(MAX_STREET_TURN_DEG)):
        heading = np.array([0.0, -1.0])
    green = mix.vegetation
    town = built >= MIN_BUILT_SHARE and bool(reading.facades)
    water = _water_side(reading) if town and has_water_ground else Water.NONE
    street_width = float(np.clip(reading.street_width_m or 10.0, *STREET_WIDTH_M))
    if water == Water.CANAL:
        street_width = max(street_width, CANAL_STREET_M)
    return LayoutRules(
        origin=origin,
        heading=(float(heading[0]), float(heading[1])),
        town=town,
        street_width_m=street_width,
        block_along_m=float(np.interp(built, [0.05, 0.5], [BLOCK_ALONG_M[1], BLOCK_ALONG_M[0]])),
        storey_m=storey,
        bay_m=bay,
        storeys=(fewest, most),
        building_presence=float(np.clip(0.55 + built, 0.55, 0.95)),
        square_share=0.08,
        park_share=float(np.clip(0.05 + green, 0.05, 0.5)),
        forest_share=float(np.clip(green * 1.4, 0.0, 0.8)),
        lone_tree_presence=float(np.clip(green * 2.0, 0.05, 0.9)),
        seed=seed,
        water=water,
    )


def _water_side(reading: SceneReading) -> Water:
    """Where the photo's water lies: ahead (its pixels centred on the middle) or to one side."""
    if reading.mix.water < WATER_MIN_SHARE:
        return Water.NONE
    water = reading.layers == LAYER_WATER
    columns = np.nonzero(water)[1]
    offset = float(columns.mean()) / water.shape[1] - 0.5
    if abs(offset) < CANAL_BAND:
        return Water.CANAL
    return Water.RIGHT if offset > 0 else Water.LEFT


def water_at(rules: LayoutRules, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """[N] bool: is (x, z) open water (a canal, or the water beyond a waterfront's quay)?"""
    x = np.asarray(x, dtype=np.float64)
    if rules.water == Water.NONE:
        return np.zeros(x.shape, dtype=bool)
    _, across = _to_frame(rules, x, np.asarray(z, dtype=np.float64))
    half = rules.street_width_m / 2
    if rules.water == Water.CANAL:
        return np.abs(across) < half - QUAY_M
    side = 1.0 if rules.water == Water.RIGHT else -1.0
    return across * side > half


@dataclass(frozen=True)
class Buildings:
    """Buildings as arrays, one row each: a box of ``frontage`` x ``depth`` x ``height`` (to the
    eaves) whose front wall faces ``facing`` (unit (x, z)), centred on (x, z), with a gable roof
    of ``roof_m`` rising along the frontage (0: flat)."""

    x: np.ndarray
    z: np.ndarray
    facing: np.ndarray  # [n, 2]
    frontage: np.ndarray
    depth: np.ndarray
    height: np.ndarray
    roof_m: np.ndarray
    storey_m: float
    ident: np.ndarray  # int64 hash seed per building: picks its facade, tint and bays
    # [n, 2] how high the neighbour in the row stands against this building's side walls
    # (walls 2 and 3 of buildings.py: right and left seen from the front); 0 where open.
    shelter_m: np.ndarray

    def __len__(self) -> int:
        return int(self.x.size)

    def lowered_to(self, room_m: np.ndarray) -> Buildings:
        """The buildings with at most ``room_m`` (per building, over the foot) to the roof's top:
        storeys taken off until they fit, the roof kept but pitched lower (down to LOWEST_PITCH_DEG
        over the depth) in what room is left; height 0 where not one storey and that roof fit. A
        lowered house with its roof cut flat read as a slab, a plinth beside the street."""
        full = self.height + self.roof_m
        fits = full <= room_m
        room = np.where(np.isfinite(room_m), room_m, 0.0)
        lowest_roof = np.minimum(self.roof_m, self.depth / 2 * np.tan(np.radians(LOWEST_PITCH_DEG)))
        storeys = np.floor(np.maximum(room - PLINTH_M - lowest_roof, 0.0) / self.storey_m)
        walls = storeys * self.storey_m + PLINTH_M
        lowered = np.where(storeys >= 1, walls, 0.0)
        kept_roof = np.where(storeys >= 1, np.clip(room - walls, lowest_roof, self.roof_m), 0.0)
        height = np.where(fits, self.height, lowered)
        roof = np.where(fits, self.roof_m, kept_roof)
        shelter = np.minimum(self.shelter_m, height[:, None])
        return Buildings(
            self.x, self.z, self.facing, self.frontage, self.depth, height, roof, self.storey_m, self.ident, shelter
        )

    def subset(self, keep: np.ndarray) -> Buildings:
        return Buildings(
            self.x[keep], self.z[keep], self.facing[keep], self.frontage[keep], self.depth[keep],
            self.height[keep], self.roof_m[keep], self.storey_m, self.ident[keep], self.shelter_m[keep],
        )  # fmt: skip


@dataclass(frozen=True)
class Trees:
    x: np.ndarray
    z: np.ndarray
    height: np.ndarray  # to the crown's top, metres
    crown_m: np.ndarray  # crown radius
    ident: np.ndarray  # int64

    def __len__(self) -> int:
        return int(self.x.size)

    def subset(self, keep: np.ndarray) -> Trees:
        return Trees(self.x[keep], self.z[keep], self.height[keep], self.crown_m[keep], self.ident[keep])


def _to_frame(rules: LayoutRules, x: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """World (x, z) -> (along, across) in the street frame. The spawn stands mid-block (half a
    block along): the photo shows a street between facades, not a crossing."""
    hx, hz = rules.heading
    dx, dz = np.asarray(x) - rules.origin[0], np.asarray(z) - rules.origin[1]
    return dx * hx + dz * hz + rules.block_along_m / 2, dz * hx - dx * hz


def _to_world(rules: LayoutRules, along: np.ndarray, across: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hx, hz = rules.heading
    along = along - rules.block_along_m / 2
    return rules.origin[0] + along * hx - across * hz, rules.origin[1] + along * hz + across * hx


def _frame_box(rules: LayoutRules, bounds: tuple[float, float, float, float]) -> tuple[float, float, float, float]:
    """The (along, across) box around a world box."""
    x0, z0, x1, z1 = bounds
    a, c = _to_frame(rules, np.array([x0, x1, x0, x1]), np.array([z0, z0, z1, z1]))
    return float(a.min()), float(c.min()), float(a.max()), float(c.max())


def block_kind(rules: LayoutRules, j: np.ndarray, k: np.ndarray) -> np.ndarray:
    """BLOCK_* of blocks (j along, k across)."""
    u = hash_to_unit(j, k, rules.seed, 401)
    return np.where(
        u < rules.square_share,
        BLOCK_SQUARE,
        np.where(u < rules.square_share + rules.park_share, BLOCK_PARK, BLOCK_BUILT),
    )


def _block_edges(rules: LayoutRules) -> tuple[float, float, float]:
    """(block length along, block width across, half the street width between blocks)."""
    return rules.block_along_m, BLOCK_ACROSS_M, rules.street_width_m * SIDE_STREET_FACTOR / 2


# Footprints (x, z, facing [n, 2], frontage, depth) -> [n] bool: parcels a directive keeps unbuilt.
Blocked = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray], np.ndarray]


def buildings_in(
    rules: LayoutRules, bounds: tuple[float, float, float, float], blocked: Blocked | None = None
) -> Buildings:
    """Every building whose footprint's centre lies in ``bounds`` (x0, z0, x1, z1); none on the
    parcels ``blocked`` names (their neighbours' side walls then stand whole)."""
    if not rules.town:
        return no_buildings(rules)
    length, width, _ = _block_edges(rules)
    a0, c0, a1, c1 = _frame_box(rules, bounds)
    j = np.arange(math.floor(a0 / length) - 1, math.floor(a1 / length) + 1)
    k = np.arange(math.floor(c0 / width) - 1, math.floor(c1 / width) + 1)
    jj, kk = (v.ravel() for v in np.meshgrid(j, k, indexing="ij"))
    built = block_kind(rules, jj, kk) == BLOCK_BUILT
    jj, kk = jj[built], kk[built]
    if jj.size == 0:
        return no_buildings(rules)
    parts = [_side_parcels(rules, jj, kk, side) for side in range(4)]
    along = np.concatenate([p[0] for p in parts])
    across = np.concatenate([p[1] for p in parts])
    facing_frame = np.concatenate([p[2] for p in parts])  # [n, 2] (along, across)
    frontage = np.concatenate([p[3] for p in parts])
    depth = np.concatenate([p[4] for p in parts])
    ident = np.concatenate([p[5] for p in parts])
    neighbours = np.concatenate([p[6] for p in parts])  # [n, 2] idents against walls 2 and 3 (or NO_PARCEL)
    x, z = _to_world(rules, along, across)
    hx, hz = rules.heading
    fa, fc = facing_frame[:, 0], facing_frame[:, 1]
    facing = np.stack([fa * hx - fc * hz, fa * hz + fc * hx], axis=1)
    x0, z0, x1, z1 = bounds
    inside = (x >= x0) & (x < x1) & (z >= z0) & (z < z1)
    present = _present(rules, ident)
    if blocked is not None:
        # Every parcel of the blocks around is judged, so a neighbour outside the bounds counts too.
        refused = blocked(x, z, facing, frontage, depth)
        present &= ~refused
        neighbours = np.where(np.isin(neighbours, ident[refused]), NO_PARCEL, neighbours)
    keep = inside & present & ~water_at(rules, x, z)
    ident = ident[keep]
    # A row house's side wall shows only above its neighbour: below, the two share a party wall.
    neighbours = neighbours[keep]
    shelter = np.where((neighbours != NO_PARCEL) & _present(rules, neighbours), eaves_m(rules, neighbours), 0.0)
    return dressed(rules, x[keep], z[keep], facing[keep], frontage[keep], depth[keep], ident, shelter)


def dressed(
    rules: LayoutRules,
    x: np.ndarray,
    z: np.ndarray,
    facing: np.ndarray,
    frontage: np.ndarray,
    depth: np.ndarray,
    ident: np.ndarray,
    shelter: np.ndarray,
) -> Buildings:
    """Buildings on these footprints, their storeys and roofs picked by ``ident`` as the grammar's."""
    pitch = np.radians(
        ROOF_PITCH_DEG[0] + (ROOF_PITCH_DEG[1] - ROOF_PITCH_DEG[0]) * hash_to_unit(ident, rules.seed, 404)
    )
    gabled = hash_to_unit(ident, rules.seed, 405) < 0.8
    return Buildings(
        x=x, z=z, facing=facing, frontage=frontage, depth=depth,
        height=eaves_m(rules, ident), roof_m=np.where(gabled, depth / 2 * np.tan(pitch), 0.0),
        storey_m=rules.storey_m, ident=ident, shelter_m=shelter,
    )  # fmt: skip


def _present(rules: LayoutRules, ident: np.ndarray) -> np.ndarray:
    """Does the parcel ``ident`` hold a building (or stand empty, a gap in the row)?"""
    return hash_to_unit(ident, rules.seed, 402) < rules.building_presence


def eaves_m(rules: LayoutRules, ident: np.ndarray) -> np.ndarray:
    """Height to the eaves of the building on parcel ``ident``: whole storeys and a cornice."""
    fewest, most = rules.storeys
    storeys = fewest + np.floor(hash_to_unit(ident, rules.seed, 403) * (most - fewest + 1))
    return storeys * rules.storey_m + 0.4


def _side_parcels(rules: LayoutRules, j: np.ndarray, k: np.ndarray, side: int) -> tuple[np.ndarray, ...]:
    """Parcels along one side of each block: (along, across, facing (along, across), frontage,
    depth, ident), flattened. Sides 0 and 1 face the streets along the heading (low and high
    across), 2 and 3 the cross streets (low and high along); those run between the long sides'
    back walls, so corners are not built twice."""
    length, width, half_street = _block_edges(rules)
    main_half = rules.street_width_m / 2
    # The block's built area, inside its streets (the photo's street, k = 0's low side, is wider).
    lo_a, hi_a = j * length + half_street, (j + 1) * length - half_street
    lo_c = k * width + np.where(k == 0, main_half, half_street)
    hi_c = (k + 1) * width - np.where(k == -1, main_half, half_street)
    n = j.size
    salt = np.full(n, side)

    def side_depth(s: int) -> np.ndarray:
        d = DEPTH_M[0] + (DEPTH_M[1] - DEPTH_M[0]) * hash_to_unit(j, k, np.full(n, s), rules.seed, 410)
        return np.minimum(d, (hi_c - lo_c) / 2 - 1.0)

    depth = side_depth(side)
    if side < 2:
        start, end = lo_a, hi_a
    else:
        # Between the long sides' back walls: theirs, not this side's own depth (a deeper long
        # side's corner house stood up to 5 m into the cross side's first one).
        start, end = lo_c + side_depth(0), hi_c - side_depth(1)
    slots = np.arange(MAX_PARCELS)
    bays = BAYS[0] + np.floor(
        hash_to_unit(j[:, None], k[:, None], salt[:, None], slots, rules.seed, 411) * (BAYS[1] - BAYS[0] + 1)
    )
    widths = bays * rules.bay_m
    ends = np.cumsum(widths, axis=1)
    room = (end - start)[:, None]
    fits = ends <= room
    # The last parcel that fits takes up the rest of the side, so a side is built end to end.
    last = fits.sum(axis=1) - 1
    rows = np.arange(n)
    has = last >= 0
    widths[rows[has], last[has]] += (room[:, 0] - ends[rows, np.maximum(last, 0)])[has]
    ends = np.cumsum(widths, axis=1)
    centre_run = start[:, None] + ends - widths / 2
    along_axis = side < 2
    if along_axis:
        along = centre_run
        across_front = np.where(side == 0, lo_c, hi_c)[:, None]
        across = across_front + (depth[:, None] / 2) * (1 if side == 0 else -1)
        across = np.broadcast_to(across, along.shape)
        facing = np.array([0.0, -1.0 if side == 0 else 1.0])
    else:
        across = centre_run
        along_front = np.where(side == 2, lo_a, hi_a)[:, None]
        along = np.broadcast_to(along_front + (depth[:, None] / 2) * (1 if side == 2 else -1), across.shape)
        facing = np.array([-1.0 if side == 2 else 1.0, 0.0])
    ident = (j[:, None].astype(np.int64) * 1_000_003 + k[:, None].astype(np.int64) * 7919 + side * 101 + slots).astype(
        np.int64
    )
    keep = fits
    count = int(keep.sum())
    # The row's next parcel stands on the front's right (wall 2) for sides 1 and 2, on its left
    # (wall 3) for sides 0 and 3 (the facing turned a quarter clockwise is the wall-2 side).
    following = np.where(fits[:, 1:], ident[:, 1:], NO_PARCEL)
    after = np.concatenate([following, np.full((n, 1), NO_PARCEL)], axis=1)
    before = np.concatenate([np.full((n, 1), NO_PARCEL), ident[:, :-1]], axis=1)
    pair = np.stack([after, before], axis=-1) if side in (1, 2) else np.stack([before, after], axis=-1)
    return (
        along[keep],
        across[keep],
        np.tile(facing, (count, 1)),
        widths[keep],
        np.broadcast_to(depth[:, None], widths.shape)[keep],
        ident[keep],
        pair[keep],
    )


def no_buildings(rules: LayoutRules) -> Buildings:
    empty = np.zeros(0)
    none = np.zeros(0, np.int64)
    return Buildings(empty, empty, np.zeros((0, 2)), empty, empty, empty, empty, rules.storey_m, none, np.zeros((0, 2)))


def open_ground(rules: LayoutRules, x: np.ndarray, z: np.ndarray, margin_m: float = 1.5) -> np.ndarray:
    """[N] bool: is (x, z) open land (no street, no building plot)? Squares and parks are open;
    in a town, built blocks are not (their courtyards stay clear of trees)."""
    x = np.asarray(x, dtype=np.float64)
    if not rules.town:
        return np.ones(x.shape, dtype=bool)
    length, width, half_street = _block_edges(rules)
    along, across = _to_frame(rules, x, z)
    grid, main = _street_distances(rules, along, across)
    streets = (grid < half_street + margin_m) | (main < rules.street_width_m / 2 + margin_m)
    kind = block_kind(rules, np.floor(along / length).astype(np.int64), np.floor(across / width).astype(np.int64))
    return ~streets & (kind != BLOCK_BUILT) & ~water_at(rules, x, z)


def on_street(rules: LayoutRules, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """[N] bool: does (x, z) lie on a street (or, in open land, on the photo's path ahead)?"""
    along, across = _to_frame(rules, x, z)
    if not rules.town:
        return np.abs(across) < rules.street_width_m / 2 * 0.6
    grid, main = _street_distances(rules, along, across)
    return (grid < _block_edges(rules)[2]) | (main < rules.street_width_m / 2)


def _street_distances(rules: LayoutRules, along: np.ndarray, across: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(metres to the nearest centre line of the street grid, metres to the photo's own street's)."""
    length, width, _ = _block_edges(rules)
    da = np.abs(along - np.round(along / length) * length)
    dc = np.abs(across - np.round(across / width) * width)
    return np.minimum(da, dc), np.abs(across)


def trees_in(rules: LayoutRules, bounds: tuple[float, float, float, float]) -> Trees:
    """Trees whose trunk stands in ``bounds``: forests on open land where the forest field says
    so, lone trees elsewhere on open land, none on streets or building plots."""
    x0, z0, x1, z1 = bounds
    parts = []
    for cell, salt, presence in (
        (FOREST_CELL_M, 420, None),
        (LONE_TREE_CELL_M, 430, rules.lone_tree_presence),
    ):
        ci = np.arange(math.floor(x0 / cell), math.ceil(x1 / cell))
        cj = np.arange(math.floor(z0 / cell), math.ceil(z1 / cell))
        gi, gj = (v.ravel() for v in np.meshgrid(ci, cj, indexing="ij"))
        x = (gi + 0.1 + 0.8 * hash_to_unit(gi, gj, rules.seed, salt + 1)) * cell
        z = (gj + 0.1 + 0.8 * hash_to_unit(gi, gj, rules.seed, salt + 2)) * cell
        if presence is None:
            present = forest(rules, x, z) & (hash_to_unit(gi, gj, rules.seed, salt) < 0.8)
        else:
            present = ~forest(rules, x, z) & (hash_to_unit(gi, gj, rules.seed, salt) < presence)
        keep = present & (x >= x0) & (x < x1) & (z >= z0) & (z < z1)
        keep &= open_ground(rules, x, z, margin_m=2.5) & ~on_street(rules, x, z)
        ident = hash_to_unit(gi[keep], gj[keep], rules.seed, salt + 3)
        parts.append((x[keep], z[keep], (ident * (1 << 40)).astype(np.int64)))
    x = np.concatenate([p[0] for p in parts])
    z = np.concatenate([p[1] for p in parts])
    ident = np.concatenate([p[2] for p in parts])
    return grown(rules, x, z, ident)


def grown(rules: LayoutRules, x: np.ndarray, z: np.ndarray, ident: np.ndarray) -> Trees:
    """Trees at (x, z), each one's height and crown picked by its ``ident``."""
    height = 6.0 + 10.0 * hash_to_unit(ident, rules.seed, 440)
    crown = height * (0.22 + 0.12 * hash_to_unit(ident, rules.seed, 441))
    return Trees(x, z, height, crown, ident)


def forest(rules: LayoutRules, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """[N] bool: under forest (a smooth world-anchored field thresholded at the forest share)."""
    if rules.forest_share <= 0.0:
        return np.zeros(np.shape(x), dtype=bool)
    field = 0.65 * value_noise(x, z, FOREST_WAVELENGTH_M, rules.seed, 450) + 0.35 * value_noise(
        x, z, FOREST_WAVELENGTH_M / 2.7, rules.seed, 451, angle=0.7
    )
    # The noise's values gather round 0.5: a share maps to a threshold through its rough spread.
    threshold = 0.5 + 0.22 * (0.5 - rules.forest_share) * 2
    return field > threshold
