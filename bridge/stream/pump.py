"""The stream loop every transport shares: viewer messages in, tile events out.

A transport converts its wire messages to :class:`ViewerMessage`, iterates :func:`run_stream`,
and converts the events back. Nothing here knows about gRPC or WebSockets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from bridge.formats import FORMATS
from bridge.stream.interest import StreamOptions
from bridge.stream.session import InvalidUpdateError, StreamSession
from bridge.world.keys import TileKey
from bridge.world.store import TileRow
from bridge.world.worlds import InvalidRequestError, Worlds, options_from_spec

MAX_PARALLEL_FETCHES = 8  # tiles one session may have in generation at once
INVALID_ARGUMENT = 3  # google.rpc.Code


@dataclass(frozen=True)
class PoseUpdate:
    position: tuple[float, float, float]
    forward: tuple[float, float, float]
    velocity: tuple[float, float, float] = (0.0, 0.0, 0.0)
    vertical_fov_deg: float = 0.0  # 0: keep the current value or the default
    viewport_height_px: int = 0
    radius_m: float = 0.0


@dataclass(frozen=True)
class BudgetUpdate:
    max_bytes_in_flight: int = 0  # 0: keep the current value or the default
    max_resident_splats: int = 0
    formats: tuple[str, ...] = ()


@dataclass(frozen=True)
class ViewerMessage:
    world_id: str = ""
    pose: PoseUpdate | None = None
    budget: BudgetUpdate | None = None
    acks: list[TileKey] = field(default_factory=list)
    sequence: int = 0  # echoed in Progress once applied (0: not numbered)
    invalid: str = ""  # set by a transport for a message it could not even decode: why


@dataclass(frozen=True)
class TileSent:
    key: TileKey
    format: str
    sha256: str
    data: bytes
    splat_count: int


@dataclass(frozen=True)
class TileUnloaded:
    key: TileKey


@dataclass(frozen=True)
class Progress:
    tiles_wanted: int
    tiles_sent: int
    tiles_pending: int
    bytes_sent: int
    sequence: int


@dataclass(frozen=True)
class StreamErrorEvent:
    code: int
    message: str


StreamEvent = TileSent | TileUnloaded | Progress | StreamErrorEvent


def _apply(session: StreamSession, message: ViewerMessage) -> list[StreamErrorEvent]:
    """Apply one message; invalid parts raise InvalidUpdateError, unknown acks come back as events."""
    if message.invalid:
        raise InvalidUpdateError(message.invalid)
    if message.world_id and message.world_id != session.world_id:
        raise InvalidUpdateError(f"this stream is for world {session.world_id}, not {message.world_id}")
    if message.budget is not None:
        unknown = [f for f in message.budget.formats if f not in FORMATS]
        if unknown:
            raise InvalidUpdateError(f"unknown formats {unknown}; known: {', '.join(FORMATS)}")
        session.update_budget(
            message.budget.max_bytes_in_flight, message.budget.max_resident_splats, message.budget.formats
        )
    if message.pose is not None:
        p = message.pose
        session.update_view(p.position, p.forward, p.velocity, p.vertical_fov_deg, p.viewport_height_px, p.radius_m)
    session.sequence = max(session.sequence, message.sequence)
    unknown_acks = session.ack(message.acks)
    return [StreamErrorEvent(INVALID_ARGUMENT, f"ack for tile {k} that was never sent; ignored") for k in unknown_acks]


async def run_stream(
    worlds: Worlds,
    first: ViewerMessage,
    rest: AsyncIterator[ViewerMessage],
    options: StreamOptions | None = None,
) -> AsyncIterator[StreamEvent]:
    """Serve one viewer until it closes its side. Raises NotFoundError / InvalidRequestError for a
    first message that cannot start a stream; later bad messages become StreamErrorEvents."""
    if first.invalid:
        raise InvalidRequestError(first.invalid)
    if not first.world_id:
        raise InvalidRequestError("the first update must name a world_id")
    world = await worlds.get_world(first.world_id)
    session = StreamSession(world.id, options_from_spec(world).base_tile_m, options or StreamOptions())
    if first.pose is None:
        raise InvalidRequestError("the first update must carry a pose")
    try:
        pending_errors = _apply(session, first)
    except InvalidUpdateError as exc:
        raise InvalidRequestError(str(exc)) from exc

    wake = asyncio.Event()
    closed = False

    async def read_updates() -> None:
        nonlocal closed
        try:
            async for message in rest:
                try:
                    pending_errors.extend(_apply(session, message))
                except InvalidUpdateError as exc:
                    pending_errors.append(StreamErrorEvent(INVALID_ARGUMENT, str(exc)))
                wake.set()
        finally:
            closed = True
            wake.set()

    reader = asyncio.create_task(read_updates())
    fetches: dict[tuple[TileKey, str], asyncio.Task[TileRow]] = {}
    ready: dict[tuple[TileKey, str], TileRow] = {}
    last_progress: Progress | None = None
    try:
        while True:
            wake.clear()
            while pending_errors:
                yield pending_errors.pop(0)
            plan = session.plan()
            for key in plan.unload:
                session.mark_unloaded(key)
                yield TileUnloaded(key)
            fmt = session.format
            wanted = [(key, fmt) for key in plan.send]
            wanted_set = set(wanted)
            for job in [j for j in fetches if j not in wanted_set]:
                fetches.pop(job).cancel()  # the worker may finish it anyway: it is stored, not wasted
            for job in [j for j in ready if j not in wanted_set]:
                ready.pop(job)
            for job in wanted:
                if len(fetches) >= MAX_PARALLEL_FETCHES:
                    break
                if job not in fetches and job not in ready:
                    fetches[job] = asyncio.create_task(worlds.tile_row(session.world_id, *job))
            for job, task in list(fetches.items()):
                if task.done():
                    del fetches[job]
                    error = task.exception()
                    if error is None:
                        ready[job] = task.result()
                    else:
                        yield StreamErrorEvent(13, f"tile {job[0]} could not be made: {error}")
            sent_any = False
            for job in wanted:
                row = ready.get(job)
                if row is None:
                    continue
                if not session.can_send(row.size, row.splat_count):
                    break
                data = await asyncio.to_thread(worlds.store.blobs.get, row.sha256)
                del ready[job]
                session.mark_sent(job[0], row.size, row.splat_count)
                sent_any = True
                yield TileSent(job[0], job[1], row.sha256, data, row.splat_count)
            progress = Progress(
                tiles_wanted=len(session.wanted),
                tiles_sent=sum(1 for k in session.wanted if k in session.held),
                tiles_pending=sum(1 for k in session.wanted if k not in session.held),
                bytes_sent=session.bytes_sent,
                sequence=session.sequence,
            )
            if progress != last_progress:
                last_progress = progress
                yield progress
            if closed:
                return
            if sent_any or pending_errors:
                continue
            waiter = asyncio.create_task(wake.wait())
            await asyncio.wait([waiter, *fetches.values()], return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
    finally:
        reader.cancel()
        for task in fetches.values():
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
