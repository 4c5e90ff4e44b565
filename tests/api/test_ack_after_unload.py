"""An ack that crosses an unload on the wire, against a real server over both transports: a
well-behaved viewer is told of no mistake, and the stream goes on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.client.client import ReceivedError, ReceivedProgress, ReceivedTile, ReceivedUnload
from bridge.client.server_process import ServerProcess
from bridge.stream.pose import Pose
from bridge.world.keys import TileKey
from tests.conftest import run
from tests.transport_support import TRANSPORTS, opened, server_with_world

HERE = Pose((0, 3, 0), (0, 0, -1), radius_m=32)
FAR_AWAY = Pose((50_000, 3, 0), (0, 0, -1), radius_m=32)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    with server_with_world(tmp_path_factory.mktemp("ack-after-unload"), "acks", workers=2) as served:
        yield served


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_an_ack_for_a_tile_unloaded_meanwhile_is_no_error(served: tuple[ServerProcess, str], transport: str) -> None:
    server, world_id = served

    async def scenario() -> tuple[TileKey, list[str]]:
        async with opened(server, transport, world_id) as stream:
            await stream.send(HERE, sequence=1)
            events = aiter(stream.events())
            first = None
            async for event in events:
                if isinstance(event, ReceivedTile):
                    first = event.key  # held, not acked yet
                    break
            assert first is not None
            await stream.send(FAR_AWAY, sequence=2)
            async for event in events:
                if isinstance(event, ReceivedUnload) and event.key == first:
                    break
            # The viewer acks what it received, as it would had the unload not yet arrived.
            await stream.ack([first])
            await stream.send(FAR_AWAY, sequence=3)
            errors = []
            async for event in events:
                if isinstance(event, ReceivedError):
                    errors.append(event.message)
                elif isinstance(event, ReceivedProgress) and event.sequence == 3:
                    break
            return first, errors

    first, errors = run(scenario(), 90)
    assert not [e for e in errors if str(first) in e], errors
