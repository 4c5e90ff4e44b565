"""A session's plan is kept until something it reads changes, and progress counts the set that
plan was made for: the wakes between poses (acks, tiles made ready) cost no planning, and a pose
that came in after the plan is not selected a second time just to count."""

from __future__ import annotations

import random

from bridge.stream.pose import Pose
from bridge.stream.session import StreamSession
from bridge.world.grid import TileGrid
from bridge.world.keys import TileKey

GRID = TileGrid(8.0, 64)


def walker_session() -> StreamSession:
    s = StreamSession("w", GRID)
    s.update_budget(0, 0, ("stream",))
    s.update_view(Pose((0.0, 1.7, 0.0), (0, 0, -1), (0, 0, -10), 60.0, 720, 128.0))
    return s


def test_an_ack_keeps_the_plan_and_a_sent_tile_makes_a_new_one() -> None:
    s = walker_session()
    plan = s.plan()
    key = plan.send[0]
    s.mark_sent(key, 4000, 4096, "stream")
    after_send = s.plan()
    assert after_send is not plan and key not in after_send.send
    s.ack([key])
    assert s.plan() is after_send  # an ack changes nothing a plan reads


def test_progress_counts_the_planned_set_without_selecting_again() -> None:
    s = walker_session()
    s.plan()
    planned = s.counts()
    selections = s.selections
    s.update_view(Pose((0.0, 1.7, -40.0), (0, 0, -1), (0, 0, -10), 60.0, 720, 128.0))
    assert s.counts() == planned  # the progress for the planned pose's sequence
    assert s.selections == selections
    s.plan()
    assert s.selections == selections + 1


def test_the_kept_plan_is_always_the_plan_made_afresh() -> None:
    """Random walks of everything that changes a session; after each step the plan (and the
    counts) it hands out equal ones computed from scratch for its state then."""
    rng = random.Random(7)
    for trial in range(12):
        s = walker_session()
        x = z = 0.0
        for _ in range(120):
            action = rng.random()
            plan = s.plan()
            if action < 0.3:
                x, z = x + rng.uniform(-3, 3), z + rng.uniform(-12, 2)
                s.update_view(Pose((x, 1.7, z), (0, 0, -1), (0, 0, -10), 60.0, 720, 128.0))
            elif action < 0.6 and plan.send:
                for key in plan.send[: rng.randint(1, 6)]:
                    s.mark_sent(key, 4000, rng.choice([0, 4096, 60_000]), "stream")
            elif action < 0.7:
                for key in plan.unload:
                    s.mark_unloaded(key)
            elif action < 0.8 and s.held:
                s.ack(rng.sample(sorted(s.held), min(3, len(s.held))))
            elif action < 0.85 and plan.send:
                s.mark_skipped(plan.send[-1], "too big")
            elif action < 0.9 and s.held:
                s.mark_changed(rng.choice(sorted(s.held)))
            elif action < 0.95:
                s.update_budget(0, rng.choice([0, 300_000, 8_000_000]), rng.choice([(), ("spz",), ("stream",)]))
            elif plan.send:
                s.blocked_by_splats(plan.send[0], 4096)
            kept, counts = s.plan(), s.counts()
            fresh = s._make_plan(s.wanted)
            assert (kept.send, kept.unload) == (fresh.send, fresh.unload), trial
            assert counts == s._count(s.wanted), trial


def test_counts_on_a_fresh_session_select_once() -> None:
    s = StreamSession("w", GRID)
    s.update_view(Pose((0.0, 1.7, 0.0), (0, 0, -1), (0, 0, 0), 60.0, 720, 64.0))
    wanted, sent, pending = s.counts()
    assert wanted == len(s.wanted) == pending and sent == 0
    assert s.selections == 1
    assert all(isinstance(k, TileKey) for k in s.wanted)
