"""Viewers that come and go: 200 connect/disconnect cycles per transport leave no task, claim,
stream or memory behind (half hang up politely, half just drop the connection)."""

from __future__ import annotations

import asyncio
import gc
import tracemalloc
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import grpc
from aiohttp.test_utils import TestServer

from bridge.api.grpc_service import WorldServicer
from bridge.api.http import SOCKETS, build_app
from bridge.client.client import ReceivedProgress, ReceivedTile, TileStream, WorldBridgeClient
from bridge.client.ws_client import WsTileStream, connect_stream
from bridge.core.pump import active_streams
from bridge.core.worlds import Worlds
from bridge.stream.pose import Pose
from bridge.wire._proto.worldbridge.v1 import world_service_pb2_grpc as pb_grpc
from tests.conftest import run
from tests.stream_support import make_worlds, world_dir

__all__ = ["world_dir"]

CYCLES = 200
WARM_UP = 20  # cycles before the baseline, after every place was streamed whole once, so the
# bounded caches (tile bytes, rows, the generator's) are full before memory is measured
PLACES = 7  # the cycles visit these in turn
MAX_GROWTH_BYTES = 2 * 1024 * 1024  # Python memory the 200 cycles may leave behind, all told


async def settle(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout_s)


async def first_tile_or_all(stream: WsTileStream | TileStream, whole: bool) -> None:
    async for event in stream.events():
        if isinstance(event, ReceivedTile) and not whole:
            return
        if isinstance(event, ReceivedTile):
            await stream.ack([event.key])
        if isinstance(event, ReceivedProgress) and whole and event.tiles_pending == 0:
            return


def place(i: int) -> tuple[float, float, float]:
    return (i % PLACES * 40.0, 3.0, 0.0)


async def measure(worlds: Worlds, cycle: Callable[[int, bool], Awaitable[None]], idle: Callable[[], bool]) -> None:
    """Run the cycles (``cycle(i, whole)``: one viewer's visit, ``whole`` = until everything is
    in); check that everything is back where it started."""

    def quiet() -> bool:
        return active_streams(worlds) == 0 and worlds.scheduler.pending_jobs() == 0 and idle()

    for i in range(PLACES):
        await cycle(i, True)
    for i in range(WARM_UP):
        await cycle(i, False)
    await settle(quiet)
    gc.collect()
    tasks_before = len(asyncio.all_tasks())
    memory_before = tracemalloc.get_traced_memory()[0]
    for i in range(CYCLES):
        await cycle(i, False)
    await settle(quiet)
    for _ in range(3):
        await asyncio.sleep(0.01)  # let transports finish their close callbacks
    gc.collect()
    assert len(asyncio.all_tasks()) <= tasks_before
    growth = tracemalloc.get_traced_memory()[0] - memory_before
    assert growth < MAX_GROWTH_BYTES, f"{growth} bytes left behind by {CYCLES} streams"
    assert worlds.scheduler.stats().claims == 0


def test_websocket_viewers_coming_and_going_leave_nothing_behind(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        worlds, pool = make_worlds(data_dir)
        server = TestServer(build_app(worlds))
        await server.start_server()
        base = str(server.make_url("")).rstrip("/")
        async with aiohttp.ClientSession() as http:

            async def cycle(i: int, whole: bool) -> None:
                stream = await connect_stream(http, base, world_id)
                await stream.send(Pose(place(i), (0, 0, -1), radius_m=96), sequence=1, formats=["spz"])
                await first_tile_or_all(stream, whole)  # mid-stream, unless whole: more tiles are coming
                if i % 2:
                    await stream.close()
                else:
                    stream.cancel()

            tracemalloc.start()
            try:
                await measure(worlds, cycle, lambda: not server.app[SOCKETS])
            finally:
                tracemalloc.stop()
        await server.close()
        await worlds.close()
        pool.shutdown()

    run(scenario(), 240)


def test_grpc_viewers_coming_and_going_leave_nothing_behind(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        worlds, pool = make_worlds(data_dir)
        server = grpc.aio.server()
        pb_grpc.add_WorldServiceServicer_to_server(WorldServicer(worlds), server)
        port = server.add_insecure_port("127.0.0.1:0")
        await server.start()
        async with WorldBridgeClient(f"127.0.0.1:{port}") as client:

            async def cycle(i: int, whole: bool) -> None:
                stream = client.stream(world_id)
                await stream.send(Pose(place(i), (0, 0, -1), radius_m=96), sequence=1, formats=["spz"])
                await first_tile_or_all(stream, whole)  # mid-stream, unless whole: more tiles are coming
                if i % 2:
                    await stream.close()
                stream.cancel()

            tracemalloc.start()
            try:
                await measure(worlds, cycle, lambda: True)
            finally:
                tracemalloc.stop()
        await server.stop(1)
        await worlds.close()
        pool.shutdown()

    run(scenario(), 240)
