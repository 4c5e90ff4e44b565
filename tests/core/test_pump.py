"""The stream loop over the real core (in-process, generation held by the test where it matters):
shared generation, cancellation of unwanted work, bounded errors, flood coalescing."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path

import pytest

from bridge.core.pump import active_streams, run_stream
from bridge.generate.base import GeneratorOptions
from bridge.stream.interest import StreamOptions
from bridge.stream.messages import Progress, StreamErrorEvent, TileSent, ViewerMessage
from bridge.stream.session import Plan, StreamSession
from bridge.world.keys import TileKey
from tests.conftest import run
from tests.stream_support import Inbox, Viewer, make_worlds, pose, world_dir

__all__ = ["world_dir"]  # the fixture, imported for pytest


def test_two_viewers_wanting_the_same_tiles_cost_one_generation_each(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        worlds, pool = make_worlds(data_dir)
        pool.gate.clear()  # hold generation until both viewers have asked
        a = Viewer(worlds, world_id, pose(radius=96))
        b = Viewer(worlds, world_id, pose(radius=96))
        await a.until(lambda: worlds.scheduler.stats().joined > 0)
        pool.gate.set()
        await asyncio.gather(a.settled(1), b.settled(1))
        assert a.tiles == b.tiles and len(a.tiles) > 10
        keys = pool.tiles_submitted()
        assert len(keys) == len(set(keys)) == worlds.tiles_generated == len(a.tiles)
        await asyncio.gather(a.close(), b.close())
        assert active_streams(worlds) == 0 and worlds.scheduler.pending_jobs() == 0
        pool.shutdown()

    run(scenario(), 120)


def test_generation_queued_for_a_place_the_viewer_left_is_cancelled(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        worlds, pool = make_worlds(data_dir)
        pool.gate.clear()
        viewer = Viewer(worlds, world_id, pose(x=5000, radius=256))
        await viewer.until(lambda: worlds.scheduler.stats().queued > 20)
        queued = worlds.scheduler.stats().queued
        running = worlds.scheduler.stats().running
        assert running == 2
        viewer.move(pose(x=-9000, radius=64), sequence=2)  # a teleport
        await viewer.until(lambda: worlds.scheduler.stats().cancelled >= queued)
        pool.gate.set()
        await viewer.settled(2)
        # Only the two tiles already in a worker were made for the old place; none after.
        made_there = [k for k in pool.tiles_submitted() if k.center(32.0)[0] > 0]
        assert len(made_there) == running
        assert all(k.center(32.0)[0] < 0 for k in viewer.tiles)
        await viewer.close()
        pool.shutdown()

    run(scenario(), 120)


def test_the_most_urgent_tiles_come_first(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        worlds, pool = make_worlds(data_dir)
        viewer = Viewer(worlds, world_id, pose(x=-3000, z=2000, radius=256, velocity=(0.0, 0.0, -30.0)))
        await viewer.settled(1)
        order = [e.key for e in viewer.events if isinstance(e, TileSent)]
        first = order[: len(order) // 4]
        last = order[-len(order) // 4 :]

        base = GeneratorOptions().base_tile_m

        def distance(k: TileKey) -> float:
            return k.distance_m(-3000, 2000, base)

        assert sum(map(distance, first)) / len(first) < sum(map(distance, last)) / len(last) / 2
        # Ahead (-z) before behind: of the first quarter, most lie ahead.
        ahead = sum(1 for k in first if k.center(base)[1] < 2000)
        assert ahead > len(first) * 0.6
        await viewer.close()
        pool.shutdown()

    run(scenario(), 120)


def test_errors_are_bounded_for_a_viewer_that_floods_bad_messages(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        worlds, pool = make_worlds(data_dir)
        inbox = Inbox()
        stream = run_stream(worlds, ViewerMessage(world_id=world_id, pose=pose(), sequence=1), aiter(inbox))
        first = await anext(stream)
        for i in range(500):  # a flood, while the viewer reads nothing
            inbox.put(ViewerMessage(acks=[TileKey(0, 10_000 + i, 0)], pose=pose(x=i), sequence=2 + i))
        inbox.put(ViewerMessage(invalid="not a message at all"))
        inbox.close()
        events = [first]
        async for event in stream:
            events.append(event)
        errors = [e for e in events if isinstance(e, StreamErrorEvent)]
        assert 30 <= len(errors) <= 33
        assert "further errors were not reported" in errors[-1].message
        progress = [e for e in events if isinstance(e, Progress)]
        assert progress[-1].sequence == 501  # every update was applied; the poses coalesced
        assert active_streams(worlds) == 0 and worlds.scheduler.stats().claims == 0
        pool.shutdown()

    run(scenario(), 120)


def test_acks_do_not_stop_a_run_of_sends_but_a_pose_does(
    world_dir: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A walker acks every tile; each ack stopped the sends for a new plan (one plan per tile)."""
    data_dir, world_id = world_dir
    plans: list[int] = []
    make_plan = StreamSession._make_plan

    def counted(session: StreamSession, wanted: list[TileKey]) -> Plan:
        plans.append(len(wanted))
        return make_plan(session, wanted)

    async def scenario() -> list[int]:
        worlds, pool = make_worlds(data_dir)
        first = Viewer(worlds, world_id, pose(x=700, radius=96))
        await first.settled(1)  # every tile made and in the server's memory
        await first.close()
        monkeypatch.setattr(StreamSession, "_make_plan", counted)
        inbox = Inbox()
        opening = ViewerMessage(world_id=world_id, pose=pose(x=700, radius=96), sequence=1)
        plans_by_tile = []  # plans made before each tile
        at_once = StreamOptions(min_plan_interval_s=0.0)  # a pose is planned for as soon as it is read
        async with contextlib.aclosing(run_stream(worlds, opening, aiter(inbox), at_once)) as stream:
            async for event in stream:
                if isinstance(event, TileSent):
                    plans_by_tile.append(len(plans))
                    inbox.put(ViewerMessage(acks=[event.key]))
                    for _ in range(3):  # as a transport's write does: the loop runs (the ack is read)
                        await asyncio.sleep(0)
                    if len(plans_by_tile) == 10:  # a pose mid-run: the sends stop for a plan of it
                        inbox.put(ViewerMessage(pose=pose(x=700, z=-1, radius=96), sequence=2))
                if isinstance(event, Progress) and event.sequence == 2 and event.tiles_pending == 0:
                    break
        pool.shutdown()
        return plans_by_tile

    plans_by_tile = run(scenario(), 120)
    assert len(plans_by_tile) > 40
    assert plans_by_tile[11] > plans_by_tile[9], "the pose did not stop the sends"
    # Acks alone: the ready tiles go in runs (up to a claim window each), not one plan per tile.
    assert plans_by_tile[-1] <= len(plans_by_tile) / 4, f"{plans_by_tile[-1]} plans for {len(plans_by_tile)} tiles"


def test_poses_that_come_while_tiles_are_sent_are_planned_for_once_an_interval(world_dir: tuple[Path, str]) -> None:
    """A walker's poses come ten a second while its stream sends: each stopped the sends for a
    new interest set. Now the sends go on until the plan interval is over (here longer than
    the test), and the latest pose is planned for then."""
    data_dir, world_id = world_dir

    async def scenario() -> tuple[int, int]:
        worlds, pool = make_worlds(data_dir)
        first = Viewer(worlds, world_id, pose(x=-700, radius=96))
        await first.settled(1)  # every tile made and in the server's memory: a long run of sends
        await first.close()
        inbox = Inbox()
        opening = ViewerMessage(world_id=world_id, pose=pose(x=-700, radius=96), sequence=1)
        options = StreamOptions(min_plan_interval_s=3600.0)
        sent = selections = 0
        async with contextlib.aclosing(run_stream(worlds, opening, aiter(inbox), options)) as stream:
            async for event in stream:
                if isinstance(event, TileSent):
                    sent += 1
                    step = ViewerMessage(acks=[event.key], pose=pose(x=-700, z=-sent, radius=96), sequence=1 + sent)
                    inbox.put(step)  # a pose after each tile, each a metre on
                    for _ in range(3):  # as a transport's write does: the loop runs (the pose is read)
                        await asyncio.sleep(0)
                    if sent == 21:
                        (session,) = worlds.sessions._live.values()
                        selections = session.selections
                        break
        pool.shutdown()
        return selections, sent

    selections, sent = run(scenario(), 120)
    assert sent == 21
    assert selections == 1, f"{selections} interest sets for the 20 poses that came during one run of sends"


def test_a_viewer_that_leaves_while_its_stream_waits_out_the_plan_interval_is_let_go_at_once(
    world_dir: tuple[Path, str],
) -> None:
    """The plan interval's wait ends when the viewer goes: its slot in the per-client limit is
    given back at once (a soak's reconnects were refused as a 65th stream while the old waited)."""
    data_dir, world_id = world_dir

    async def scenario() -> None:
        worlds, pool = make_worlds(data_dir)
        first = Viewer(worlds, world_id, pose(radius=48))
        await first.settled(1)  # every tile made and in the server's memory: no wake needed to send them
        await first.close()
        viewer = Viewer(worlds, world_id, pose(radius=48), options=StreamOptions(min_plan_interval_s=3600.0))
        await viewer.settled(1)
        viewer.move(pose(x=1, radius=48), sequence=2)  # wakes the stream: it waits out the interval
        await viewer.until(lambda: viewer.inbox._queue.empty())
        await viewer.close()  # fails (after 30 s) if the stream is still waiting
        assert active_streams(worlds) == 0 and worlds.scheduler.stats().claims == 0
        pool.shutdown()

    run(scenario(), 120)
