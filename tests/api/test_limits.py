"""One error vocabulary and one count of streams per client, whichever transport a client uses."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import grpc

from bridge.client.client import ReceivedHello, Resume, WorldBridgeClient
from bridge.client.ws_client import WsClosedError, connect_stream
from bridge.core.pump import active_streams
from bridge.stream.interest import StreamOptions
from bridge.stream.pose import Pose
from tests.conftest import run
from tests.stream_support import world_dir
from tests.transport_support import both_faces

__all__ = ["world_dir"]
HERE = Pose((0, 3, 0), (0, 0, -1), radius_m=32)


async def hello_of(stream: object) -> object:
    return await anext(aiter(stream.events()))  # type: ignore[attr-defined]


def test_streams_are_counted_per_client_over_both_transports_and_refused_alike(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir
    options = StreamOptions(max_streams_per_peer=2)

    async def scenario() -> tuple[grpc.StatusCode, str, int | None, str, int]:
        async with both_faces(data_dir, options) as faces:
            base, target = faces.http_url, faces.grpc_target
            async with aiohttp.ClientSession() as session, WorldBridgeClient(target) as client:
                over_ws = await connect_stream(session, base, world_id)
                await over_ws.send(HERE, sequence=1)
                over_grpc = client.stream(world_id)
                await over_grpc.send(HERE, sequence=1)
                assert isinstance(await hello_of(over_ws), ReceivedHello)
                assert isinstance(await hello_of(over_grpc), ReceivedHello)
                # A third stream, on a new gRPC connection and on a new WebSocket: same client, refused.
                async with WorldBridgeClient(target) as other:
                    third = other.stream(world_id)
                    await third.send(HERE, sequence=1)
                    try:
                        await hello_of(third)
                        grpc_code, grpc_message = grpc.StatusCode.OK, ""
                    except grpc.aio.AioRpcError as exc:
                        grpc_code, grpc_message = exc.code(), exc.details() or ""
                fourth = await connect_stream(session, base, world_id)
                await fourth.send(HERE, sequence=1)
                try:
                    async for _ in fourth.events():
                        pass
                    ws_code, ws_message = None, ""
                except WsClosedError as exc:
                    ws_code, ws_message = exc.code, exc.reason
                open_now = active_streams(faces.worlds)
                over_grpc.cancel()
                await over_ws.close()
                return grpc_code, grpc_message, ws_code, ws_message, open_now

    grpc_code, grpc_message, ws_code, ws_message, open_now = run(scenario(), 120)
    assert grpc_code == grpc.StatusCode.RESOURCE_EXHAUSTED and "127.0.0.1 already has 2 streams open" in grpc_message
    assert ws_code == 4429 and "127.0.0.1 already has 2 streams open" in ws_message
    assert open_now == 2


async def ended(stream: object) -> bool:
    """Read a stream to its end: True when the server ended it without an error."""
    async for _ in stream.events():  # type: ignore[attr-defined]
        pass
    return True


def test_a_reconnect_at_the_limit_takes_over_its_old_stream_on_either_transport(world_dir: tuple[Path, str]) -> None:
    """A viewer whose new stream arrives before the server has seen its old one go is not refused:
    resuming its session, the new stream takes the old one's slot and the old one ends."""
    data_dir, world_id = world_dir
    options = StreamOptions(max_streams_per_peer=1)

    async def scenario() -> dict[str, object]:
        async with both_faces(data_dir, options) as faces:
            base, target = faces.http_url, faces.grpc_target
            async with aiohttp.ClientSession() as session, WorldBridgeClient(target) as client:
                first = client.stream(world_id)
                await first.send(HERE, sequence=1)
                first_hello = await hello_of(first)
                # Over the other transport, resuming the gRPC stream's session while it is still open.
                second = await connect_stream(session, base, world_id, resume=Resume(session_id=first_hello.session_id))
                await second.send(HERE, sequence=1)
                second_hello = await hello_of(second)
                first_ended = await asyncio.wait_for(ended(first), 30)
                # And back: a gRPC stream resuming the WebSocket's session takes its slot in turn.
                async with WorldBridgeClient(target) as other:
                    third = other.stream(world_id, resume=Resume(session_id=second_hello.session_id))
                    await third.send(HERE, sequence=1)
                    third_hello = await hello_of(third)
                    second_closed = await asyncio.wait_for(ended(second), 30)
                    # A stream resuming nothing is still one too many.
                    fourth = await connect_stream(session, base, world_id)
                    await fourth.send(HERE, sequence=1)
                    try:
                        await ended(fourth)
                        fourth_code = None
                    except WsClosedError as exc:
                        fourth_code = exc.code
                    open_now = active_streams(faces.worlds)
                    third.cancel()
                return {
                    "hellos": [second_hello.resumed, third_hello.resumed],
                    "session": {first_hello.session_id, second_hello.session_id, third_hello.session_id},
                    "old_ended": [first_ended, second_closed],
                    "fourth_code": fourth_code,
                    "open_now": open_now,
                }

    result = run(scenario(), 120)
    assert result["hellos"] == [True, True]
    assert len(result["session"]) == 1  # one session, carried from stream to stream
    assert result["old_ended"] == [True, True]
    assert result["fourth_code"] == 4429
    assert result["open_now"] == 1
