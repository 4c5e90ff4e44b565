"""Connections that stay open: gRPC keepalive pings permitted, heartbeats on quiet streams, and a
stream that never speaks is ended (so it cannot hold a slot forever)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiohttp
import grpc

from bridge.client.client import (
    ReceivedHeartbeat,
    ReceivedProgress,
    ReceivedTile,
    TileStream,
    WorldBridgeClient,
)
from bridge.client.server_process import ServerProcess
from bridge.client.ws_client import WsTileStream, connect_stream
from bridge.core.pump import active_streams
from bridge.stream.interest import StreamOptions
from bridge.stream.pose import Pose
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.wire._proto.worldbridge.v1 import world_service_pb2_grpc as pb_grpc
from tests.conftest import run
from tests.stream_support import small_photo, world_dir
from tests.transport_support import both_faces

__all__ = ["world_dir"]

IDLE_S = 60.0
ENGINE_KEEPALIVE = [  # what a C++ engine client sets: a ping every 10 s, also with no call open
    ("grpc.keepalive_time_ms", 10_000),
    ("grpc.keepalive_timeout_ms", 5_000),
    ("grpc.keepalive_permit_without_calls", 1),
    ("grpc.http2.max_pings_without_data", 0),
    # Each channel its own connection (gRPC shares one between channels with equal arguments by
    # default, and the streaming channel's heartbeats would then cover the quiet one's pings).
    ("grpc.use_local_subchannel_pool", 1),
]


async def settle(stream: TileStream | WsTileStream, sequence: int) -> None:
    async for event in stream.events():
        if isinstance(event, ReceivedTile):
            await stream.ack([event.key])
        elif isinstance(event, ReceivedProgress) and event.sequence >= sequence and event.tiles_pending == 0:
            return


async def watch_state(channel: grpc.aio.Channel) -> grpc.ChannelConnectivity:
    """Returns the first state the channel leaves READY for (never, on a healthy connection)."""
    state = channel.get_state(try_to_connect=True)
    while state == grpc.ChannelConnectivity.READY:
        await channel.wait_for_state_change(state)
        state = channel.get_state()
    return state


def test_a_grpc_client_with_a_10s_keepalive_stays_connected_through_60s_idle(server: ServerProcess) -> None:
    """One channel holds an idle stream (only heartbeats on it), one holds no call at all (only
    pings): both stay READY for a minute, and the stream then serves a new pose. Without the
    server's keepalive policy the call-less channel is sent away ("too many pings", the third ping
    strike) after about 40 s: checked by running this test with the policy taken out."""

    async def scenario() -> list[str]:
        streaming = grpc.aio.insecure_channel(server.target, options=ENGINE_KEEPALIVE)
        quiet = grpc.aio.insecure_channel(server.target, options=ENGINE_KEEPALIVE)
        try:
            stub = pb_grpc.WorldServiceStub(streaming)
            world = (await stub.CreateWorld(pb.CreateWorldRequest(photo=small_photo()))).world
            await asyncio.wait_for(quiet.channel_ready(), 30)
            stream = TileStream(stub, world.id, ())
            await stream.send(Pose((0, 3, 0), (0, 0, -1), radius_m=32), sequence=1)
            await settle(stream, 1)
            events = stream.events()

            async def idle_events() -> str:
                async for event in events:
                    if not isinstance(event, ReceivedHeartbeat):
                        return f"unexpected {event!r}"
                return "the stream ended"

            watchers = [
                asyncio.ensure_future(watch_state(streaming)),
                asyncio.ensure_future(watch_state(quiet)),
                asyncio.ensure_future(idle_events()),
            ]
            done, pending = await asyncio.wait(watchers, timeout=IDLE_S, return_when=asyncio.FIRST_COMPLETED)
            problems = [f"{t.result()}" for t in done]
            for task in pending:
                task.cancel()
            await stream.send(Pose((0, 3, -40), (0, 0, -1)), sequence=2)
            await asyncio.wait_for(settle(stream, 2), 60)
            stream.cancel()
            return problems
        finally:
            await streaming.close()
            await quiet.close()

    assert run(scenario(), IDLE_S + 180) == []


def test_quiet_streams_get_heartbeats_over_both_transports(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir
    options = StreamOptions(heartbeat_interval_s=0.2)

    async def next_after_settling(stream: TileStream | WsTileStream) -> object:
        await stream.send(Pose((0, 3, 0), (0, 0, -1), radius_m=32), sequence=1)
        await settle(stream, 1)
        return await anext(aiter(stream.events()))

    async def scenario() -> tuple[object, object]:
        async with both_faces(data_dir, options) as faces, aiohttp.ClientSession() as session:
            ws = await connect_stream(session, faces.http_url, world_id)
            over_ws = await asyncio.wait_for(next_after_settling(ws), 60)
            await ws.close()
            async with WorldBridgeClient(faces.grpc_target) as client:
                stream = client.stream(world_id)
                over_grpc = await asyncio.wait_for(next_after_settling(stream), 60)
                stream.cancel()
            return over_ws, over_grpc

    over_ws, over_grpc = run(scenario(), 120)
    assert isinstance(over_ws, ReceivedHeartbeat) and isinstance(over_grpc, ReceivedHeartbeat)
    assert over_ws.server_unix_ms > 0 and over_grpc.server_unix_ms > 0


def test_a_grpc_stream_that_never_speaks_is_ended_and_frees_its_slot(world_dir: tuple[Path, str]) -> None:
    data_dir, _ = world_dir

    async def scenario() -> tuple[grpc.StatusCode, str, int]:
        faces = both_faces(data_dir, StreamOptions(), first_message_timeout_s=0.3)
        async with faces as served, WorldBridgeClient(served.grpc_target) as client:
            silent = client.stream("any-world")  # opens the call, sends nothing
            try:
                async for _ in silent.events():
                    pass
            except grpc.aio.AioRpcError as exc:
                return exc.code(), exc.details() or "", active_streams(served.worlds)
            return grpc.StatusCode.OK, "", active_streams(served.worlds)

    code, details, streams = run(scenario(), 60)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and "no viewer update within 0.3 s" in details
    assert streams == 0
