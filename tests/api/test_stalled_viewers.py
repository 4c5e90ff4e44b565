"""A WebSocket viewer that stops reading, against a real HTTP server on loopback: held by
back-pressure for a while, then dropped, and everything the server held for it given back."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from bridge.api.http import SOCKETS, build_app
from bridge.client.ws_client import connect_stream
from bridge.core.pump import active_streams
from bridge.stream.pose import Pose
from tests.conftest import run
from tests.stream_support import make_worlds, world_dir

__all__ = ["world_dir"]
STALL_S = 1.0  # the server's patience, short for the test (60 s by default)
WIDE = Pose((0, 3, 0), (0, 0, -1), radius_m=256)


async def until(condition: Callable[[], bool], timeout_s: float) -> None:
    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout_s)


def test_a_viewer_that_stops_reading_is_dropped_and_its_stream_given_back(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> tuple[int, bool]:
        worlds, pool = make_worlds(data_dir)
        server = TestServer(build_app(worlds, stalled_send_timeout_s=STALL_S))
        await server.start_server()
        try:
            sockets = server.app[SOCKETS]
            async with aiohttp.ClientSession() as http:
                base = str(server.make_url("")).rstrip("/")
                stalled = await connect_stream(http, base, world_id, max_chunk_bytes=1024 * 1024)
                # PLY tiles over a wide view: far more than the socket buffers hold. Never read.
                await stalled.send(WIDE, sequence=1, max_bytes_in_flight=2**40, formats=["ply"])
                await until(lambda: any(s.sending and s.bytes_written > 1_000_000 for s in sockets.values()), 60)
                written = max(s.bytes_written for s in sockets.values())
                await until(lambda: not sockets and active_streams(worlds) == 0, 30)
                await stalled.close()
                return written, worlds.stream_slots.total == 0
        finally:
            await server.close()
            await worlds.close()
            pool.shutdown()

    written, counted_out = run(scenario(), 120)
    assert written > 1_000_000
    assert counted_out
