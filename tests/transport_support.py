"""Helpers for the tests that run one scenario over both transports (no tests here): a stream
opened over gRPC or WebSocket against a server process, and both faces served in-process."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc
from aiohttp.test_utils import TestServer

from bridge.api.grpc_service import WorldServicer, add_world_service
from bridge.api.http import build_app
from bridge.client.client import Resume, TileStream, WorldBridgeClient
from bridge.client.server_process import ServerProcess, start_server
from bridge.client.ws_client import WsTileStream, connect_stream
from bridge.core.worlds import Worlds
from bridge.stream.interest import StreamOptions
from tests.conftest import run
from tests.stream_support import make_worlds, small_photo

Stream = TileStream | WsTileStream
TRANSPORTS = ["grpc", "websocket"]


@contextmanager
def server_with_world(data_dir: Path, name: str, workers: int = 2) -> Iterator[tuple[ServerProcess, str]]:
    """A real ``worldbridge serve`` in ``data_dir`` holding one world made from the small photo:
    (the server, the world's id). The server must stop cleanly afterwards."""
    process = start_server(data_dir, workers=workers)

    async def create() -> str:
        async with WorldBridgeClient(process.target) as client:
            return (await client.create_world(small_photo(), name=name)).id

    try:
        yield process, run(create(), 120)
    finally:
        assert process.stop() == 0, f"the server did not stop cleanly; see {process.log_path}"


@asynccontextmanager
async def opened(
    server: ServerProcess, transport: str, world: str, resume: Resume | None = None, chunk_bytes: int = 0
) -> AsyncIterator[Stream]:
    """A stream on ``server`` over ``transport`` (the WebSocket asks for 1 MiB frames unless told)."""
    if transport == "grpc":
        async with WorldBridgeClient(server.target) as client:
            stream = client.stream(world, resume=resume, max_chunk_bytes=chunk_bytes)
            try:
                yield stream
            finally:
                stream.cancel()
    else:
        async with aiohttp.ClientSession() as http:
            stream = await connect_stream(
                http, server.http_url, world, resume=resume, max_chunk_bytes=chunk_bytes or 1024 * 1024
            )
            try:
                yield stream
            finally:
                await stream.close()


@dataclass
class InProcess:
    worlds: Worlds
    http_url: str
    grpc_target: str


@asynccontextmanager
async def both_faces(data_dir: Path, options: StreamOptions, **servicer: Any) -> AsyncIterator[InProcess]:
    """The HTTP/WebSocket and gRPC faces over one in-process :class:`Worlds` (``servicer``: more
    WorldServicer arguments, such as a first-message timeout)."""
    worlds, pool = make_worlds(data_dir)
    http = TestServer(build_app(worlds, stream_options=options))
    await http.start_server()
    grpc_server = grpc.aio.server()
    add_world_service(WorldServicer(worlds, stream_options=options, **servicer), grpc_server)
    port = grpc_server.add_insecure_port("127.0.0.1:0")
    await grpc_server.start()
    try:
        yield InProcess(worlds, str(http.make_url("")).rstrip("/"), f"127.0.0.1:{port}")
    finally:
        await grpc_server.stop(0)
        await http.close()
        await worlds.close()
        pool.shutdown()
