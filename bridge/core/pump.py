"""The stream loop every transport shares: viewer messages in, tile events out.

A transport converts its wire messages to ``bridge.stream.messages.ViewerMessage``, iterates :func:`run_stream`,
and converts the events back. Nothing here knows about gRPC or WebSockets.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from dataclasses import dataclass

from bridge.core.errors import Code, InvalidRequestError, ServiceError
from bridge.core.scheduler import Claim
from bridge.core.worlds import DirectiveChange, Worlds, server_version
from bridge.formats import FORMATS
from bridge.stream.interest import StreamOptions
from bridge.stream.messages import (
    PROTOCOL_VERSION,
    Heartbeat,
    HeldTileClaim,
    Hello,
    Progress,
    StreamErrorEvent,
    StreamEvent,
    StreamLimits,
    TileChanged,
    TileSent,
    TileUnloaded,
    ViewerMessage,
)
from bridge.stream.session import DEFAULT_FORMAT, InvalidUpdateError, StreamSession
from bridge.world.keys import TileKey
from bridge.world.store import TileRow, WorldRow

# Tiles one stream may have claimed (looked up or queued for generation) at once. The shared
# scheduler orders all claims of all streams by urgency, so this bounds per-viewer bookkeeping,
# not fairness; it is larger than the tiles a fast player newly needs in a second.
MAX_CLAIMS_PER_STREAM = 48
MAX_QUEUED_ERRORS = 32  # errors waiting to be sent; past this they are counted, not kept
MIN_CHUNK_BYTES = 4096  # smaller tile messages would be mostly header
# The server's order of preference, offered in the hello: the default first, then as registered.
OFFERED_FORMATS = (DEFAULT_FORMAT, *(f for f in FORMATS if f != DEFAULT_FORMAT))


@dataclass(frozen=True)
class TransportLimits:
    """What a transport allows on its wire; the pump validates viewers' requests against it."""

    default_chunk_bytes: int  # a tile message when the viewer names no size
    max_chunk_bytes: int
    max_update_bytes: int  # the largest viewer update the transport reads
    first_message_timeout_s: float


def _known_formats(formats: tuple[str, ...]) -> tuple[tuple[str, ...], list[StreamErrorEvent]]:
    """The names the server can make, in the viewer's order; an error event for the rest."""
    known = tuple(dict.fromkeys(f for f in formats if f in FORMATS))
    unknown = [f for f in formats if f not in FORMATS]
    if not unknown:
        return known, []
    kept = f"using {', '.join(known)}" if known else "keeping the current list"
    message = f"unknown formats {unknown} skipped ({kept}); known: {', '.join(FORMATS)}"
    return known, [StreamErrorEvent(Code.INVALID_ARGUMENT, message)]


def _apply(session: StreamSession, message: ViewerMessage, transport: TransportLimits) -> list[StreamErrorEvent]:
    """Apply one message; invalid parts raise InvalidUpdateError, unknown acks and formats come
    back as events. Validation comes before any change, so a refused message changes nothing."""
    if message.invalid:
        raise InvalidUpdateError(message.invalid)
    if message.world_id and message.world_id != session.world_id:
        raise InvalidUpdateError(f"this stream is for world {session.world_id}, not {message.world_id}")
    chunk = message.max_chunk_bytes
    if chunk and not MIN_CHUNK_BYTES <= chunk <= transport.max_chunk_bytes:
        raise InvalidUpdateError(f"max_chunk_bytes {chunk} outside [{MIN_CHUNK_BYTES}, {transport.max_chunk_bytes}]")
    events: list[StreamErrorEvent] = []
    formats: tuple[str, ...] = ()
    if message.budget is not None:
        formats, events = _known_formats(message.budget.formats)
    if message.pose is not None:
        session.update_view(message.pose)
    if message.budget is not None:
        session.update_budget(message.budget.max_bytes_in_flight, message.budget.max_resident_splats, formats)
    if chunk:
        session.chunk_bytes = chunk
    session.sequence = max(session.sequence, message.sequence)
    unknown_acks = session.ack(message.acks)
    return events + [
        StreamErrorEvent(Code.INVALID_ARGUMENT, f"ack for tile {k} that was never sent; ignored") for k in unknown_acks
    ]


def _acks_only(message: ViewerMessage) -> bool:
    """Does the message only acknowledge tiles (nothing a plan reads)?"""
    return (
        message.pose is None
        and message.budget is None
        and not message.max_chunk_bytes
        and not message.invalid
        and not message.world_id
    )


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


@dataclass(frozen=True)
class Job:
    """One tile a stream wants: the key in the stream's format (what a claim and a ready row are filed under)."""

    key: TileKey
    format: str


def _claim_window(
    worlds: Worlds,
    world: WorldRow,
    session: StreamSession,
    wanted: list[Job],
    ready: dict[Job, TileRow],
    claims: dict[Job, Claim[TileRow]],
    woken: Callable[[], None],
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
        urgency = session.urgency(job.key)
        claim = claims.get(job)
        if claim is not None:
            claim.set_priority(urgency)
            continue
        row = worlds.cached_tile_row(session.world_id, job.key, job.format)
        if row is not None:
            ready[job] = row
            continue
        claim = worlds.claim_tile(world, job.key, job.format, urgency)
        claim.future.add_done_callback(lambda _: woken())
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
            session.mark_skipped(job.key, str(error))
            code = error.code if isinstance(error, ServiceError) else Code.INTERNAL
            errors.extend([StreamErrorEvent(code, f"tile {job.key} could not be made: {error}")])


def _skip_too_big(session: StreamSession, row: TileRow, errors: _Errors) -> None:
    assert session.budget is not None
    reason = (
        f"tile {row.key} has {row.splat_count} splats, more than the whole budget of "
        f"{session.budget.max_resident_splats}; skipped"
    )
    session.mark_skipped(row.key, reason)
    errors.extend([StreamErrorEvent(Code.RESOURCE_EXHAUSTED, reason)])


class _Pump:
    """One stream's state between the reader of viewer messages and the loop that sends tiles:
    its claims (tiles asked of the scheduler), its ready rows (made, not yet sent), its errors."""

    def __init__(
        self, worlds: Worlds, world: WorldRow, session: StreamSession, errors: _Errors, transport: TransportLimits
    ) -> None:
        self.worlds = worlds
        self.world = world
        self.session = session
        self.errors = errors
        self.transport = transport
        self.wake = asyncio.Event()
        self.gone = asyncio.Event()  # set when the viewer has closed its side
        # Set (with ``wake``) by what should stop a run of sends for a new plan: a pose or budget,
        # a tile made, a directive. Not by an ack alone: it only frees budget, which the sends read
        # as they go (a walker acks every tile, and each ack used to cost a whole plan).
        self.interrupt = False
        self.claims: dict[Job, Claim[TileRow]] = {}
        self.ready: dict[Job, TileRow] = {}
        self.closed = False
        self.last_progress: Progress | None = None
        self.progress_at = -math.inf  # time.monotonic() of the last progress said
        self.progress_due: float | None = None  # when a progress held back is to be said
        self.session_id = worlds.sessions.new_id()
        self.resumed = False
        self.changes: list[TileChanged] = []  # directive changes to held tiles, not yet said
        self.stop_watching = worlds.watch(world.id, self.directive_changed)
        self.planned_at = 0.0  # time.monotonic() of the last plan
        self._wanted_keys: list[TileKey] | None = None  # the plan's send list the jobs below are for
        self._wanted_format = ""
        self._wanted: list[Job] = []
        self._wanted_set: set[Job] = set()

    def directive_changed(self, change: DirectiveChange) -> None:
        """A directive changed tiles: held ones are said to have changed and sent again; ready
        rows and claims for changed tiles are of the old content and are dropped."""
        for job in [j for j in self.ready if change.changed(j.key)]:
            del self.ready[job]
        for job in [j for j in self.claims if change.changed(j.key)]:
            self.claims.pop(job).release()
        for key in self.session.held:
            if change.changed(key):
                self.session.mark_changed(key)
                self.changes.append(TileChanged(key, change.version))
        self.woken()

    @classmethod
    async def open(
        cls, worlds: Worlds, first: ViewerMessage, options: StreamOptions, transport: TransportLimits
    ) -> _Pump:
        """Start from the first message, or raise the ServiceError that refuses the stream."""
        if first.invalid:
            raise InvalidRequestError(first.invalid)
        if not first.world_id:
            raise InvalidRequestError("the first update must name a world_id")
        world = await worlds.get_world(first.world_id)
        session = StreamSession(world.id, worlds.grid(world), options)
        if first.pose is None or first.pose.position is None:
            raise InvalidRequestError("the first update must carry a pose with a position")
        pump = cls(worlds, world, session, _Errors(), transport)
        try:
            pump.errors.extend(_apply(session, first, transport))
            await pump._resume(first)
        except InvalidUpdateError as exc:
            pump.stop_watching()
            raise InvalidRequestError(str(exc)) from exc
        except BaseException:
            pump.stop_watching()
            raise
        return pump

    async def _resume(self, first: ViewerMessage) -> None:
        """Count as held what the viewer says it has (by session id, or tile by tile)."""
        held = None
        if first.resume_session_id:
            # An unknown or expired id is no error: the hello's ``resumed`` says the stream starts afresh.
            held = self.worlds.sessions.held(first.resume_session_id, self.world.id)
            if held is not None:
                self.session_id, self.resumed = first.resume_session_id, True
                # A directive may have changed some of them since: only the stored tiles' bytes count.
                claims = [HeldTileClaim(k, t.format, t.sha256) for k, t in held.items()]
                held = await self.worlds.held_tiles(self.world.id, claims)
        if first.held:
            limit = self.session.options.max_held_tiles
            if len(first.held) > limit:
                self.errors.extend(
                    [
                        StreamErrorEvent(
                            Code.INVALID_ARGUMENT, f"{len(first.held)} held tiles listed; the first {limit} are read"
                        )
                    ]
                )
            listed = await self.worlds.held_tiles(self.world.id, first.held[:limit])
            held = {**listed, **(held or {})}
            self.resumed = True
        if held:
            self.session.resume(held)
        self.worlds.sessions.open(self.session_id, self.session)

    def hello(self) -> Hello:
        options, transport = self.session.options, self.transport
        assert self.session.budget is not None
        return Hello(
            protocol_version=PROTOCOL_VERSION,
            server_version=server_version(),
            generator=self.world.generator,
            generator_version=self.world.generator_version,
            formats=OFFERED_FORMATS,
            session_id=self.session_id,
            resumed=self.resumed,
            resumed_tiles=len(self.session.held),
            limits=StreamLimits(
                max_chunk_bytes=self.chunk_bytes,
                max_update_bytes=transport.max_update_bytes,
                max_bytes_in_flight=self.session.budget.max_bytes_in_flight,
                max_view_radius_m=options.max_radius_m,
                max_streams_per_client=options.max_streams_per_peer,
                heartbeat_interval_s=options.heartbeat_interval_s,
                first_message_timeout_s=transport.first_message_timeout_s,
                max_held_tiles=options.max_held_tiles,
            ),
        )

    @property
    def chunk_bytes(self) -> int:
        return self.session.chunk_bytes or self.transport.default_chunk_bytes

    def woken(self) -> None:
        """Something the plan reads changed: plan again, even in the middle of sending."""
        self.interrupt = True
        self.wake.set()

    def end(self) -> None:
        """Stop serving: the viewer reconnected on a new stream that took this one's session over."""
        self.closed = True
        self.gone.set()
        self.release_all()
        self.woken()

    def release_all(self) -> None:
        for claim in self.claims.values():
            claim.release()
        self.claims.clear()

    async def read_updates(self, rest: AsyncIterator[ViewerMessage]) -> None:
        """Apply the viewer's messages as they arrive; bad ones become queued errors."""
        try:
            async for message in rest:
                try:
                    self.errors.extend(_apply(self.session, message, self.transport))
                except InvalidUpdateError as exc:
                    self.errors.extend([StreamErrorEvent(Code.INVALID_ARGUMENT, str(exc))])
                if message.acks and _acks_only(message):
                    self.wake.set()  # more budget: the sends in progress go on and see it
                else:
                    self.woken()
        finally:
            # The viewer is gone (or closed its side): withdraw its claims now, even if nobody
            # ever resumes the stream, so queued generation nobody wants is dropped.
            self.end()

    def unload(self, keys: Iterable[TileKey]) -> Iterator[TileUnloaded]:
        # Lazy on purpose: each tile is marked unloaded only as its event is taken.
        for key in keys:
            self.session.mark_unloaded(key)
            yield TileUnloaded(key)

    def want(self, keys: list[TileKey]) -> list[Job]:
        """The plan's tiles as jobs, most urgent first: ready rows no longer wanted are dropped,
        the window of claims is moved, finished claims are harvested."""
        fmt = self.session.format
        if keys is not self._wanted_keys or fmt != self._wanted_format:
            # A new plan: its jobs made once (a cached plan is the same list, woken by acks).
            self._wanted_keys, self._wanted_format = keys, fmt
            self._wanted = [Job(key, fmt) for key in keys]
            self._wanted_set = set(self._wanted)
        wanted, wanted_set = self._wanted, self._wanted_set
        if self.ready:
            for job in [j for j in self.ready if j not in wanted_set]:
                del self.ready[job]
        if not self.closed:
            _claim_window(self.worlds, self.world, self.session, wanted, self.ready, self.claims, self.woken)
        _harvest(self.claims, self.ready, self.session, self.errors)
        return wanted

    def sendable(self, wanted: list[Job]) -> Iterator[tuple[Job, TileRow]]:
        """Ready tiles in order while the budget admits them; one larger than the whole budget is
        skipped. Lazy: each is checked against the budget after the one before it was sent."""
        for job in wanted:
            row = self.ready.get(job)
            if row is None:
                continue
            if not self.session.fits(row.size, row.splat_count):
                del self.ready[job]
                _skip_too_big(self.session, row, self.errors)
                continue
            if not self.session.can_send(row.size, row.splat_count):
                budget = self.session.budget
                assert budget is not None
                if self.session.resident_splats + row.splat_count > budget.max_resident_splats:
                    reason = self.session.blocked_by_splats(job.key, row.splat_count)
                    if reason is None:
                        self.wake.set()  # the interest set is chosen again: plan once more
                    else:
                        self.errors.extend([StreamErrorEvent(Code.RESOURCE_EXHAUSTED, reason)])
                        self.wake.set()  # say so, and send what else fits
                        continue
                return
            yield job, row

    def drop(self, job: Job, reason: str) -> None:
        """A ready tile whose bytes could not be read: skipped and reported, as one not made."""
        self.ready.pop(job, None)
        self.session.mark_skipped(job.key, reason)
        self.errors.extend([StreamErrorEvent(Code.INTERNAL, f"tile {job.key} could not be read: {reason}")])

    def sent(self, job: Job, row: TileRow, data: bytes) -> TileSent:
        del self.ready[job]
        self.session.mark_sent(job.key, row.size, row.splat_count, job.format, row.sha256)
        return TileSent(job.key, job.format, row.sha256, data, row.splat_count, self.chunk_bytes)

    def progress(self, applied: int, sent_any: bool) -> Progress | None:
        """The progress to report, or None when it is unchanged or would be early."""
        wanted_count, sent_count, pending_count = self.session.counts()
        progress = Progress(
            tiles_wanted=wanted_count,
            tiles_sent=sent_count,
            tiles_pending=pending_count,
            bytes_sent=self.session.bytes_sent,
            sequence=applied,
        )
        if progress == self.last_progress:
            self.progress_due = None  # nothing new to say
            return None
        # "Nothing pending" is reported only from an iteration that sent nothing, so the unloads
        # that state implies (made by the plan at the top) always come before it: a viewer
        # that moves on when it reads it never races them.
        if sent_any and progress.tiles_pending == 0:
            return None
        # At most one a min_progress_interval_s, except "everything sent" after something was
        # pending and the last word of a stream that ends; a change held back is said when the
        # interval is over (``idle`` wakes for it), as the state of that moment.
        now = time.monotonic()
        last = self.last_progress
        finished = progress.tiles_pending == 0 and (last is None or last.tiles_pending > 0)
        next_at = self.progress_at + self.session.options.min_progress_interval_s
        if now < next_at and not finished and not self.closed:
            self.progress_due = next_at
            return None
        self.progress_due = None
        self.progress_at = now
        self.last_progress = progress
        return progress

    async def idle(self, sent_any: bool, quiet_since: float) -> Heartbeat | None:
        """Wait for a message or a finished tile, unless there is more to do at once; a heartbeat
        when the stream has said nothing for the heartbeat interval (since ``quiet_since``)."""
        if sent_any or self.errors.items or self.errors.suppressed:
            return None
        beat_at = quiet_since + self.session.options.heartbeat_interval_s
        wait_until = beat_at if self.progress_due is None else min(beat_at, self.progress_due)
        try:
            # (asyncio.timeout, not wait_for: no task made for each wait.)
            async with asyncio.timeout(max(0.0, wait_until - time.monotonic())):
                await self.wake.wait()
        except TimeoutError:
            if wait_until < beat_at:
                return None  # a progress held back is due: the loop says it
            return Heartbeat(int(time.time() * 1000))
        # Coalesce: whatever arrives in the rest of the interval is applied by the reader
        # meanwhile and planned for once (a flood of 10k updates/s left streams acting on
        # updates a minute old, one full plan per update).
        # A viewer that leaves ends the wait at once: its stream slot is given back now (a
        # reconnect is not refused as one stream too many while the old one waits).
        rest = self.planned_at + self.session.options.min_plan_interval_s - time.monotonic()
        if rest > 0 and not self.closed:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(rest):
                    await self.gone.wait()
        return None


def active_streams(worlds: Worlds) -> int:
    """Streams open now over ``worlds``, all transports together (tests use it to find leaks)."""
    return worlds.stream_slots.total


async def run_stream(
    worlds: Worlds,
    first: ViewerMessage,
    rest: AsyncIterator[ViewerMessage],
    options: StreamOptions | None = None,
    peer: str = "",
    transport: TransportLimits | None = None,
) -> AsyncIterator[StreamEvent]:
    """Serve one viewer until it closes its side. Raises a ServiceError (not found, invalid, too many streams) for a
    first message that cannot start a stream; later bad messages become StreamErrorEvents. The
    first event is the :class:`Hello`.

    Iterate it under ``contextlib.aclosing`` so a disconnect releases everything at once. Memory
    per stream is bounded whatever the viewer does: updates are applied as they arrive (no queue),
    errors are capped, and the stream waits on the transport's send when the viewer stops
    reading (so the transport's own bounded buffers are the back-pressure), never buffering tiles.
    ``peer`` names the client (its address) for the per-client stream limit ("" = not limited)."""
    options = options or StreamOptions()
    transport = transport or UNCHUNKED
    slot = worlds.stream_slots.admit(peer, options.max_streams_per_peer, first.resume_session_id)
    try:
        pump = await _Pump.open(worlds, first, options, transport)
    except BaseException:
        worlds.stream_slots.release(slot)
        raise
    worlds.stream_slots.serve(slot, pump.session_id, pump.end)
    reader = asyncio.create_task(pump.read_updates(rest))
    try:
        yield pump.hello()
        quiet_since = time.monotonic()
        while True:
            pump.wake.clear()
            pump.interrupt = False
            # One synchronous snapshot: the updates applied so far and the errors they raised.
            # Progress below echoes this sequence, never a later one the reader applies while we
            # are suspended, so a viewer never reads "update N served" before N's errors.
            applied = pump.session.sequence
            said_any = False
            for error in pump.errors.drain():
                said_any = True
                yield error
            changes, pump.changes = pump.changes, []
            for changed in changes:
                said_any = True
                yield changed
            pump.planned_at = time.monotonic()
            plan = pump.session.plan()
            for unloaded in pump.unload(plan.unload):
                said_any = True
                yield unloaded
            sent_any = False
            for job, row in pump.sendable(pump.want(plan.send)):
                try:
                    data = await worlds.blob(row.sha256)
                except ServiceError as exc:  # damaged on disk and not made again: skipped, never sent
                    pump.drop(job, str(exc))
                    continue
                sent_any = True
                yield pump.sent(job, row, data)
                if pump.closed or (
                    pump.interrupt and time.monotonic() >= pump.planned_at + pump.session.options.min_plan_interval_s
                ):
                    # A new pose (or a tile made) came in while we sent: re-plan before the next
                    # tile, at most once an interval (a walker's every pose was a plan).
                    break
            for error in pump.errors.drain():  # what sending found (a tile crowded out) before the progress
                said_any = True
                yield error
            progress = pump.progress(applied, sent_any)
            if progress is not None:
                said_any = True
                yield progress
            if pump.closed:
                return
            if said_any or sent_any:
                quiet_since = time.monotonic()
            heartbeat = await pump.idle(sent_any, quiet_since)
            if heartbeat is not None:
                yield heartbeat
                quiet_since = time.monotonic()
    finally:
        reader.cancel()
        pump.stop_watching()
        pump.release_all()
        worlds.sessions.close(pump.session_id, pump.session)
        worlds.stream_slots.release(slot)
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await reader


# In-process callers (tests, benches) that cut nothing: a tile is one message.
UNCHUNKED = TransportLimits(
    default_chunk_bytes=1 << 62, max_chunk_bytes=1 << 62, max_update_bytes=1 << 62, first_message_timeout_s=0.0
)
