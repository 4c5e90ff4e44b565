"""A client flooding pose updates over gRPC, against a real server: flow control holds the client
back, so the stream always acts on recent updates (the issue measured updates 80 s old)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import grpc
import pytest

from bridge.api.server import RECEIVE_WINDOW_BYTES
from bridge.client.server_process import ServerProcess
from bridge.wire import convert
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.wire._proto.worldbridge.v1 import world_service_pb2_grpc as pb_grpc
from tests.conftest import run
from tests.transport_support import server_with_world

FLOOD = 30_000  # written as fast as the call takes them: seconds of a real server's reading


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    with server_with_world(tmp_path_factory.mktemp("update-flood"), "flood", workers=1) as served:
        yield served


def pose_update(sequence: int, world_id: str = "") -> pb.ViewerUpdate:
    x = (sequence % 1000) * 0.5  # back and forth along 500 m: every update moves the view
    return pb.ViewerUpdate(
        sequence=sequence,
        world_id=world_id,
        pose=pb.ViewerPose(position=convert.vec3((x, 3.0, 0.0)), forward=convert.vec3((0.0, 0.0, -1.0))),
        view_radius_m=48,
    )


def test_a_flood_of_updates_waits_on_flow_control_and_the_stream_stays_current(
    served: tuple[ServerProcess, str],
) -> None:
    server, world_id = served

    async def scenario() -> tuple[int, int]:
        async with grpc.aio.insecure_channel(server.target) as channel:
            call = pb_grpc.WorldServiceStub(channel).StreamTiles()
            applied = 0  # the highest update sequence a progress event has echoed
            caught_up = asyncio.Event()

            async def read() -> None:
                nonlocal applied
                async for event in call:
                    if event.WhichOneof("event") == "progress":
                        applied = max(applied, event.progress.sequence)
                        if applied == FLOOD:
                            caught_up.set()

            reader = asyncio.create_task(read())
            await call.write(pose_update(1, world_id))
            for sequence in range(2, FLOOD + 1):
                await call.write(pose_update(sequence))  # returns once the transport takes it
            behind = FLOOD - applied
            await asyncio.wait_for(caught_up.wait(), 60)
            call.cancel()
            reader.cancel()
            return behind, applied

    behind, applied = run(scenario(), 180)
    # Unapplied updates fit in the receive window (and what the loop has read but not planned):
    # with BDP probing the window grew to megabytes and the stream fell tens of thousands behind.
    bound = 4 * RECEIVE_WINDOW_BYTES // pose_update(FLOOD).ByteSize()
    assert behind <= bound, f"the stream was {behind} updates behind when the flood ended (bound {bound})"
    assert applied == FLOOD
