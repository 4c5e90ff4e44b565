"""One viewer's stream: what it wants, what it holds, and what it may be sent next.

Transport-free and synchronous: an adapter feeds it updates and acks, asks :meth:`plan` what to
do, and reports what it sent. Validation lives here, so every transport refuses the same things.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from bridge.stream.interest import StreamOptions, ViewState, prioritise, select_tiles
from bridge.world.keys import MAX_LOD, TileKey

DEFAULT_VFOV_DEG = 60.0
DEFAULT_VIEWPORT_PX = 720
MAX_VIEWPORT_PX = 16384
MAX_COORDINATE_M = 1.0e9  # far past any walk; beyond it float32 splat positions mean nothing


class InvalidUpdateError(ValueError):
    """A viewer update that cannot be applied; the session is unchanged."""


@dataclass(frozen=True)
class Budget:
    max_bytes_in_flight: int
    max_resident_splats: int
    formats: tuple[str, ...]


@dataclass
class _Held:
    size: int
    splats: int
    acked: bool = False


@dataclass(frozen=True)
class Plan:
    send: list[TileKey]  # wanted and not yet sent, most urgent first
    unload: list[TileKey]  # held tiles the viewer should drop now


@dataclass
class StreamSession:
    world_id: str
    base_tile_m: float
    options: StreamOptions = field(default_factory=StreamOptions)
    view: ViewState | None = None
    budget: Budget | None = None
    held: dict[TileKey, _Held] = field(default_factory=dict)
    wanted: list[TileKey] = field(default_factory=list)
    bytes_sent: int = 0
    sequence: int = 0  # highest viewer update sequence applied

    def __post_init__(self) -> None:
        if self.budget is None:
            self.budget = Budget(self.options.max_bytes_in_flight, self.options.max_resident_splats, ("ply",))

    # -- inputs ------------------------------------------------------------------------------

    def update_view(
        self,
        position: tuple[float, float, float],
        forward: tuple[float, float, float],
        velocity: tuple[float, float, float],
        vertical_fov_deg: float,
        viewport_height_px: int,
        radius_m: float,
    ) -> None:
        """Validate and apply a pose; 0 for fov, viewport or radius keeps the current or default."""
        for name, vector in (("position", position), ("forward", forward), ("velocity", velocity)):
            if not all(math.isfinite(v) for v in vector):
                raise InvalidUpdateError(f"pose {name} {vector} is not finite")
        if any(abs(v) > MAX_COORDINATE_M for v in position):
            raise InvalidUpdateError(f"pose position {position} is beyond +-{MAX_COORDINATE_M:g} m")
        if math.hypot(*forward) < 1e-9:
            raise InvalidUpdateError("pose forward is the zero vector")
        if not math.isfinite(vertical_fov_deg) or not 0 <= vertical_fov_deg < 179:
            raise InvalidUpdateError(f"vertical_fov_deg {vertical_fov_deg} outside (0, 179)")
        if not 0 <= viewport_height_px <= MAX_VIEWPORT_PX:
            raise InvalidUpdateError(f"viewport_height_px {viewport_height_px} outside (0, {MAX_VIEWPORT_PX}]")
        if not math.isfinite(radius_m) or radius_m < 0 or radius_m > self.options.max_radius_m:
            raise InvalidUpdateError(f"view_radius_m {radius_m} outside [0, {self.options.max_radius_m:g}]")
        previous = self.view
        self.view = ViewState(
            position=position,
            forward=forward,
            velocity=velocity,
            vertical_fov_deg=vertical_fov_deg or (previous.vertical_fov_deg if previous else DEFAULT_VFOV_DEG),
            viewport_height_px=viewport_height_px or (previous.viewport_height_px if previous else DEFAULT_VIEWPORT_PX),
            radius_m=radius_m or (previous.radius_m if previous else self.options.default_radius_m),
        )
        self.wanted = prioritise(
            select_tiles(self.view, self.base_tile_m, self.options), self.view, self.base_tile_m, self.options
        )

    def update_budget(self, max_bytes_in_flight: int, max_resident_splats: int, formats: tuple[str, ...]) -> None:
        assert self.budget is not None
        self.budget = replace(
            self.budget,
            max_bytes_in_flight=max_bytes_in_flight or self.budget.max_bytes_in_flight,
            max_resident_splats=max_resident_splats or self.budget.max_resident_splats,
            formats=formats or self.budget.formats,
        )

    def ack(self, keys: list[TileKey]) -> list[TileKey]:
        """Mark tiles as received; returns the keys that were never sent (ignored)."""
        unknown = []
        for key in keys:
            held = self.held.get(key)
            if held is None:
                unknown.append(key)
            else:
                held.acked = True
        return unknown

    # -- decisions ---------------------------------------------------------------------------

    @property
    def format(self) -> str:
        assert self.budget is not None
        return self.budget.formats[0]

    @property
    def bytes_in_flight(self) -> int:
        return sum(h.size for h in self.held.values() if not h.acked)

    @property
    def resident_splats(self) -> int:
        return sum(h.splats for h in self.held.values())

    def plan(self) -> Plan:
        wanted = set(self.wanted)
        pending = [k for k in self.wanted if k not in self.held]
        pending_set = set(pending)
        # A held tile outside the interest set goes only once nothing wanted over its area is
        # still missing, so a coarse parent stays until its children are in (and vice versa).
        pending_and_ancestors = set(pending_set)
        for key in pending:
            pending_and_ancestors.update(key.ancestor(lod) for lod in range(key.lod + 1, MAX_LOD + 1))
        unload = [
            key
            for key in self.held
            if key not in wanted
            and key not in pending_and_ancestors
            and not any(key.ancestor(lod) in pending_set for lod in range(key.lod + 1, MAX_LOD + 1))
        ]
        return Plan(send=pending, unload=unload)

    def can_send(self, size: int, splats: int) -> bool:
        """Within budget? The first tile in flight always goes, or a huge tile would stall forever."""
        assert self.budget is not None
        in_flight = self.bytes_in_flight
        if in_flight and in_flight + size > self.budget.max_bytes_in_flight:
            return False
        return not (self.held and self.resident_splats + splats > self.budget.max_resident_splats)

    def mark_sent(self, key: TileKey, size: int, splats: int) -> None:
        self.held[key] = _Held(size, splats)
        self.bytes_sent += size

    def mark_unloaded(self, key: TileKey) -> None:
        self.held.pop(key, None)
