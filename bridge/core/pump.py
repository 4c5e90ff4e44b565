"""The stream loop every transport shares: viewer messages in, tile events out.

A transport converts its wire messages to ``bridge.stream.messages.ViewerMessage``, iterates :func:`run_stream`,
and converts the events back. Nothing here knows about gRPC or WebSockets.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from bridge.core.errors import Code, InvalidRequestError, TooManyStreamsError
from bridge.core.scheduler import Claim
from bridge.core.worlds import Worlds
from bridge.formats import FORMATS
from bridge.stream.interest import StreamOptions
from bridge.stream.messages import (
    Progress,
    StreamErrorEvent,
    StreamEvent,
    TileSent,
    TileUnloaded,
    ViewerMessage,
)
from bridge.stream.session import InvalidUpdateError, StreamSession
from bridge.world.keys import TileKey
from bridge.world.store import TileRow, WorldRow

# Tiles one stream may have claimed (looked up or queued for generation) at once. The shared
# scheduler orders all claims of all streams by urgency, so this bounds per-viewer bookkeeping,
# not fairness; it is larger than the tiles a fast player newly needs in a second.
MAX_CLAIMS_PER_STREAM = 48
MAX_QUEUED_ERRORS = 32  # errors waiting to be sent; past this they are counted, not kept


def _apply(session: StreamSession, message: ViewerMessage) -> list[StreamErrorEvent]:
    """Apply one message; invalid parts raise InvalidUpdateError, unknown acks come back as events.
    Validation comes before any change, so a refused message changes nothing."""
    if message.invalid:
        raise InvalidUpdateError(message.invalid)
    if message.world_id and message.world_id != session.world_id:
        raise InvalidUpdateError(f"this stream is for world {session.world_id}, not {message.world_id}")
    if message.budget is not None:
        unknown = [f for f in message.budget.formats if f not in FORMATS]
        if unknown:
            raise InvalidUpdateError(f"unknown formats {unknown}; known: {', '.join(FORMATS)}")
    if message.pose is not None:
        session.update_view(message.pose)
    if message.budget is not None:
        session.update_budget(
            message.budget.max_bytes_in_flight, message.budget.max_resident_splats, message.budget.formats
        )
    session.sequence = max(session.sequence, message.sequence)
    unknown_acks = session.ack(message.acks)
    return [
        StreamErrorEvent(Code.INVALID_ARGUMENT, f"ack for tile {k} that was never sent; ignored") for k in unknown_acks
    ]


class _Errors:
    """Errors waiting to be sent, bounded: a client that floods bad messages and does not read
    cannot grow them; past the bound they are counted and reported as one summary."""

    def __init__(self) -> None:
        self.items: list[StreamErrorEvent] = []
        self.suppressed = 0

    def extend(self, events: list[StreamErrorEvent]) -> None:
        for event in events:
            if len(self.items) < MAX_QUEUED_ERRORS:
                self.items.append(event)
            else:
                self.suppressed += 1

    def drain(self) -> list[StreamErrorEvent]:
        out, self.items = self.items, []
        if self.suppressed:
            out.append(StreamErrorEvent(Code.RESOURCE_EXHAUSTED, f"{self.suppressed} further errors were not reported"))
            self.suppressed = 0
        return out


Job = tuple[TileKey, str]  # (key, format)


def _claim_window(
    worlds: Worlds,
    world: WorldRow,
    session: StreamSession,
    wanted: list[Job],
    ready: dict[Job, TileRow],
    claims: dict[Job, Claim[TileRow]],
    wake: asyncio.Event,
) -> None:
    """Claim the most urgent wanted tiles not yet ready (at most MAX_CLAIMS_PER_STREAM), at this
    viewer's urgency; withdraw claims that fell out of that window (the scheduler drops a queued
    job nobody else claims). Rows already known in memory are ready at once."""
    window: set[Job] = set()
    for job in wanted:
        if len(window) >= MAX_CLAIMS_PER_STREAM:
            break
        if job in ready:
            continue
        window.add(job)
        urgency = session.urgency(job[0])
        claim = claims.get(job)
        if claim is not None:
            claim.set_priority(urgency)
            continue
        row = worlds.cached_tile_row(session.world_id, *job)
        if row is not None:
            ready[job] = row
            continue
        claim = worlds.claim_tile(world, job[0], job[1], urgency)
        claim.future.add_done_callback(lambda _: wake.set())
        claims[job] = claim
    for job in [j for j in claims if j not in window]:
        claims.pop(job).release()


def _harvest(
    claims: dict[Job, Claim[TileRow]], ready: dict[Job, TileRow], session: StreamSession, errors: _Errors
) -> None:
    """Move finished claims to ``ready``; a tile that could not be made is skipped and reported."""
    for job, claim in list(claims.items()):
        if not claim.done():
            continue
        del claims[job]
        if claim.future.cancelled():
            continue  # dropped while we let go of it; claimed again if still wanted
        error = claim.future.exception()
        if error is None:
            ready[job] = claim.future.result()
        else:
            session.mark_skipped(job[0], str(error))
            errors.extend([StreamErrorEvent(Code.INTERNAL, f"tile {job[0]} could not be made: {error}")])


def _skip_too_big(session: StreamSession, row: TileRow, errors: _Errors) -> None:
    assert session.budget is not None
    reason = (
        f"tile {row.key} has {row.splat_count} splats, more than the whole budget of "
        f"{session.budget.max_resident_splats}; skipped"
    )
    session.mark_skipped(row.key, reason)
    errors.extend([StreamErrorEvent(Code.RESOURCE_EXHAUSTED, reason)])


def active_streams(worlds: Worlds) -> int:
    """Streams open now over ``worlds``, all transports together (tests use it to find leaks)."""
    return sum(worlds.open_streams.values())


async def run_stream(
    worlds: Worlds,
    first: ViewerMessage,
    rest: AsyncIterator[ViewerMessage],
    options: StreamOptions | None = None,
    peer: str = "",
) -> AsyncIterator[StreamEvent]:
    """Serve one viewer until it closes its side. Raises a ServiceError (not found, invalid, too many streams) for a
    first message that cannot start a stream; later bad messages become StreamErrorEvents.

    Iterate it under ``contextlib.aclosing`` so a disconnect releases everything at once. Memory
    per stream is bounded whatever the viewer does: updates are applied as they arrive (no queue),
    errors are capped, and the stream waits on the transport's send when the viewer stops
    reading (so the transport's own bounded buffers are the back-pressure), never buffering tiles.
    ``peer`` names the client for the per-client stream limit ("" = not limited)."""
    options = options or StreamOptions()
    if first.invalid:
        raise InvalidRequestError(first.invalid)
    if not first.world_id:
        raise InvalidRequestError("the first update must name a world_id")
    world = await worlds.get_world(first.world_id)
    session = StreamSession(world.id, worlds.grid(world), options)
    if first.pose is None:
        raise InvalidRequestError("the first update must carry a pose")
    errors = _Errors()
    try:
        errors.extend(_apply(session, first))
    except InvalidUpdateError as exc:
        raise InvalidRequestError(str(exc)) from exc
    open_streams = worlds.open_streams
    if peer and open_streams[peer] >= options.max_streams_per_peer:
        raise TooManyStreamsError(f"{peer} already has {options.max_streams_per_peer} streams open")
    open_streams[peer] += 1

    wake = asyncio.Event()
    claims: dict[Job, Claim[TileRow]] = {}
    closed = False

    def release_all() -> None:
        for claim in claims.values():
            claim.release()
        claims.clear()

    async def read_updates() -> None:
        nonlocal closed
        try:
            async for message in rest:
                try:
                    errors.extend(_apply(session, message))
                except InvalidUpdateError as exc:
                    errors.extend([StreamErrorEvent(Code.INVALID_ARGUMENT, str(exc))])
                wake.set()
        finally:
            # The viewer is gone (or closed its side): withdraw its claims now, even if nobody
            # ever resumes this generator, so queued generation nobody wants is dropped.
            closed = True
            release_all()
            wake.set()

    reader = asyncio.create_task(read_updates())
    ready: dict[Job, TileRow] = {}
    last_progress: Progress | None = None
    try:
        while True:
            wake.clear()
            # One synchronous snapshot: the updates applied so far and the errors they raised.
            # Progress below echoes this sequence, never a later one the reader applies while we
            # are suspended, so a viewer never reads "update N served" before N's errors.
            applied = session.sequence
            for error in errors.drain():
                yield error
            plan = session.plan()
            for key in plan.unload:
                session.mark_unloaded(key)
                yield TileUnloaded(key)
            fmt = session.format
            wanted = [(key, fmt) for key in plan.send]
            wanted_set = set(wanted)
            for job in [j for j in ready if j not in wanted_set]:
                del ready[job]
            if not closed:
                _claim_window(worlds, world, session, wanted, ready, claims, wake)
            _harvest(claims, ready, session, errors)
            sent_any = False
            for job in wanted:
                row = ready.get(job)
                if row is None:
                    continue
                if not session.fits(row.size, row.splat_count):
                    del ready[job]
                    _skip_too_big(session, row, errors)
                    continue
                if not session.can_send(row.size, row.splat_count):
                    break
                data = await worlds.blob(row.sha256)
                del ready[job]
                session.mark_sent(job[0], row.size, row.splat_count)
                sent_any = True
                yield TileSent(job[0], job[1], row.sha256, data, row.splat_count)
                if wake.is_set():
                    break  # a new pose or ack came in while we sent: re-plan before the next tile
            wanted_count, sent_count, pending_count = session.counts()
            progress = Progress(
                tiles_wanted=wanted_count,
                tiles_sent=sent_count,
                tiles_pending=pending_count,
                bytes_sent=session.bytes_sent,
                sequence=applied,
            )
            # "Nothing pending" is reported only from an iteration that sent nothing, so the unloads
            # that state implies (made by the plan at the top) always come before it: a viewer
            # that moves on when it reads it never races them.
            if progress != last_progress and not (sent_any and progress.tiles_pending == 0):
                last_progress = progress
                yield progress
            if closed:
                return
            if sent_any or errors.items or errors.suppressed:
                continue
            await wake.wait()
    finally:
        reader.cancel()
        release_all()
        open_streams[peer] -= 1
        if open_streams[peer] <= 0:
            del open_streams[peer]
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader
