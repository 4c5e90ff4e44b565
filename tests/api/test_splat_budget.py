"""The smallest splat budget against a real server over both transports: the stream settles,
with every wanted tile either sent or explained by an error, never waiting forever."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from bridge.client.client import ReceivedError, ReceivedProgress, ReceivedTile
from bridge.client.server_process import ServerProcess
from bridge.stream.pose import Pose
from tests.conftest import run
from tests.transport_support import TRANSPORTS, opened, server_with_world

SPAWN = Pose((0, 1.7, 0), (0, 0, -1), radius_m=256)
SMALLEST = 1  # clamped up to the smallest budget the server allows


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    with server_with_world(tmp_path_factory.mktemp("splat-budget"), "budget", workers=2) as served:
        yield served


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_the_smallest_splat_budget_settles_with_a_reason(served: tuple[ServerProcess, str], transport: str) -> None:
    server, world_id = served

    async def scenario() -> tuple[ReceivedProgress, list[str], int]:
        async with opened(server, transport, world_id) as stream:
            await stream.send(SPAWN, max_resident_splats=SMALLEST, sequence=1)
            errors: list[str] = []
            tiles = 0
            async for event in stream.events():
                if isinstance(event, ReceivedTile):
                    tiles += 1
                    await stream.ack([event.key])
                elif isinstance(event, ReceivedError):
                    errors.append(event.message)
                elif isinstance(event, ReceivedProgress) and event.sequence == 1 and event.tiles_pending == 0:
                    return event, errors, tiles
        raise AssertionError("the stream ended before it settled")

    progress, errors, tiles = run(scenario(), 90)
    assert tiles > 0
    if progress.tiles_sent < progress.tiles_wanted:
        # What was not sent is explained: the budget, and what to change.
        assert any("max_resident_splats" in e for e in errors), (progress, errors, tiles)
