"""A shared, prioritised, de-duplicated job queue in front of the generation workers.

Every viewer's wish for a tile becomes a :class:`Claim` on one job per key; however many viewers
claim a key, it runs once. A job's priority is the most urgent (lowest) of its claims, and when a
worker slot frees up the most urgent queued job of any viewer goes next (ties: first come, first
served). A claim withdrawn before its job starts — a viewer turned round, teleported or left —
drops the job when no other claim holds it, so nobody's generation time is spent on tiles no one
wants any more. A job already running is left to finish: its result is stored, not wasted.

Jobs go through two phases. ``probe`` (optional) runs at once and unthrottled — a lookup in the
store, say — and may answer the job without queueing; only when it answers ``None`` does the job
queue for one of ``concurrency`` slots to run ``work``. Keeping at most ``concurrency`` jobs
running (as many as there are worker processes) keeps the executor's own queue empty, so the
order and the cancellation here are the only ones that count.

Everything here runs on one event loop and is not thread-safe, like the rest of asyncio.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")

# Priority for work that must go before any tile (a world being prepared).
URGENT = float("-inf")


@dataclass
class SchedulerStats:
    """Counters since start, and the queue now. ``cancelled``: queued jobs dropped unclaimed."""

    submitted: int = 0  # distinct jobs created
    joined: int = 0  # claims that joined a job already known
    probed: int = 0  # jobs answered by their probe, without a slot
    started: int = 0
    finished: int = 0
    failed: int = 0
    cancelled: int = 0
    queued: int = 0  # now
    running: int = 0  # now
    claims: int = 0  # now


@dataclass(eq=False)
class _Job(Generic[T]):
    key: Hashable
    work: Callable[[], Awaitable[T]]
    future: asyncio.Future[T]
    order: int  # FIFO among equal priorities
    claims: set[Claim[T]] = field(default_factory=set)
    state: str = "probing"  # probing -> queued -> running -> done; or -> dropped
    priority: float = float("inf")  # min over claims, kept current

    def refresh_priority(self) -> bool:
        """Recompute the min over claims; True if it changed."""
        best = min((c.priority for c in self.claims), default=float("inf"))
        changed = best != self.priority
        self.priority = best
        return changed


class Claim(Generic[T]):
    """One caller's interest in one job. Await :meth:`wait`; change :meth:`set_priority` as the
    caller's needs move; :meth:`release` (or cancelling :meth:`wait`) withdraws the interest."""

    def __init__(self, scheduler: Scheduler[T], job: _Job[T], priority: float) -> None:
        self._scheduler = scheduler
        self._job = job
        self.priority = priority
        self.released = False

    @property
    def key(self) -> Hashable:
        return self._job.key

    @property
    def future(self) -> asyncio.Future[T]:
        """The shared result; safe to pass to ``asyncio.wait`` (never cancel it)."""
        return self._job.future

    def done(self) -> bool:
        return self._job.future.done()

    def set_priority(self, priority: float) -> None:
        if self.released or priority == self.priority:
            return
        self.priority = priority
        self._scheduler._reprioritise(self._job)

    def release(self) -> None:
        if not self.released:
            self.released = True
            self._scheduler._release(self)

    async def wait(self) -> T:
        """The job's result. Cancelling this call releases the claim (the job may be dropped)."""
        try:
            return await asyncio.shield(self._job.future)
        except asyncio.CancelledError:
            self.release()
            raise


class Scheduler(Generic[T]):
    """At most ``concurrency`` jobs' ``work`` at once, most urgent first, one job per key."""

    def __init__(self, concurrency: int) -> None:
        if concurrency < 1:
            raise ValueError(f"concurrency {concurrency} must be >= 1")
        self.concurrency = concurrency
        self._jobs: dict[Hashable, _Job[T]] = {}
        self._heap: list[tuple[float, int, _Job[T]]] = []
        self._queued = 0
        self._running: set[asyncio.Task[None]] = set()  # probe and work tasks, kept referenced
        self._working = 0  # jobs in their work phase
        self._order = itertools.count()
        self._stats = SchedulerStats()

    # -- the public face --------------------------------------------------------------------

    def claim(
        self,
        key: Hashable,
        work: Callable[[], Awaitable[T]],
        priority: float = 0.0,
        probe: Callable[[], Awaitable[T | None]] | None = None,
    ) -> Claim[T]:
        """Claim the job ``key``; ``work`` and ``probe`` are used only if it does not exist yet.
        Lower ``priority`` is more urgent."""
        job = self._jobs.get(key)
        new = job is None
        if job is None:
            job = _Job(key, work, asyncio.get_running_loop().create_future(), next(self._order))
            self._jobs[key] = job
            self._stats.submitted += 1
            if probe is None:
                job.state = "queued"
                self._queued += 1
            else:
                self._track(asyncio.create_task(self._probe(job, probe)))
        else:
            self._stats.joined += 1
        claim = Claim(self, job, priority)
        job.claims.add(claim)
        if (job.refresh_priority() or new) and job.state == "queued":
            heapq.heappush(self._heap, (job.priority, job.order, job))
        self._dispatch()
        return claim

    async def run(self, key: Hashable, work: Callable[[], Awaitable[T]], priority: float = 0.0) -> T:
        """Claim and wait in one call (for callers that do not change their priority)."""
        return await self.claim(key, work, priority).wait()

    def stats(self) -> SchedulerStats:
        s = self._stats
        s.queued = self._queued
        s.running = self._working
        s.claims = sum(len(j.claims) for j in self._jobs.values())
        return SchedulerStats(**vars(s))

    def pending_jobs(self) -> int:
        """Jobs known and not finished (probing, queued or running)."""
        return len(self._jobs)

    async def close(self) -> None:
        """Fail every job not yet running; wait for running ones (they own worker processes)."""
        for job in list(self._jobs.values()):
            if job.state in ("probing", "queued"):
                self._drop(job, cancelled=False)
                if not job.future.done():
                    job.future.set_exception(RuntimeError("the server is shutting down"))
                    job.future.exception()  # retrieved: claimants gone are no "never retrieved" error
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    # -- inside -------------------------------------------------------------------------------

    def _track(self, task: asyncio.Task[None]) -> None:
        self._running.add(task)
        task.add_done_callback(self._running.discard)

    async def _probe(self, job: _Job[T], probe: Callable[[], Awaitable[T | None]]) -> None:
        try:
            found = await probe()
        except BaseException as exc:  # a failed probe fails the job for every claim
            self._finish(job, error=exc)
            if isinstance(exc, asyncio.CancelledError):
                raise
            return
        if job.state != "probing":
            return  # dropped while probing
        if found is not None:
            self._stats.probed += 1
            self._finish(job, result=found)
            return
        if not job.claims:
            self._drop(job, cancelled=True)
            return
        job.state = "queued"
        self._queued += 1
        job.refresh_priority()
        heapq.heappush(self._heap, (job.priority, job.order, job))
        self._dispatch()

    def _reprioritise(self, job: _Job[T]) -> None:
        if job.refresh_priority() and job.state == "queued":
            heapq.heappush(self._heap, (job.priority, job.order, job))
            self._compact()

    def _release(self, claim: Claim[T]) -> None:
        job = claim._job
        job.claims.discard(claim)
        if job.claims:
            self._reprioritise(job)
        elif job.state == "queued":
            self._drop(job, cancelled=True)
        # probing: the probe sees no claims left and drops it; running: let it finish and store.

    def _drop(self, job: _Job[T], cancelled: bool) -> None:
        if job.state == "queued":
            self._queued -= 1
        job.state = "dropped"
        self._jobs.pop(job.key, None)
        if cancelled:
            self._stats.cancelled += 1
            # Nobody is waiting: a cancelled future needs no retrieval and warns about nothing.
            job.future.cancel()
        self._compact()

    def _compact(self) -> None:
        # Stale heap entries (old priorities, dropped jobs) are skipped lazily; rebuild the heap
        # when they dominate so a flood of priority changes cannot grow it without bound.
        if len(self._heap) > 64 and len(self._heap) > 4 * max(self._queued, 1):
            self._heap = [
                (j.priority, j.order, j) for j in {id(e[2]): e[2] for e in self._heap}.values() if j.state == "queued"
            ]
            heapq.heapify(self._heap)

    def _dispatch(self) -> None:
        while self._heap and self._working < self.concurrency:
            priority, _, job = heapq.heappop(self._heap)
            if job.state != "queued" or priority != job.priority:
                continue  # stale entry
            job.state = "running"
            self._queued -= 1
            self._working += 1
            self._stats.started += 1
            self._track(asyncio.create_task(self._run(job)))

    async def _run(self, job: _Job[T]) -> None:
        try:
            result = await job.work()
        except asyncio.CancelledError:
            self._finish(job, error=RuntimeError("generation was cancelled"))
            raise
        except Exception as exc:
            self._finish(job, error=exc)
        else:
            self._finish(job, result=result)
        finally:
            self._working -= 1
            self._dispatch()

    def _finish(self, job: _Job[T], result: T | None = None, error: BaseException | None = None) -> None:
        if job.state == "queued":
            self._queued -= 1
        job.state = "done"
        self._jobs.pop(job.key, None)
        job.claims.clear()
        if job.future.done():
            return
        if error is not None:
            self._stats.failed += 1
            job.future.set_exception(error)
            # Retrieve it here so a job whose claimants all left logs no "never retrieved" noise.
            with contextlib.suppress(BaseException):
                job.future.exception()
        else:
            self._stats.finished += 1
            job.future.set_result(result)  # type: ignore[arg-type]
