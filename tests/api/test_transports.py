"""One core, two transports: against a real ``worldbridge serve``, the same scenario over gRPC and
over WebSocket delivers the same tiles (keys and sha256s) for the same poses, and the same bad
input gets the same refusal over both while the server carries on."""

from __future__ import annotations

import math

import grpc
import pytest

from bridge.client.client import (
    ReceivedError,
    ReceivedHello,
    ReceivedProgress,
    ReceivedTile,
    ReceivedUnload,
    TileStream,
    WorldBridgeClient,
)
from bridge.client.players import straight_line
from bridge.client.server_process import ServerProcess
from bridge.client.ws_client import WsClosedError
from bridge.core.worlds import server_version
from bridge.formats import TILE_FORMATS
from bridge.stream.pose import Pose
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.world.keys import TileKey
from tests.conftest import run
from tests.stream_support import small_photo
from tests.transport_support import TRANSPORTS, Stream, opened


@pytest.fixture(scope="module")
def world_id(server: ServerProcess) -> str:
    async def create() -> str:
        async with WorldBridgeClient(server.target) as client:
            return (await client.create_world(small_photo(), name="transports")).id

    return run(create(), 180)


async def settle(stream: Stream, sequence: int) -> tuple[dict[TileKey, str], set[TileKey], list[str]]:
    """Read, acking every tile, until update ``sequence`` is fully served: (tiles, unloads, errors)."""
    tiles: dict[TileKey, str] = {}
    unloads: set[TileKey] = set()
    errors: list[str] = []
    async for event in stream.events():
        if isinstance(event, ReceivedTile):
            tiles[event.key] = event.sha256
            await stream.ack([event.key])
        elif isinstance(event, ReceivedUnload):
            unloads.add(event.key)
        elif isinstance(event, ReceivedError):
            errors.append(event.message)
        elif isinstance(event, ReceivedProgress) and event.sequence >= sequence and event.tiles_pending == 0:
            break
    return tiles, unloads, errors


async def refusal(stream: Stream) -> tuple[str, str]:
    """(status, message) of a stream the server refused to start: gRPC status or WS close code."""
    try:
        async for event in stream.events():
            if isinstance(event, ReceivedError):
                stream.last_error = event.message  # type: ignore[union-attr]
    except grpc.aio.AioRpcError as exc:
        return exc.code().name, exc.details() or ""
    except WsClosedError as exc:
        return {4400: "INVALID_ARGUMENT", 4404: "NOT_FOUND"}.get(exc.code or 0, str(exc.code)), exc.reason
    return "OK", ""


def test_the_same_walk_delivers_the_same_tiles_over_grpc_and_websocket(server: ServerProcess, world_id: str) -> None:
    walk = straight_line((0.0, 3.0, 0.0), (0.0, 0.0, -1.0), 20.0, 6.0, 1.0)
    teleport = (4000.0, 3.0, -2000.0)

    async def scenario(transport: str) -> list[tuple[dict[TileKey, str], set[TileKey]]]:
        steps = []
        async with opened(server, transport, world_id) as stream:
            for i, p in enumerate(walk, start=1):
                # A splat budget that never binds: under a tight one the interest set coarsens by the
                # mean size of the tiles received so far, which depends on arrival order, not transport.
                await stream.send(
                    Pose(p.position, p.forward, p.velocity, radius_m=160),
                    sequence=i,
                    formats=["spz"],
                    max_resident_splats=64_000_000,
                )
                tiles, unloads, errors = await settle(stream, i)
                assert not errors
                steps.append((tiles, unloads))
            await stream.send(Pose(teleport, (0, 0, -1), radius_m=160), sequence=len(walk) + 1)
            tiles, unloads, _ = await settle(stream, len(walk) + 1)
            steps.append((tiles, unloads))
        return steps

    over_grpc = run(scenario("grpc"), 240)  # the world is cold for this one, warm for the next
    over_ws = run(scenario("websocket"), 240)
    assert len(over_grpc) == len(over_ws) == len(walk) + 1
    for step, (a, b) in enumerate(zip(over_grpc, over_ws, strict=True)):
        assert a == b, f"step {step} differs between gRPC and WebSocket"
    assert len(over_grpc[0][0]) > 20 and any(unloads for _, unloads in over_grpc[1:])
    assert over_grpc[-1][1]  # the teleport unloaded what was left behind


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_streams_that_cannot_start_are_refused_alike(server: ServerProcess, world_id: str, transport: str) -> None:
    cases = [
        ("no-such-world", (0.0, 3.0, 0.0), 64.0, "NOT_FOUND", "no-such-world"),
        (world_id, (math.nan, 3.0, 0.0), 64.0, "INVALID_ARGUMENT", "not finite"),
        (world_id, (0.0, math.inf, 0.0), 64.0, "INVALID_ARGUMENT", "not finite"),
        (world_id, (0.0, 3.0, 0.0), 1e7, "INVALID_ARGUMENT", "larger radii are refused"),
    ]

    async def scenario() -> None:
        for world, position, radius, status, words in cases:
            async with opened(server, transport, world) as stream:
                await stream.send(Pose(position, (0, 0, -1), radius_m=radius), sequence=1)
                got, message = await refusal(stream)
                assert (got, words in message) == (status, True), (world, position, radius, got, message)

    run(scenario(), 120)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_bad_updates_mid_stream_are_reported_alike_and_change_nothing(
    server: ServerProcess, world_id: str, transport: str
) -> None:
    async def scenario() -> tuple[dict[TileKey, str], list[str]]:
        async with opened(server, transport, world_id) as stream:
            # Budgets of zero: the defaults.
            await stream.send(Pose((0, 3, 0), (0, 0, -1), radius_m=64), sequence=1, max_bytes_in_flight=0)
            first, _, _ = await settle(stream, 1)
            assert first
            await stream.send(Pose((math.nan, 3, 0), (0, 0, -1)), sequence=2)
            await stream.send(Pose((0, 3, 0), (0, 0, 0)), sequence=3)
            await stream.send(Pose((0, 3, 0), (0, 0, -1), radius_m=1e6), sequence=4)
            await stream.ack([TileKey(0, 12345, 678)])
            if isinstance(stream, TileStream):
                await stream.send_raw(pb.ViewerUpdate(budget=pb.Budget(formats=[77]), sequence=5))
            else:
                await stream.send_raw("{ this is not json")
            await stream.send(Pose((0, 3, 0), (0, 0, -1)), sequence=6)  # back where it was: nothing new
            tiles, unloads, errors = await settle(stream, 6)
            assert not tiles and not unloads
            return first, errors

    _, errors = run(scenario(), 120)
    expected = ["not finite", "zero vector", "larger radii are refused", "never sent"]
    assert len(errors) == 5
    for words, error in zip(expected, errors, strict=False):
        assert words in error, (words, error)
    assert "unknown formats ['TileFormat 77'] skipped" in errors[4] or "not JSON" in errors[4]
    assert server.process.poll() is None  # and the server is fine


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_every_stream_starts_with_a_hello(server: ServerProcess, world_id: str, transport: str) -> None:
    async def scenario() -> object:
        async with opened(server, transport, world_id) as stream:
            await stream.send(Pose((0, 3, 0), (0, 0, -1), radius_m=32), sequence=1)
            return await anext(aiter(stream.events()))

    hello = run(scenario(), 60)
    assert isinstance(hello, ReceivedHello), hello
    assert (hello.protocol_version, hello.server_version, hello.generator) == (1, server_version(), "photo")
    assert hello.generator_version and hello.server_version != "unknown"
    # Every registered format is offered (a format added to bridge.formats appears here), the default first.
    assert hello.formats[0] == "spz" and sorted(hello.formats) == sorted(TILE_FORMATS)
    assert len(hello.session_id) == 32 and not hello.resumed and hello.resumed_tiles == 0
    limits = hello.limits
    assert limits.max_chunk_bytes == 1024 * 1024  # gRPC's chunk; the Python WebSocket client asks for 1 MiB frames
    assert limits.heartbeat_interval_s > 0 and limits.first_message_timeout_s > 0 and limits.max_update_bytes > 0
    assert (limits.max_view_radius_m, limits.max_streams_per_client) == (4096.0, 64)


@pytest.mark.parametrize("transport", TRANSPORTS)
def test_a_viewer_sets_its_chunk_size_within_the_stated_range(
    server: ServerProcess, world_id: str, transport: str
) -> None:
    async def scenario() -> tuple[object, dict[TileKey, str], tuple[str, str]]:
        async with opened(server, transport, world_id, chunk_bytes=8192) as stream:
            await stream.send(Pose((0, 3, 0), (0, 0, -1), radius_m=48), sequence=1)
            hello = await anext(aiter(stream.events()))
            tiles, _, errors = await settle(stream, 1)  # each tile joined from many pieces, hash checked
            assert not errors
        async with opened(server, transport, world_id, chunk_bytes=100) as stream:
            await stream.send(Pose((0, 3, 0), (0, 0, -1), radius_m=48), sequence=1)
            refused = await refusal(stream)
        return hello, tiles, refused

    hello, tiles, refused = run(scenario(), 120)
    assert isinstance(hello, ReceivedHello) and hello.limits.max_chunk_bytes == 8192
    assert len(tiles) > 3
    assert refused[0] == "INVALID_ARGUMENT" and "max_chunk_bytes 100 outside [4096," in refused[1]
