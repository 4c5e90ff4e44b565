"""One viewer's session, without any I/O: validation, coalescing, budgets, unloads; and the players."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from bridge.client import players
from bridge.stream.interest import StreamOptions, select_tiles
from bridge.stream.pose import Pose, PoseUpdate
from bridge.stream.session import InvalidUpdateError, StreamSession
from bridge.world.grid import TileGrid
from bridge.world.keys import TileKey

BASE = 32.0
TILE_BYTES = 20_000
TILE_SPLATS = 4096


def session(radius: float = 128.0, x: float = 0.0, z: float = 0.0) -> StreamSession:
    s = StreamSession("w", TileGrid(BASE, 64))
    s.update_view(Pose((x, 3.0, z), (0, 0, -1), (0, 0, 0), 0, 0, radius))
    return s


def deliver(s: StreamSession, limit: int = 10_000, ack: bool = True) -> list[TileKey]:
    """Play the pump's part: send what the plan and budget allow, unload what the plan says."""
    sent = []
    for _ in range(limit):
        plan = s.plan()
        for key in plan.unload:
            s.mark_unloaded(key)
        progressed = False
        for key in plan.send:
            if not s.can_send(TILE_BYTES, TILE_SPLATS):
                break
            s.mark_sent(key, TILE_BYTES, TILE_SPLATS)
            sent.append(key)
            progressed = True
            if ack:
                s.ack([key])
        if not progressed and not plan.unload:
            break
    return sent


def test_bad_poses_are_refused_and_change_nothing() -> None:
    s = session()
    wanted, view = list(s.wanted), s.view
    bad = [
        ((math.nan, 0, 0), (0, 0, -1), (0, 0, 0), 0, 0, 0),
        ((0, math.inf, 0), (0, 0, -1), (0, 0, 0), 0, 0, 0),
        ((0, 0, 0), (0, 0, 0), (0, 0, 0), 0, 0, 0),
        ((0, 0, 0), (0, 0, -1), (0, -math.inf, 0), 0, 0, 0),
        ((0, 0, 0), (0, 0, -1), (0, 0, 0), 200, 0, 0),
        ((0, 0, 0), (0, 0, -1), (0, 0, 0), 0, 10**6, 0),
        ((0, 0, 0), (0, 0, -1), (0, 0, 0), 0, 0, 1e9),
        ((0, 0, 0), (0, 0, -1), (0, 0, 0), 0, 0, -5),
        ((0, 0, 0), (0, 0, -1), (0, 0, 0), 0, 0, math.nan),
        ((2e9, 0, 0), (0, 0, -1), (0, 0, 0), 0, 0, 0),
    ]
    for args in bad:
        with pytest.raises(InvalidUpdateError):
            s.update_view(Pose(*args))  # type: ignore[arg-type]
    assert s.view == view and s.wanted == wanted and s.updates_applied == 1


def test_a_radius_past_the_limit_is_refused_with_the_limit_stated() -> None:
    with pytest.raises(InvalidUpdateError, match=r"outside \[0, 4096\]; larger radii are refused"):
        session().update_view(Pose((0, 3, 0), (0, 0, -1), (0, 0, 0), 0, 0, 4097))


def test_unset_pose_fields_keep_their_values_and_a_lone_radius_applies() -> None:
    s = StreamSession("w", TileGrid(BASE, 64))
    with pytest.raises(InvalidUpdateError, match="first pose must set a position"):
        s.update_view(PoseUpdate(velocity=(1.0, 0.0, 0.0)))
    s.update_view(PoseUpdate(position=(5.0, 3.0, -7.0), viewport_height_px=1080, viewport_width_px=1080))
    assert s.view is not None and (s.view.forward, s.view.velocity) == ((0.0, 0.0, -1.0), (0.0, 0.0, 0.0))
    s.update_view(PoseUpdate(forward=(1.0, 0.0, 0.0), velocity=(0.0, 0.0, -9.0)))
    s.update_view(PoseUpdate(radius_m=64.0))  # a radius on its own (no pose on the wire)
    assert s.view is not None
    assert (s.view.position, s.view.forward, s.view.velocity) == ((5.0, 3.0, -7.0), (1.0, 0.0, 0.0), (0.0, 0.0, -9.0))
    assert (s.view.radius_m, s.view.viewport_height_px, s.view.aspect) == (64.0, 1080, 1.0)
    view = s.view
    for bad in (
        PoseUpdate(radius_m=5000.0),
        PoseUpdate(viewport_width_px=20_000),
        PoseUpdate(velocity=(math.inf, 0, 0)),
    ):
        with pytest.raises(InvalidUpdateError):
            s.update_view(bad)
    assert s.view == view  # refused, never clamped or dropped silently


def test_the_view_cone_follows_the_viewport_aspect() -> None:
    grid = TileGrid(BASE, 64)
    narrow = Pose((0, 3, 0), (0, 0, -1), (0, 0, 0), 60.0, 720, 512.0, 360)
    wide = Pose((0, 3, 0), (0, 0, -1), (0, 0, 0), 60.0, 720, 512.0, 2880)
    fine = [
        min(k.lod for k in select_tiles(p, grid, StreamOptions()) if abs(k.center(BASE)[0]) > 150)
        for p in (narrow, wide)
    ]
    count = [len(select_tiles(p, grid, StreamOptions())) for p in (narrow, wide)]
    assert count[0] < count[1]  # a wide image sees more of the side: more tiles refined there
    assert fine[0] >= fine[1]


def test_a_flood_of_poses_is_coalesced_into_one_selection() -> None:
    s = session()
    s.plan()
    before = s.selections
    for i in range(1000):
        s.update_view(Pose((i * 0.5, 3.0, 0.0), (0, 0, -1), (0, 0, 0), 0, 0, 0))
    plan = s.plan()
    assert s.selections == before + 1
    assert s.updates_applied == 1001
    assert plan.send and s.view is not None and s.view.position[0] == 499.5


def test_zero_budgets_keep_the_defaults_and_others_are_clamped() -> None:
    options = StreamOptions()
    s = session()
    s.update_budget(0, 0, ())
    assert s.budget is not None
    assert (s.budget.max_bytes_in_flight, s.budget.max_resident_splats) == (
        options.max_bytes_in_flight,
        options.max_resident_splats,
    )
    assert s.budget.formats == ("spz",)  # the default for a viewer that names none
    s.update_budget(1, 1, ("spz",))
    assert (s.budget.max_bytes_in_flight, s.budget.max_resident_splats) == (
        options.min_bytes_in_flight,
        options.min_resident_splats,
    )
    s.update_budget(2**63, 2**63, ())
    assert (s.budget.max_bytes_in_flight, s.budget.max_resident_splats) == (
        options.max_bytes_in_flight_limit,
        options.max_resident_splats_limit,
    )
    assert s.format == "spz"


def test_acks_for_tiles_never_sent_are_reported_and_ignored() -> None:
    s = session()
    key = s.plan().send[0]
    s.mark_sent(key, TILE_BYTES, TILE_SPLATS)
    assert s.ack([key, TileKey(0, 999, 999)]) == [TileKey(0, 999, 999)]
    assert s.bytes_in_flight == 0 and s.ack([key]) == []  # acking twice is harmless


def test_acks_that_cross_unloads_and_resends_are_taken_silently_however_often() -> None:
    """A tile sent, unloaded, sent again and unloaded again before either ack came (a walker at a
    LOD boundary, its acks on the wire): both acks are due, neither is a mistake. Only the
    first crossing was known, so the second ack read "never sent" (issue 20's item 12, in soaks)."""
    s = session()
    key = s.plan().send[0]
    for _ in range(2):
        s.mark_sent(key, TILE_BYTES, TILE_SPLATS)
        s.mark_unloaded(key)
    assert s.ack([key]) == [] and s.ack([key]) == []
    assert s.ack([key]) == [key]  # a third was never due
    # Sent, unloaded, sent again: the first ack is the first send's; the tile is in flight until the second.
    s.mark_sent(key, TILE_BYTES, TILE_SPLATS)
    s.mark_unloaded(key)
    s.mark_sent(key, TILE_BYTES, TILE_SPLATS)
    assert s.ack([key]) == [] and s.bytes_in_flight == TILE_BYTES
    assert s.ack([key]) == [] and s.bytes_in_flight == 0


def test_bytes_in_flight_never_exceed_the_budget() -> None:
    s = session(radius=256)
    s.update_budget(1024 * 1024, 0, ())
    sent = deliver(s, ack=False)
    assert len(sent) == (1024 * 1024) // TILE_BYTES
    assert s.bytes_in_flight <= 1024 * 1024
    s.ack(sent)
    assert len(deliver(s, ack=False)) == len(sent)  # the window opens again once acked


def test_resident_splats_never_exceed_the_budget_and_the_interest_set_coarsens_to_fit() -> None:
    s = session(radius=512)
    full = len(s.wanted)
    s.update_budget(0, 300_000, ())
    assert len(s.wanted) * TILE_SPLATS <= 150_000 < full * TILE_SPLATS
    assert s.sse_threshold_px > StreamOptions().sse_threshold_px
    deliver(s)
    assert s.resident_splats <= 300_000
    assert s.plan().send == []  # everything wanted is in
    # Walking on, the budget holds at every step, however the set changes.
    for step in range(40):
        s.update_view(Pose((0.0, 3.0, -25.0 * step), (0, 0, -1), (0, 0, -25), 0, 0, 0))
        deliver(s)
        assert s.resident_splats <= 300_000


def test_a_parent_stays_until_its_children_are_in() -> None:
    s = session(radius=256, z=0.0)
    deliver(s)
    held_before = set(s.held)
    # Walk 150 m: near tiles ahead become finer; their coarse parents must stay until replaced.
    s.update_view(Pose((0.0, 3.0, -150.0), (0, 0, -1), (0, 0, 0), 0, 0, 0))
    plan = s.plan()
    pending = set(plan.send)
    for key in plan.unload:
        assert not any(p.ancestor(key.lod) == key for p in pending if p.lod <= key.lod)
        assert not any(key.ancestor(p.lod) == p for p in pending if p.lod >= key.lod)
    kept = (held_before - set(plan.unload)) - set(s.wanted)
    assert kept, "some coarse tiles should be kept while their replacements are pending"
    deliver(s)
    assert s.plan().send == [] and s.counts()[2] == 0
    for key in s.wanted:  # each wanted tile is held, or held finer (what was near is now behind)
        assert key in s.held or key in s.satisfied


def test_ground_left_behind_is_not_sent_again_coarser() -> None:
    s = session(radius=256)
    s.update_view(Pose((0.0, 3.0, 0.0), (0, 0, -1), (0, 0, -20), 0, 0, 0))
    total = []
    for step in range(30):
        s.update_view(Pose((0.0, 3.0, -20.0 * step), (0, 0, -1), (0, 0, -20), 0, 0, 0))
        total += deliver(s)
    assert s.satisfied  # coarser tiles wanted behind, held finer
    assert len(total) == len(set(total))  # nothing sent twice


def test_players_are_deterministic_and_move_as_named() -> None:
    start, forward = (0.0, 2.0, 0.0), (0.0, 0.0, -1.0)
    line = players.straight_line(start, forward, 50.0, 10.0, 0.5)
    assert line[-1].position == pytest.approx((0.0, 2.0, -500.0))
    assert all(p.velocity == pytest.approx((0.0, 0.0, -50.0)) for p in line)

    ring = players.circle((0.0, 2.0, 0.0), 100.0, 10.0, 2 * math.pi * 100 / 10, 0.25)
    radii = [math.hypot(p.position[0], p.position[2]) for p in ring]
    assert radii == pytest.approx([100.0] * len(ring))
    assert ring[-1].position == pytest.approx(ring[0].position, abs=2.5)  # one lap (to a step)
    for a, b in itertools.pairwise(ring):  # looking where it goes
        step = np.subtract(b.position, a.position)
        assert np.dot(step / np.linalg.norm(step), a.forward) > 0.99

    walk_a = players.random_walk(start, forward, 5.0, 60.0, 0.5, seed=7)
    walk_b = players.random_walk(start, forward, 5.0, 60.0, 0.5, seed=7)
    walk_c = players.random_walk(start, forward, 5.0, 60.0, 0.5, seed=8)
    assert walk_a == walk_b and walk_a != walk_c
    assert len({p.forward for p in walk_a}) > 5  # it turns

    jumps = players.teleports([(0, 2, 0), (5000, 2, 0), (-3000, 2, 800)], forward, 2.0, 0.5)
    assert [p.position for p in jumps[::4]] == [(0, 2, 0), (5000, 2, 0), (-3000, 2, 800)]
    assert all(p.velocity == (0.0, 0.0, 0.0) for p in jumps)

    stop_go = players.stop_and_go(start, forward, 10.0, 8.0, 0.5, go_s=2.0, stop_s=2.0)
    speeds = [abs(p.velocity[2]) for p in stop_go]
    assert speeds[:4] == [10.0] * 4 and speeds[4:8] == [0.0] * 4
    assert stop_go[-1].position[2] == pytest.approx(-40.0)

    laps = players.back_and_forth(start, forward, 100.0, 10.0, 1.0, laps=2)
    far = [p.t for p in laps if p.position[2] == pytest.approx(-100.0)]
    home = [p.t for p in laps if p.position[2] == pytest.approx(0.0)]
    assert len(far) == 2 and len(home) == 4  # both ends visited on each lap
    assert players.pose_at(line, 3.3).t == 3.0 and players.pose_at(line, 99.0) == line[-1]
