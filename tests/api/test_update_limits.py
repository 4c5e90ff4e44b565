"""Viewer updates too large to be worth reading, against a real server over real gRPC and
WebSocket: refused with a clear error before they cost the shared event loop anything, and the
stream goes on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import aiohttp
import pytest

from bridge.api.grpc_service import MAX_UPDATE_BYTES
from bridge.client.client import ReceivedError, ReceivedHello
from bridge.client.server_process import ServerProcess
from bridge.stream.pose import Pose
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.wire.convert import MAX_ACKS_PER_UPDATE
from tests.conftest import run
from tests.transport_support import TRANSPORTS, Stream, opened, server_with_world

HERE = Pose((0, 3, 0), (0, 0, -1), radius_m=32)
FLOOD_ACKS = 1_000_000  # about 9 MB: the 3 M acks (28 MB) held the loop for 20 s
MAX_HEALTH_WAIT_S = 2.0  # the loop answers in milliseconds when nothing holds it


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    with server_with_world(tmp_path_factory.mktemp("update-limits"), "limits", workers=1) as served:
        yield served


def acking(count: int) -> pb.ViewerUpdate:
    """One update acking ``count`` tiles never sent."""
    update = pb.ViewerUpdate()
    for i in range(count):
        update.acks.add(lod=0, ix=i, iz=-i)
    return update


async def error_saying(stream: Stream, words: str) -> str:
    async for event in stream.events():
        if isinstance(event, ReceivedError) and words in event.message:
            return event.message
    raise AssertionError(f"the stream ended without an error saying {words!r}")


async def started(stream: Stream) -> None:
    await stream.send(HERE, sequence=1)
    async for event in stream.events():
        if isinstance(event, ReceivedHello):
            return


async def slowest_health_answer(url: str, until: asyncio.Event) -> float:
    slowest = 0.0
    async with aiohttp.ClientSession() as http:
        while not until.is_set():
            begun = time.perf_counter()
            async with http.get(f"{url}/healthz") as answer:
                assert answer.status == 200
            slowest = max(slowest, time.perf_counter() - begun)
    return slowest


def test_a_huge_grpc_update_is_refused_unparsed_while_the_loop_stays_free(served: tuple[ServerProcess, str]) -> None:
    server, world_id = served
    flood = acking(FLOOD_ACKS)
    assert flood.ByteSize() > 8 * 1024 * 1024

    async def scenario() -> tuple[str, float, str]:
        async with opened(server, "grpc", world_id) as stream:
            await started(stream)
            refused = asyncio.Event()
            health = asyncio.create_task(slowest_health_answer(server.http_url, refused))
            await stream.send_raw(flood)
            message = await error_saying(stream, "bytes; at most")
            refused.set()
            slowest = await health
            # The stream goes on: a later update is applied and answered with progress.
            await stream.send(HERE, sequence=2)
            later = ""
            async for event in stream.events():
                if type(event).__name__ == "Progress" and event.sequence == 2:  # type: ignore[union-attr]
                    later = "progress"
                    break
            return message, slowest, later

    message, slowest, later = run(scenario(), 60)
    assert f"at most {MAX_UPDATE_BYTES} are read" in message
    assert slowest < MAX_HEALTH_WAIT_S, f"/healthz waited {slowest:.1f} s while the update was handled"
    assert later == "progress"


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_too_many_acks_in_one_update_are_refused_alike(served: tuple[ServerProcess, str], transport: str) -> None:
    server, world_id = served
    update = acking(MAX_ACKS_PER_UPDATE + 1)

    async def scenario() -> str:
        async with opened(server, transport, world_id) as stream:
            await started(stream)
            if transport == "grpc":
                await stream.send_raw(update)  # type: ignore[arg-type]
            else:
                acks = [{"lod": k.lod, "ix": k.ix, "iz": k.iz} for k in update.acks]
                await stream.send_raw({"acks": acks})  # type: ignore[arg-type]
            return await error_saying(stream, "per update")

    message = run(scenario(), 60)
    assert f"acks {MAX_ACKS_PER_UPDATE + 1} tiles; at most {MAX_ACKS_PER_UPDATE} per update" in message
