"""Hypothesis against a real server process over real gRPC and WebSocket: well-formed messages
with extreme values, raw bytes, and JSON nested deep and wide. Every input gets a proper answer
(a status or close code with a message), and the server stays up and serving. A small sample:
bench/fuzz_api.py runs thousands and counts them (bench/README.md)."""

from __future__ import annotations

from collections.abc import Iterator

import grpc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.client.server_process import ServerProcess
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from tests.api_fuzz import (
    PROPER_CLOSE,
    PROPER_GRPC,
    control_messages,
    grpc_stream_outcome,
    grpc_unary_outcome,
    unary_requests,
    viewer_updates,
    websocket_outcome,
)
from tests.conftest import run
from tests.transport_support import server_with_world

SAMPLE = settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
WORLD: list[str] = []  # the served world's id, for the strategies (set by the fixture)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, grpc.Channel]]:
    with server_with_world(tmp_path_factory.mktemp("fuzz-api"), "fuzz", workers=1) as (server, world_id):
        WORLD[:] = [world_id]
        with grpc.insecure_channel(server.target) as channel:
            yield server, channel
        assert server.process.poll() is None, "the server died under the fuzz"


def world_ids() -> list[str]:
    return WORLD or ["0123456789abcdef0123456789abcdef"]


@SAMPLE
@given(data=st.data())
def test_unary_calls_get_a_status_with_a_message(
    served: tuple[ServerProcess, grpc.Channel], data: st.DataObject
) -> None:
    method, request = data.draw(unary_requests(world_ids()))
    assert grpc_unary_outcome(served[1], method, request) in PROPER_GRPC


@SAMPLE
@given(data=st.data())
def test_stream_updates_of_any_value_get_a_status_or_an_error_event(
    served: tuple[ServerProcess, grpc.Channel], data: st.DataObject
) -> None:
    updates = data.draw(st.lists(viewer_updates(world_ids()), min_size=1, max_size=2))
    raw = data.draw(st.lists(st.binary(max_size=64), max_size=1))
    outcome = grpc_stream_outcome(served[1], [u.SerializeToString() for u in updates] + raw)
    assert outcome in PROPER_GRPC


@SAMPLE
@given(data=st.data())
def test_websocket_control_messages_of_any_shape_are_answered(
    served: tuple[ServerProcess, grpc.Channel], data: st.DataObject
) -> None:
    frames = data.draw(st.lists(control_messages(world_ids()), min_size=1, max_size=2))
    outcome = run(websocket_outcome(served[0].http_url, world_ids()[0], frames), 60)
    assert outcome in PROPER_CLOSE


def test_the_server_still_serves_after_the_fuzz(served: tuple[ServerProcess, grpc.Channel]) -> None:
    world = pb.World.FromString(
        served[1].unary_unary(
            "/worldbridge.v1.WorldService/GetWorld", request_serializer=bytes, response_deserializer=bytes
        )(pb.GetWorldRequest(world_id=world_ids()[0]).SerializeToString(), timeout=30)
    )
    assert world.id == world_ids()[0]
