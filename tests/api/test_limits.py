"""One error vocabulary and one count of streams per client, whichever transport a client uses."""

from __future__ import annotations

from pathlib import Path

import aiohttp
import grpc

from bridge.client.client import ReceivedHello, WorldBridgeClient
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
