"""Helpers for the streaming tests (no tests here): an in-process core over a small world whose
generation the test can hold and release, so queueing and cancellation are deterministic."""

from __future__ import annotations

import asyncio
import contextlib
import io
import threading
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from bridge.core.worlds import Worlds
from bridge.formats import format_revisions
from bridge.stream.interest import StreamOptions
from bridge.stream.messages import ViewerMessage
from bridge.stream.pose import Pose
from bridge.world.store import WorldStore
from tests.conftest import photo_path

GATE_TIMEOUT_S = 60.0  # a held generation gives up after this, so a broken test fails, not hangs


class GatedPool(ThreadPoolExecutor):
    """Runs the real worker functions in threads (no process start-up), each waiting for ``gate``:
    clear it to hold generation, set it to let it go. Records what was submitted."""

    def __init__(self, workers: int = 2) -> None:
        super().__init__(workers, thread_name_prefix="gated-worker")
        self.gate = threading.Event()
        self.gate.set()
        self.submitted: list[tuple[Any, ...]] = []

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        self.submitted.append(args)

        def gated() -> Any:
            if not self.gate.wait(GATE_TIMEOUT_S):
                raise TimeoutError("the test never opened the gate")
            return fn(*args, **kwargs)

        return super().submit(gated)

    def tiles_submitted(self) -> list[Any]:
        """Keys of the tile jobs submitted so far (prepare jobs left out)."""
        return [a[3] for a in self.submitted if len(a) == 5]


def small_photo() -> bytes:
    """A 320x200 PNG of a sample photo: a real world, prepared in about a second."""
    image = Image.open(photo_path("lyra2_06")).convert("RGB").resize((320, 200))
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def make_worlds(data_dir: Path, workers: int = 2) -> tuple[Worlds, GatedPool]:
    pool = GatedPool(workers)
    return Worlds(WorldStore(data_dir, format_revisions()), pool, concurrency=workers), pool


@pytest.fixture(scope="module")
def world_dir(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A data folder holding one prepared world (and no tiles); (folder, world id)."""
    data_dir = tmp_path_factory.mktemp("stream-world")

    async def create() -> str:
        worlds, pool = make_worlds(data_dir)
        try:
            row, _ = await worlds.create_world(small_photo(), name="stream-tests")
            return row.id
        finally:
            await worlds.close()
            pool.shutdown()
            worlds.store.close()

    return data_dir, asyncio.run(asyncio.wait_for(create(), 120))


def pose(
    x: float = 0.0,
    z: float = 0.0,
    radius: float = 64.0,
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0),
    y: float = 3.0,
) -> Pose:
    return Pose(position=(x, y, z), forward=(0.0, 0.0, -1.0), velocity=velocity, radius_m=radius)


class Inbox:
    """An async iterator of ViewerMessages the test feeds by hand (the viewer's side of a stream)."""

    def __init__(self) -> None:
        self._queue: asyncio.Queue[ViewerMessage | None] = asyncio.Queue()

    def put(self, message: ViewerMessage) -> None:
        self._queue.put_nowait(message)

    def close(self) -> None:
        self._queue.put_nowait(None)

    async def __aiter__(self) -> AsyncIterator[ViewerMessage]:
        while (message := await self._queue.get()) is not None:
            yield message


class Viewer:
    """Drives :func:`run_stream` as a well-behaved viewer: keeps every event, acks every tile."""

    def __init__(
        self,
        worlds: Worlds,
        world_id: str,
        first: Pose,
        sequence: int = 1,
        options: StreamOptions | None = None,
        **budget: Any,
    ) -> None:
        from bridge.core.pump import run_stream
        from bridge.stream.messages import BudgetUpdate

        self.inbox = Inbox()
        self.events: list[object] = []
        self.tiles: dict[Any, str] = {}  # key -> sha256 of what arrived
        self.changed = asyncio.Event()
        budget_update = BudgetUpdate(**budget) if budget else None
        message = ViewerMessage(world_id=world_id, pose=first, budget=budget_update, sequence=sequence)
        self.stream = run_stream(worlds, message, aiter(self.inbox), options)
        self.task = asyncio.create_task(self._consume())

    async def _consume(self) -> None:
        from bridge.stream.messages import TileSent, TileUnloaded

        async for event in self.stream:
            self.events.append(event)
            if isinstance(event, TileSent):
                self.tiles[event.key] = event.sha256
                self.inbox.put(ViewerMessage(acks=[event.key]))
            elif isinstance(event, TileUnloaded):
                self.tiles.pop(event.key, None)
            self.changed.set()

    def move(self, to: Pose, sequence: int) -> None:
        self.inbox.put(ViewerMessage(pose=to, sequence=sequence))

    async def until(self, condition: Callable[[], bool], timeout_s: float = 60.0) -> None:
        async def wait() -> None:
            while not condition():
                if self.task.done():
                    self.task.result()
                    raise AssertionError("the stream ended before the condition held")
                self.changed.clear()
                # Some conditions (the scheduler's counters) change without a stream event: look
                # again every few milliseconds too. The bound on the whole wait is what fails a hang.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self.changed.wait(), 0.02)

        await asyncio.wait_for(wait(), timeout_s)

    async def settled(self, sequence: int, timeout_s: float = 60.0) -> None:
        """Until progress says everything wanted after update ``sequence`` is here."""
        from bridge.stream.messages import Progress

        def done() -> bool:
            last = next((e for e in reversed(self.events) if isinstance(e, Progress)), None)
            return last is not None and last.sequence >= sequence and last.tiles_pending == 0

        await self.until(done, timeout_s)

    async def close(self) -> None:
        self.inbox.close()
        await asyncio.wait_for(self.task, 30)
