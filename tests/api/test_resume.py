"""Resume: a viewer that reconnects says what it holds (its session id, or the tiles themselves)
and is sent only what it lacks; a new list of formats re-sends held tiles in the new format."""

from __future__ import annotations

import pytest

from bridge.client.client import (
    ReceivedError,
    ReceivedHello,
    ReceivedProgress,
    ReceivedTile,
    ReceivedUnload,
    Resume,
    WorldBridgeClient,
)
from bridge.client.server_process import ServerProcess
from bridge.stream.pose import Pose
from bridge.world.keys import TileKey
from tests.conftest import run
from tests.stream_support import small_photo
from tests.transport_support import TRANSPORTS, Stream, opened

HERE = Pose((0, 3, 0), (0, 0, -1), radius_m=96)
AHEAD = Pose((0, 3, -48), (0, 0, -1), radius_m=96)


@pytest.fixture(scope="module")
def world_id(server: ServerProcess) -> str:
    async def create() -> str:
        async with WorldBridgeClient(server.target) as client:
            return (await client.create_world(small_photo(), name="resume")).id

    return run(create(), 180)


class Held:
    """What a viewer holds, as the events it reads say."""

    def __init__(self) -> None:
        self.tiles: dict[TileKey, tuple[str, str]] = {}  # key -> (format, sha256)
        self.received: list[tuple[TileKey, str, str]] = []
        self.hello: ReceivedHello | None = None

    async def settle(self, stream: Stream, sequence: int) -> None:
        async for event in stream.events():
            if isinstance(event, ReceivedHello):
                self.hello = event
            elif isinstance(event, ReceivedTile):
                self.tiles[event.key] = (event.format, event.sha256)
                self.received.append((event.key, event.format, event.sha256))
                await stream.ack([event.key])
            elif isinstance(event, ReceivedUnload):
                self.tiles.pop(event.key, None)
            elif isinstance(event, ReceivedError):
                raise AssertionError(event.message)
            elif isinstance(event, ReceivedProgress) and event.sequence >= sequence and event.tiles_pending == 0:
                return


async def first_visit(server: ServerProcess, transport: str, world: str) -> Held:
    """Stream at HERE until settled, then one more update so every ack has been applied."""
    held = Held()
    async with opened(server, transport, world, None) as stream:
        await stream.send(HERE, sequence=1)
        await held.settle(stream, 1)
        await stream.send(HERE, sequence=2)
        await held.settle(stream, 2)
    return held


async def come_back(server: ServerProcess, transport: str, world: str, resume: Resume, before: Held) -> Held:
    """Reconnect with ``resume`` holding what ``before`` held, and walk ahead."""
    after = Held()
    after.tiles = dict(before.tiles)
    async with opened(server, transport, world, resume) as stream:
        await stream.send(HERE, sequence=1)
        await after.settle(stream, 1)
        await stream.send(AHEAD, sequence=2)
        await after.settle(stream, 2)
    return after


def resent(before: Held, after: Held) -> list[TileKey]:
    return [k for k, fmt, sha in after.received if before.tiles.get(k) == (fmt, sha)]


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_reconnect_with_the_session_id_receives_no_tile_it_already_held(
    server: ServerProcess, world_id: str, transport: str
) -> None:
    async def scenario() -> tuple[Held, Held]:
        before = await first_visit(server, transport, world_id)
        assert before.hello is not None
        after = await come_back(server, transport, world_id, Resume(session_id=before.hello.session_id), before)
        return before, after

    before, after = run(scenario(), 180)
    assert len(before.tiles) > 10
    assert after.hello is not None and after.hello.resumed and after.hello.resumed_tiles == len(before.tiles)
    assert after.hello.session_id == before.hello.session_id  # type: ignore[union-attr]
    assert resent(before, after) == []
    assert after.received  # walking ahead brought what was missing, and only that


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_reconnect_listing_held_tiles_receives_none_of_them_and_an_unknown_session_starts_afresh(
    server: ServerProcess, world_id: str, transport: str
) -> None:
    async def scenario() -> tuple[Held, Held, Held]:
        before = await first_visit(server, transport, world_id)
        listed = tuple((k, fmt, sha) for k, (fmt, sha) in before.tiles.items())
        # As after a server restart: the session is unknown, the tiles are listed.
        by_list = await come_back(
            server, transport, world_id, Resume(session_id="no-such-session", held=listed), before
        )
        afresh = await come_back(server, transport, world_id, Resume(session_id="no-such-session"), before)
        return before, by_list, afresh

    before, by_list, afresh = run(scenario(), 180)
    assert by_list.hello is not None and by_list.hello.resumed
    assert by_list.hello.resumed_tiles == len(before.tiles)
    assert resent(before, by_list) == [] and by_list.received
    assert afresh.hello is not None and not afresh.hello.resumed
    assert set(before.tiles) <= {k for k, _, _ in afresh.received}  # nothing known: all sent again


def test_a_new_format_list_re_sends_held_tiles_in_the_new_format(server: ServerProcess, world_id: str) -> None:
    async def scenario() -> tuple[Held, list[tuple[TileKey, str, str]]]:
        held = Held()
        async with opened(server, "websocket", world_id, None) as stream:
            await stream.send(HERE, sequence=1, formats=["spz"])
            await held.settle(stream, 1)
            before = Held()
            before.tiles = dict(held.tiles)
            held.received.clear()
            await stream.send(HERE, sequence=2, formats=["no-such-format", "ply", "spz"])
            with pytest.raises(
                AssertionError, match=r"unknown formats \['no-such-format'\] skipped \(using ply, spz\)"
            ):
                await held.settle(stream, 2)
            await held.settle(stream, 2)
        return before, held.received

    before, again = run(scenario(), 180)
    assert {fmt for _, fmt, _ in again} == {"ply"}
    assert {k for k, _, _ in again} == set(before.tiles)  # every held tile, once, in the new format
    assert len(again) == len(before.tiles)


def test_a_reconnect_after_a_directive_changed_held_tiles_is_sent_their_new_bytes(
    server: ServerProcess, world_id: str
) -> None:
    """The viewer was away while a directive changed tiles it held: resuming by its session id
    must not count the old bytes as held. Last in the file: the directive is reverted at the end."""
    tower = '{"kind": "place", "region": {"circle": {"center": [0, -40], "radius": 6}}, "structure": "a stone tower"}'

    async def scenario() -> tuple[Held, Held, int]:
        before = await first_visit(server, "grpc", world_id)
        assert before.hello is not None
        async with WorldBridgeClient(server.target) as client:
            result = await client.apply_directive(world_id, tower)
            try:
                after = await come_back(server, "grpc", world_id, Resume(session_id=before.hello.session_id), before)
            finally:
                await client.revert_directive(world_id, result.directive_id)
        return before, after, result.touched_tiles

    before, after, touched = run(scenario(), 240)
    assert after.hello is not None and after.hello.resumed
    changed = [k for k, fmt, sha in after.received if k in before.tiles and before.tiles[k] != (fmt, sha)]
    assert 0 < len(changed) <= touched, "the tiles the directive changed should come again, new"
    assert resent(before, after) == []  # the others were not sent again
