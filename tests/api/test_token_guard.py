"""The token guard against a real server over real gRPC and HTTP: only the WebSocket stream route
may wait for the token in its first message, and a caller without the token is refused before
its request body is read."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import grpc
import pytest

from bridge.client.client import WorldBridgeClient
from bridge.client.server_process import ServerProcess, start_server
from bridge.world.keys import TileKey
from bridge.world.photos import MAX_PHOTO_BYTES
from tests.conftest import run

TOKEN = "guard-token"
UPLOADERS = 8
# Eight unread 32 MiB uploads held at once would be 256 MiB; flow-control windows are far less.
MAX_GROWTH_KIB = 96 * 1024


def peak_rss_kib(pid: int) -> int:
    """The process's high-water resident set (Linux), in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc")


@pytest.fixture
def guarded(tmp_path: Path) -> ServerProcess:
    process = start_server(tmp_path / "data", workers=1, token=TOKEN)
    yield process
    assert process.stop() == 0, f"the server did not stop cleanly; see {process.log_path}"


def test_only_the_stream_route_itself_may_wait_for_the_token(guarded: ServerProcess) -> None:
    """Paths that merely end in /stream answered without the token, telling a stranger which
    worlds exist (world ids come from photo hashes)."""

    async def statuses() -> dict[str, tuple[int, str]]:
        answers = {}
        async with aiohttp.ClientSession() as http:
            for path in (
                "/v1/worlds/0123456789abcdef0123456789abcdef/assets/stream",
                "/v1/blobs/stream",
                "/v1/worlds/stream",
                "/v1/worlds/0123456789abcdef0123456789abcdef/stream",  # not an upgrade
            ):
                async with http.get(guarded.http_url + path) as answer:
                    answers[path] = (answer.status, (await answer.json())["error"]["code"])
        return answers

    answers = run(statuses(), 30)
    assert answers == dict.fromkeys(answers, (401, "UNAUTHENTICATED"))


async def upload_without_token(target: str, photo: bytes) -> tuple[grpc.StatusCode, str]:
    async with WorldBridgeClient(target) as client:
        try:
            await client.create_world(photo)
        except grpc.aio.AioRpcError as exc:
            return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


def test_uploads_without_the_token_are_refused_unread(guarded: ServerProcess) -> None:
    photo = b"\x89PNG" + bytes(MAX_PHOTO_BYTES - 4)

    async def scenario() -> tuple[list[tuple[grpc.StatusCode, str]], bytes]:
        refusals = await asyncio.gather(*(upload_without_token(guarded.target, photo) for _ in range(UPLOADERS)))
        # HTTP: the refusal comes while the body is still being sent (64 KiB of 32 MiB here).
        reader, writer = await asyncio.open_connection("127.0.0.1", guarded.http_port)
        writer.write(f"POST /v1/worlds HTTP/1.1\r\nHost: x\r\nContent-Length: {len(photo)}\r\n\r\n".encode())
        writer.write(photo[: 64 * 1024])
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), 10)
        writer.close()
        return refusals, status_line

    before = peak_rss_kib(guarded.process.pid)
    refusals, status_line = run(scenario(), 120)
    growth = peak_rss_kib(guarded.process.pid) - before
    assert all(code == grpc.StatusCode.UNAUTHENTICATED and "Bearer" in detail for code, detail in refusals)
    assert status_line.startswith(b"HTTP/1.1 401")
    assert growth < MAX_GROWTH_KIB, f"the server grew by {growth} KiB refusing uploads it should not read"


def test_every_kind_of_grpc_call_without_the_token_is_refused(guarded: ServerProcess) -> None:
    """Unary, server-streaming and bidirectional calls: the refusals read no request."""

    async def codes() -> list[grpc.StatusCode]:
        found = []
        async with WorldBridgeClient(guarded.target) as client:
            for call in (
                client.list_worlds(),
                client.get_tile("0123456789abcdef0123456789abcdef", TileKey(0, 0, 0)),
                anext(aiter(client.stream("0123456789abcdef0123456789abcdef").events())),
            ):
                try:
                    await call
                    found.append(grpc.StatusCode.OK)
                except grpc.aio.AioRpcError as exc:
                    found.append(exc.code())
        return found

    assert run(codes(), 30) == [grpc.StatusCode.UNAUTHENTICATED] * 3
