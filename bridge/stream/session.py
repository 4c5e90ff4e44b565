"""One viewer's stream: what it wants, what it holds, and what it may be sent next.

Transport-free and synchronous: an adapter feeds it updates and acks, asks :meth:`plan` what to
do, and reports what it sent. Validation lives here, so every transport refuses the same things.

Defined behaviour for awkward input (every transport inherits it):

- a pose with NaN or infinite numbers, a zero forward vector, a FOV outside (0, 179) degrees or a
  viewport side over 16384 px is refused (:class:`InvalidUpdateError`) and changes nothing;
- a view radius outside [0, ``max_radius_m``] (4096 m) is refused, never clamped; 0 keeps the
  current radius (256 m at first);
- budget fields of 0 keep the current value or the default; other values are clamped into
  [``min_*``, ``max_*_limit``] of :class:`StreamOptions` (1 MiB to 256 MiB in flight, 262,144 to
  256 M resident splats), so a tiny budget still lets one ordinary tile through and a huge one
  cannot make the server buffer without bound;
- acks for tiles never sent (or already unloaded) are ignored and reported back;
- a flood of updates is coalesced: each is validated as it arrives, but the interest set is
  recomputed once per :meth:`plan`, from the latest pose.

Budgets are never exceeded: a tile is sent only if the viewer's resident splats stay within its
budget (a tile larger than the whole budget is skipped and reported), and only if the bytes in
flight stay within theirs — with one exception, so a stream can never stall: a tile larger than
the whole in-flight budget goes alone, when nothing else is in flight. When the splat budget
cannot hold the interest set, the screen-space threshold is raised (coarser tiles) until it can.
"""

from __future__ import annotations

import math
from collections import Counter, OrderedDict
from dataclasses import dataclass, field, replace

from bridge.stream.interest import StreamOptions, keys_of, prioritise_cells, select_cells
from bridge.stream.pose import Pose, PoseUpdate
from bridge.world.grid import TileGrid
from bridge.world.keys import MAX_LOD, TileKey, key_of

MAX_VIEWPORT_PX = 16384
# The format a viewer that names none gets: compact (about 16 B/splat) and read by every splat
# tool; PLY (68 B/splat) only on request.
DEFAULT_FORMAT = "spz"
MAX_COORDINATE_M = 1.0e9  # far past any walk; beyond it float32 splat positions mean nothing
# The interest set may use at most this share of the splat budget, leaving the rest for the
# coarse tiles kept while their finer replacements arrive.
INTEREST_SHARE_OF_SPLAT_BUDGET = 0.5
MAX_UNLOADED_UNACKED = 4096  # tiles with acks still due for sends no longer held, remembered at most
MAX_COARSENING_STEPS = 8  # threshold x 2^8 at most: past that the set is a handful of root tiles


class InvalidUpdateError(ValueError):
    """A viewer update that cannot be applied; the session is unchanged."""


@dataclass(frozen=True)
class Budget:
    max_bytes_in_flight: int
    max_resident_splats: int
    formats: tuple[str, ...]


@dataclass
class HeldTile:
    """A tile the viewer holds (or has been sent): what it cost and which bytes it was."""

    size: int
    splats: int
    acked: bool = False
    format: str = ""
    sha256: str = ""


@dataclass(frozen=True)
class Plan:
    send: list[TileKey]  # wanted and not yet sent, most urgent first
    unload: list[TileKey]  # held tiles the viewer should drop now


@dataclass
class StreamSession:
    world_id: str
    grid: TileGrid  # the world's tiling, as its backend declares it
    options: StreamOptions = field(default_factory=StreamOptions)
    view: Pose | None = None  # resolved: no 0 fields
    budget: Budget | None = None
    held: dict[TileKey, HeldTile] = field(default_factory=dict)
    skipped: dict[TileKey, str] = field(default_factory=dict)  # wanted tiles that will never be sent: why
    # Wanted tiles the splat budget has no room for while everything held is still wanted: why.
    # Tried again once the viewer holds fewer splats (an unload) or the budget changes.
    crowded_out: dict[TileKey, str] = field(default_factory=dict)
    bytes_sent: int = 0
    sequence: int = 0  # highest viewer update sequence applied
    chunk_bytes: int = 0  # the largest tile message the viewer takes (0: its transport's default)
    updates_applied: int = 0  # poses accepted
    selections: int = 0  # interest sets computed (fewer than poses under a flood: coalesced)
    sse_threshold_px: float = 0.0  # the threshold the current interest set was selected with
    satisfied: set[TileKey] = field(default_factory=set)  # wanted, not held, but held finer (see plan)
    changed: set[TileKey] = field(default_factory=set)  # held, but a directive changed them: send again
    _wanted: list[TileKey] = field(default_factory=list)
    _urgency: dict[TileKey, float] = field(default_factory=dict)
    _stale: bool = False
    _in_flight: int = 0
    _resident: int = 0
    _splats_seen: int = 0
    _tiles_seen: int = 0
    # Acks still due for sends of a tile that is no longer held as that send (unloaded, or sent
    # again, before its ack came), how many: an ack crossing an unload or a re-send on the wire is
    # no mistake, however often the tile came and went (a walker at a LOD boundary).
    _late_acks: OrderedDict[TileKey, int] = field(default_factory=OrderedDict)
    _room_needed: int = 0  # splats of the largest tile the budget refused since the last unload
    # (lod, ix, iz) of every tile some held tile lies under, with how many: a plan looks for held
    # finer tiles only below these, not below every wanted tile.
    _above_held: Counter[tuple[int, int, int]] = field(default_factory=Counter)
    _reselected_for_room: bool = False
    # (lod, ix, iz) of every held tile, kept as tiles come and go (a plan reads it every time).
    _held_cells: set[tuple[int, int, int]] = field(default_factory=set)
    # The last plan and progress counts, valid until something they read changes (a new
    # interest set, a tile sent, unloaded, skipped, crowded out or changed, a budget): the
    # wakes in between (acks, tiles made ready) then cost nothing here.
    _plan: Plan | None = None
    _counts: tuple[int, int, int] | None = None

    def __post_init__(self) -> None:
        if self.budget is None:
            self.budget = Budget(self.options.max_bytes_in_flight, self.options.max_resident_splats, (DEFAULT_FORMAT,))
        self.sse_threshold_px = self.options.sse_threshold_px

    # -- inputs ------------------------------------------------------------------------------

    def update_view(self, pose: Pose | PoseUpdate) -> None:
        """Validate and apply a pose; unset (None or 0) fields keep the current value or default."""
        update = PoseUpdate.of(pose) if isinstance(pose, Pose) else pose
        vectors = (("position", update.position), ("forward", update.forward), ("velocity", update.velocity))
        for name, vector in vectors:
            if vector is not None and not all(math.isfinite(v) for v in vector):
                raise InvalidUpdateError(f"pose {name} {vector} is not finite")
        if update.position is not None and any(abs(v) > MAX_COORDINATE_M for v in update.position):
            raise InvalidUpdateError(f"pose position {update.position} is beyond +-{MAX_COORDINATE_M:g} m")
        if update.forward is not None and math.hypot(*update.forward) < 1e-9:
            raise InvalidUpdateError("pose forward is the zero vector")
        fov, radius = update.vertical_fov_deg, update.radius_m
        if not math.isfinite(fov) or not 0 <= fov < 179:
            raise InvalidUpdateError(f"vertical_fov_deg {fov} outside (0, 179)")
        for name, pixels in (
            ("viewport_height_px", update.viewport_height_px),
            ("viewport_width_px", update.viewport_width_px),
        ):
            if not 0 <= pixels <= MAX_VIEWPORT_PX:
                raise InvalidUpdateError(f"{name} {pixels} outside (0, {MAX_VIEWPORT_PX}]")
        if not math.isfinite(radius) or radius < 0 or radius > self.options.max_radius_m:
            raise InvalidUpdateError(
                f"view_radius_m {radius} outside [0, {self.options.max_radius_m:g}]; larger radii are refused"
            )
        try:
            self.view = update.resolved(self.view, self.options.default_radius_m)
        except ValueError as exc:
            raise InvalidUpdateError(str(exc)) from None
        self.updates_applied += 1
        self._stale = True  # selection waits for the next plan: a flood of poses costs one

    def update_budget(self, max_bytes_in_flight: int, max_resident_splats: int, formats: tuple[str, ...]) -> None:
        assert self.budget is not None
        o = self.options
        new = replace(
            self.budget,
            max_bytes_in_flight=_clamp(
                max_bytes_in_flight, self.budget.max_bytes_in_flight, o.min_bytes_in_flight, o.max_bytes_in_flight_limit
            ),
            max_resident_splats=_clamp(
                max_resident_splats, self.budget.max_resident_splats, o.min_resident_splats, o.max_resident_splats_limit
            ),
            formats=formats or self.budget.formats,
        )
        if new.max_resident_splats != self.budget.max_resident_splats:
            self._stale = True  # the splat budget shapes the interest set
            self.skipped.clear()  # what did not fit may fit now
            self._room_freed()
        if new != self.budget:
            self._invalidate()
        self.budget = new

    def ack(self, keys: list[TileKey]) -> list[TileKey]:
        """Mark tiles as received; returns the keys that were never sent (ignored). An ack for a
        tile unloaded before the ack arrived is taken silently."""
        unknown = []
        late_acks = self._late_acks
        for key in keys:
            late = late_acks.get(key) if late_acks else None
            if late:  # acks come in the order of the sends: this one is for an earlier send
                if late == 1:
                    del late_acks[key]
                else:
                    late_acks[key] = late - 1
                continue
            held = self.held.get(key)
            if held is None:
                unknown.append(key)
            elif not held.acked:
                held.acked = True
                self._in_flight -= held.size
        return unknown

    # -- decisions ---------------------------------------------------------------------------

    @property
    def format(self) -> str:
        """The format tiles are sent in: the first of the viewer's list (every tile can be made
        in every known format; the pump keeps unknown names out of the list)."""
        assert self.budget is not None
        return self.budget.formats[0]

    def resume(self, held: dict[TileKey, HeldTile]) -> None:
        """Start from tiles the viewer already holds (acked): they are not sent again."""
        for key, tile in held.items():
            old = self.held.get(key)
            if old is not None:
                self._resident -= old.splats
            else:
                self._track(key, 1)
            self.held[key] = HeldTile(tile.size, tile.splats, True, tile.format, tile.sha256)
            self._resident += tile.splats
        self._invalidate()

    def acked_tiles(self) -> dict[TileKey, HeldTile]:
        """What the viewer is known to hold: a later stream resumes from it."""
        return {k: v for k, v in self.held.items() if v.acked}

    @property
    def wanted(self) -> list[TileKey]:
        """The interest set, most urgent first (recomputed here if a pose came since)."""
        if self._stale:
            self._select()
        return self._wanted

    def urgency(self, key: TileKey) -> float:
        """Effective distance in metres (lower is more urgent); see ``prioritise_cells``."""
        return self._urgency.get(key, math.inf)

    @property
    def bytes_in_flight(self) -> int:
        return self._in_flight

    @property
    def resident_splats(self) -> int:
        return self._resident

    def _mean_splats(self) -> float:
        if self._tiles_seen:
            return self._splats_seen / self._tiles_seen
        return float(self.grid.splats_per_tile)

    def _select(self) -> None:
        assert self.view is not None and self.budget is not None
        self._stale = False
        self.selections += 1
        self._invalidate()
        limit = self.budget.max_resident_splats * INTEREST_SHARE_OF_SPLAT_BUDGET
        threshold = self.options.sse_threshold_px
        cells = select_cells(self.view, self.grid, self.options, threshold)
        for _ in range(MAX_COARSENING_STEPS):
            if len(cells) * self._mean_splats() <= limit:
                break
            threshold *= 2.0
            cells = select_cells(self.view, self.grid, self.options, threshold)
        self.sse_threshold_px = threshold
        order, urgency = prioritise_cells(cells, self.view, self.grid, self.options)
        self._wanted = keys_of(cells[order])
        self._urgency = dict(zip(self._wanted, urgency[order].tolist(), strict=True))

    def plan(self) -> Plan:
        wanted = self.wanted
        if self._plan is not None:
            return self._plan
        self._plan = self._make_plan(wanted)
        return self._plan

    def mark_changed(self, key: TileKey) -> None:
        """A directive changed this held tile: it is sent again."""
        self.changed.add(key)
        self._invalidate()

    def _invalidate(self) -> None:
        self._plan = None
        self._counts = None

    def _make_plan(self, wanted: list[TileKey]) -> Plan:
        wanted_set = set(wanted)
        assert self.budget is not None
        # A wanted tile whose whole area the viewer already holds at finer LODs (the ground a
        # walker leaves behind, now wanted coarser) is left as it is: re-sending it coarse would
        # cost bytes for less detail. Not when the splat budget is tight: then coarse is the point.
        finer: dict[TileKey, list[TileKey]] = {}
        held, above = self.held, self._above_held
        if self._resident <= self.budget.max_resident_splats * INTEREST_SHARE_OF_SPLAT_BUDGET:
            cells = self._held_cells
            for key in wanted:
                if key.lod > 0 and key not in held and (key.lod, key.ix, key.iz) in above:
                    below = _held_below(key, cells)
                    if below is not None:
                        finer[key] = below
        self.satisfied = set(finer)
        fmt, changed, skipped, crowded_out = self.format, self.changed, self.skipped, self.crowded_out
        pending = []
        # (Empty sets are checked for emptiness first: looking a key up hashes it even there.)
        passed = skipped or crowded_out or finer
        for k in wanted:
            tile = held.get(k)
            if tile is not None and tile.format == fmt and not (changed and k in changed):
                continue
            if not passed or (k not in skipped and k not in crowded_out and k not in finer):
                pending.append(k)
        unwanted = [k for k in held if k not in wanted_set]
        keep = _overlapping(unwanted, pending).union(*finer.values())
        # A held tile outside the interest set goes only once nothing wanted over its area is
        # still missing, so a coarse parent stays until its children are in (and vice versa).
        unload = [k for k in unwanted if k not in keep]
        if pending and keep:
            # ...unless the splat budget needs the room: then the budget wins, farthest first.
            room = self.budget.max_resident_splats - self._resident + sum(self.held[k].splats for k in unload)
            need = max(self._mean_splats(), self._room_needed)
            if room < need:
                assert self.view is not None
                x, _, z = self.view.position
                for key in sorted(keep, key=lambda k: -k.distance_m(x, z, self.grid.base_tile_m)):
                    unload.append(key)
                    room += self.held[key].splats
                    if room >= need:
                        break
        return Plan(send=pending, unload=unload)

    def counts(self) -> tuple[int, int, int]:
        """(wanted, sent, pending) for progress: a wanted tile counts as sent when the viewer holds
        it (in the current format) or holds its whole area finer; skipped tiles are neither.
        Counted over the interest set of the last plan (the pose whose sequence the progress
        echoes), not one chosen afresh for a pose that came in since: that pose's plan counts it."""
        if not self.selections:
            self.plan()
        if self._plan is None:  # what the plan reads changed since: counted now, kept by the next plan
            return self._count(self._wanted)
        if self._counts is None:
            self._counts = self._count(self._wanted)
        return self._counts

    def _count(self, wanted: list[TileKey]) -> tuple[int, int, int]:
        fmt, held, changed, satisfied = self.format, self.held, self.changed, self.satisfied
        given_up = self.skipped.keys() | self.crowded_out.keys()
        sent = skipped = 0
        for k in wanted:
            tile = held.get(k)
            if (tile is not None and tile.format == fmt and k not in changed) or k in satisfied:
                sent += 1
            elif tile is None and k in given_up:
                skipped += 1
        return len(wanted), sent, len(wanted) - sent - skipped

    def fits(self, size: int, splats: int) -> bool:
        """Could this tile ever be sent within the budget (with nothing else held)?"""
        assert self.budget is not None
        return splats <= self.budget.max_resident_splats

    def can_send(self, size: int, splats: int) -> bool:
        """Within budget now? See the module docstring for the one in-flight exception."""
        assert self.budget is not None
        if self._resident + splats > self.budget.max_resident_splats:
            return False
        return not (self._in_flight and self._in_flight + size > self.budget.max_bytes_in_flight)

    def mark_sent(self, key: TileKey, size: int, splats: int, fmt: str = "", sha256: str = "") -> None:
        self._invalidate()
        self.changed.discard(key)
        old = self.held.pop(key, None)
        if old is not None:
            if not old.acked:
                self._ack_due_late(key)
            self._forget(old)
        else:
            self._track(key, 1)
        self.held[key] = HeldTile(size, splats, format=fmt or self.format, sha256=sha256)
        self._in_flight += size
        self._resident += splats
        self.bytes_sent += size
        self._splats_seen += splats
        self._tiles_seen += 1

    def mark_unloaded(self, key: TileKey) -> None:
        self._invalidate()
        self.changed.discard(key)
        held = self.held.pop(key, None)
        if held is not None:
            self._track(key, -1)
            self._forget(held)
            if not held.acked:
                self._ack_due_late(key)

    def _ack_due_late(self, key: TileKey) -> None:
        """A send of ``key`` whose ack has not come stops being the held one: its ack is due still."""
        late_acks = self._late_acks
        late_acks[key] = late_acks.get(key, 0) + 1
        late_acks.move_to_end(key)
        if len(late_acks) > MAX_UNLOADED_UNACKED:
            late_acks.popitem(last=False)

    def mark_skipped(self, key: TileKey, reason: str) -> None:
        self.skipped[key] = reason
        self._invalidate()

    def blocked_by_splats(self, key: TileKey, splats: int) -> str | None:
        """The splat budget refused ``key`` (``splats``), and nothing held will leave until the
        viewer moves: without this the stream would wait forever. First the interest set is
        chosen again, from the splats tiles really have (coarser where it must be), and the
        plan may drop kept tiles to make this much room: None, plan again. If the tile is
        refused again before anything held has left, it is given up until something does:
        the reason, for an error event."""
        assert self.budget is not None
        self._room_needed = max(self._room_needed, splats)
        self._invalidate()  # the plan may drop kept tiles for this much room
        if not self._reselected_for_room:
            self._reselected_for_room = True
            self._stale = True
            return None
        reason = (
            f"tile {key} ({splats} splats) does not fit: the viewer holds {self._resident} of its "
            f"max_resident_splats budget of {self.budget.max_resident_splats} in tiles still wanted "
            "here; raise budget.max_resident_splats or lower view_radius_m"
        )
        self.crowded_out[key] = reason
        self._invalidate()
        return reason

    def _room_freed(self) -> None:
        self.crowded_out.clear()
        self._room_needed = 0
        self._reselected_for_room = False
        self._invalidate()

    def _track(self, key: TileKey, step: int) -> None:
        """Count ``key`` (step 1) or stop counting it (-1) under each of its ancestors."""
        self._invalidate()
        if step > 0:
            self._held_cells.add((key.lod, key.ix, key.iz))
        else:
            self._held_cells.discard((key.lod, key.ix, key.iz))
        above = self._above_held
        for lod in range(key.lod + 1, MAX_LOD + 1):
            cell = (lod, key.ix >> (lod - key.lod), key.iz >> (lod - key.lod))
            above[cell] += step
            if not above[cell]:
                del above[cell]

    def _forget(self, held: HeldTile) -> None:
        self._invalidate()
        self._resident -= held.splats
        if held.splats:
            self._room_freed()
        if not held.acked:
            self._in_flight -= held.size


def _clamp(value: int, current: int, low: int, high: int) -> int:
    return current if value == 0 else max(low, min(high, value))


def _overlapping(held: list[TileKey], pending: list[TileKey]) -> set[TileKey]:
    """The held keys whose square overlaps a pending key's (one is the other's ancestor)."""
    if not held or not pending:
        return set()
    pending_cells = {(k.lod, k.ix, k.iz) for k in pending}
    top_pending = max(k.lod for k in pending)
    top_held = max(k.lod for k in held)
    # Ancestors of pending tiles, up to the coarsest held LOD: a held one among them covers them.
    covers = {
        (lod, k.ix >> (lod - k.lod), k.iz >> (lod - k.lod)) for k in pending for lod in range(k.lod + 1, top_held + 1)
    }
    found = set()
    for k in held:
        if (k.lod, k.ix, k.iz) in covers or any(
            (lod, k.ix >> (lod - k.lod), k.iz >> (lod - k.lod)) in pending_cells
            for lod in range(k.lod + 1, top_pending + 1)
        ):
            found.add(k)
    return found


def _held_below(key: TileKey, cells: set[tuple[int, int, int]]) -> list[TileKey] | None:
    """The held descendants that together cover ``key``'s whole area, or None if some part of
    it is held by none (depth first, so an uncovered area is found after ``key.lod`` steps)."""
    found: list[TileKey] = []
    stack = [(key.lod, key.ix, key.iz)]
    while stack:
        lod, ix, iz = stack.pop()
        for child in (
            (lod - 1, 2 * ix, 2 * iz),
            (lod - 1, 2 * ix + 1, 2 * iz),
            (lod - 1, 2 * ix, 2 * iz + 1),
            (lod - 1, 2 * ix + 1, 2 * iz + 1),
        ):
            if child in cells:
                found.append(key_of(*child))
            elif child[0] == 0:
                return None
            else:
                stack.append(child)
    return found
