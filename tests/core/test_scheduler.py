"""The shared generation queue: one job per key, most urgent first, dropped when nobody wants it."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Awaitable, Callable

import pytest

from bridge.core.scheduler import Scheduler
from tests.conftest import run


class Work:
    """Jobs that finish when the test says so, and remember the order they started in."""

    def __init__(self) -> None:
        self.started: list[str] = []
        self.gates: dict[str, asyncio.Event] = {}

    def job(self, name: str, result: object = None, fail: bool = False) -> Callable[[], Awaitable[object]]:
        async def work() -> object:
            self.started.append(name)
            gate = self.gates.setdefault(name, asyncio.Event())
            await gate.wait()
            if fail:
                raise RuntimeError(f"{name} failed")
            return result if result is not None else name

        return work

    def finish(self, name: str) -> None:
        self.gates.setdefault(name, asyncio.Event()).set()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


def test_two_claims_on_one_key_run_the_work_once_and_share_the_result() -> None:
    async def scenario() -> None:
        scheduler: Scheduler[object] = Scheduler(2)
        work = Work()
        a = scheduler.claim("tile", work.job("tile"), 5.0)
        b = scheduler.claim("tile", work.job("tile-again"), 1.0)
        await settle()
        work.finish("tile")
        assert await a.wait() == "tile" and await b.wait() == "tile"
        assert work.started == ["tile"]
        stats = scheduler.stats()
        assert (stats.submitted, stats.joined, stats.finished, stats.claims) == (1, 1, 1, 0)

    run(scenario(), 10)


def test_the_most_urgent_queued_job_of_any_claimant_goes_next() -> None:
    async def scenario() -> None:
        scheduler: Scheduler[object] = Scheduler(1)
        work = Work()
        blocker = scheduler.claim("blocker", work.job("blocker"), 0.0)
        claims = {name: scheduler.claim(name, work.job(name), p) for name, p in [("far", 50), ("near", 5), ("mid", 20)]}
        # Another viewer needs "mid" urgently: the job takes its most urgent claim's priority.
        scheduler.claim("mid", work.job("mid"), 1.0)
        claims["far"].set_priority(0.5)  # and the first viewer now needs "far" most of all
        await settle()
        assert work.started == ["blocker"]
        for name in ("blocker", "far", "mid", "near"):
            work.finish(name)
        await asyncio.gather(blocker.wait(), *(c.wait() for c in claims.values()))
        assert work.started == ["blocker", "far", "mid", "near"]

    run(scenario(), 10)


def test_a_queued_job_nobody_wants_any_more_is_dropped_and_never_runs() -> None:
    async def scenario() -> None:
        scheduler: Scheduler[object] = Scheduler(1)
        work = Work()
        blocker = scheduler.claim("blocker", work.job("blocker"), 0.0)
        solo = scheduler.claim("solo", work.job("solo"), 1.0)
        shared_a = scheduler.claim("shared", work.job("shared"), 2.0)
        shared_b = scheduler.claim("shared", work.job("shared"), 3.0)
        solo.release()
        shared_a.release()  # one viewer still wants it: it stays
        waiter = asyncio.create_task(blocker.wait())
        await settle()
        work.finish("blocker")
        work.finish("shared")
        await waiter
        assert await shared_b.wait() == "shared"
        assert work.started == ["blocker", "shared"]
        assert scheduler.stats().cancelled == 1
        assert scheduler.pending_jobs() == 0

    run(scenario(), 10)


def test_cancelling_a_wait_withdraws_the_claim_but_a_running_job_finishes() -> None:
    async def scenario() -> None:
        scheduler: Scheduler[object] = Scheduler(1)
        work = Work()
        running = asyncio.create_task(scheduler.run("running", work.job("running"), 0.0))
        queued = asyncio.create_task(scheduler.run("queued", work.job("queued"), 1.0))
        await settle()
        running.cancel()
        queued.cancel()
        await settle()
        assert scheduler.stats().cancelled == 1  # only the queued one
        late = scheduler.claim("running", work.job("running"), 0.0)  # someone wants it again
        work.finish("running")
        assert await late.wait() == "running"
        assert work.started == ["running"]
        with pytest.raises(asyncio.CancelledError):
            await running

    run(scenario(), 10)


def test_a_probe_answers_without_a_slot_and_a_failure_reaches_every_claim() -> None:
    async def scenario() -> None:
        scheduler: Scheduler[object] = Scheduler(1)
        work = Work()

        async def found() -> object:
            return "from the store"

        async def missing() -> object:
            return None

        blocker = scheduler.claim("blocker", work.job("blocker"), 0.0)
        cached = scheduler.claim("cached", work.job("cached"), 9.0, probe=found)
        assert await cached.wait() == "from the store"  # while the only slot is busy
        broken_a = scheduler.claim("broken", work.job("broken", fail=True), 1.0, probe=missing)
        broken_b = scheduler.claim("broken", work.job("broken", fail=True), 1.0)
        work.finish("blocker")
        work.finish("broken")
        await blocker.wait()
        for claim in (broken_a, broken_b):
            with pytest.raises(RuntimeError, match="broken failed"):
                await claim.wait()
        stats = scheduler.stats()
        assert (stats.probed, stats.failed, stats.queued, stats.running) == (1, 1, 0, 0)

    run(scenario(), 10)


def test_many_priority_changes_do_not_grow_the_queue_without_bound() -> None:
    async def scenario() -> None:
        scheduler: Scheduler[object] = Scheduler(1)
        work = Work()
        scheduler.claim("blocker", work.job("blocker"), 0.0)
        claims = [scheduler.claim(i, work.job(str(i)), float(i)) for i in range(10)]
        for step in range(2000):
            claims[step % 10].set_priority(float(step))
        assert len(scheduler._heap) <= 4 * 10 + 64
        for claim in claims:
            claim.release()
        work.finish("blocker")
        await settle()
        assert scheduler.pending_jobs() == 0

    run(scenario(), 10)


def test_closing_with_queued_jobs_nobody_awaits_logs_no_error(caplog: pytest.LogCaptureFixture) -> None:
    """A server stopping with viewers' tiles still queued: their refusals are nobody's error."""

    async def scenario() -> None:
        work = Work()
        scheduler: Scheduler[object] = Scheduler(1)
        scheduler.claim("running", work.job("running"))
        scheduler.claim("queued", work.job("queued"))  # its viewer left without waiting
        await settle()
        work.finish("running")
        await scheduler.close()

    with caplog.at_level(logging.ERROR, logger="asyncio"):
        run(scenario())
        gc.collect()  # an unretrieved exception is logged when its future is collected
    assert "never retrieved" not in caplog.text
