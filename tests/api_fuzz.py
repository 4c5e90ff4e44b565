"""Hostile inputs for the server's surfaces, and what counts as a proper answer (no tests here):
hypothesis strategies for gRPC requests (well-formed messages with extreme values, and raw
bytes) and WebSocket control messages (JSON nested deep and wide, huge numbers and strings), and
probes that send one input to a real server and name the outcome. Used by tests/api/test_fuzz_api.py
(a small sample) and bench/fuzz_api.py (thousands, counted)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import grpc
from hypothesis import strategies as st

from bridge.wire._proto.worldbridge.v1 import types_pb2 as types
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.wire.websocket import MAX_CONTROL_MESSAGE_BYTES

SERVICE = "/worldbridge.v1.WorldService/"
# A refusal or an answer, each with a message: anything else (UNKNOWN, INTERNAL, a hang, a dead
# server) is a crash.
PROPER_GRPC = {"OK", "INVALID_ARGUMENT", "NOT_FOUND", "RESOURCE_EXHAUSTED", "UNAUTHENTICATED"}
# "too big": a frame over the control message limit, refused by the socket itself (1009, or the
# connection cut at once: aiohttp drops it without a close frame once a stream runs).
PROPER_CLOSE = {"hello", "too big", "4400", "4401", "4404", "4429"}
CALL_TIMEOUT_S = 30.0
UINT32, INT64, UINT64 = 2**32 - 1, 2**63 - 1, 2**64 - 1

finite_or_not = st.floats(allow_nan=True, allow_infinity=True) | st.sampled_from([0.0, 1e308, -1e308, 5e-324])
vec3 = st.builds(types.Vec3, x=finite_or_not, y=finite_or_not, z=finite_or_not)
tile_keys = st.builds(
    types.TileKey, lod=st.integers(0, UINT32), ix=st.integers(-INT64 - 1, INT64), iz=st.integers(-INT64 - 1, INT64)
)
# Long strings drawn as (character, count), so a failing example prints short.
huge_text = st.text(max_size=64) | st.builds(
    lambda c, n: c * n, st.sampled_from(["x", "\u0000", "é", "\U0001f600"]), st.integers(1_000, 70_000)
)
formats = st.lists(st.integers(-(2**31), 2**31 - 1), max_size=8)


def viewer_updates(world_ids: list[str]) -> st.SearchStrategy[pb.ViewerUpdate]:
    """Well-formed ViewerUpdates with any values (the world named or not)."""
    poses = st.builds(
        pb.ViewerPose,
        position=vec3,
        forward=vec3,
        velocity=vec3,
        vertical_fov_deg=finite_or_not,
        viewport_height_px=st.integers(0, UINT32),
        viewport_width_px=st.integers(0, UINT32),
    )
    budgets = st.builds(
        pb.Budget,
        max_bytes_in_flight=st.integers(0, UINT64),
        max_resident_splats=st.integers(0, UINT64),
        formats=formats,
    )
    held = st.builds(pb.HeldTile, key=tile_keys, format=st.integers(0, 10), content_sha256=huge_text)
    return st.builds(
        pb.ViewerUpdate,
        world_id=st.sampled_from(world_ids) | huge_text,
        pose=st.none() | poses,
        view_radius_m=finite_or_not,
        budget=st.none() | budgets,
        acks=st.lists(tile_keys, max_size=5000),
        sequence=st.integers(0, UINT64),
        resume_session_id=huge_text,
        held=st.lists(held, max_size=20),
        max_chunk_bytes=st.integers(0, UINT32),
    )


def unary_requests(world_ids: list[str]) -> st.SearchStrategy[tuple[str, bytes]]:
    """(method, request bytes) for the unary-request methods; the named world only with keys out
    of range, so a sample never waits on generation."""
    far_keys = st.builds(
        types.TileKey, lod=st.integers(17, UINT32), ix=st.integers(-INT64 - 1, INT64), iz=st.integers(-INT64 - 1, INT64)
    )
    ids = st.sampled_from(world_ids) | huge_text
    messages = st.one_of(
        st.tuples(st.just("GetWorld"), st.builds(pb.GetWorldRequest, world_id=ids)),
        st.tuples(
            st.just("ListWorlds"),
            st.builds(pb.ListWorldsRequest, page_size=st.integers(0, UINT32), page_token=huge_text),
        ),
        st.tuples(
            st.just("GetTile"),
            st.builds(pb.GetTileRequest, world_id=ids, key=far_keys, format=st.integers(-(2**31), 2**31 - 1)),
        ),
        st.tuples(st.just("GetAsset"), st.builds(pb.GetAssetRequest, world_id=ids, name=huge_text)),
        st.tuples(
            st.just("CreateWorld"), st.builds(pb.CreateWorldRequest, photo=st.binary(max_size=256), name=huge_text)
        ),
    )
    well_formed = messages.map(lambda m: (m[0], m[1].SerializeToString()))
    raw = st.tuples(st.sampled_from(["GetWorld", "ListWorlds", "GetTile", "GetAsset", "CreateWorld"]), st.binary())
    return well_formed | raw


def json_values(field_names: list[str]) -> st.SearchStrategy[Any]:
    """JSON values of any shape, with the control message's own names as keys often enough to
    get past the first checks."""
    leaves = (
        st.none()
        | st.booleans()
        | st.integers(min_value=-(10**30), max_value=10**30)
        | st.floats(allow_nan=False, allow_infinity=False)
        | huge_text
    )
    keys = st.sampled_from(field_names) | st.text(max_size=8)
    return st.recursive(leaves, lambda inner: st.lists(inner, max_size=6) | st.dictionaries(keys, inner, max_size=6))


def control_messages(world_ids: list[str]) -> st.SearchStrategy[str]:
    """WebSocket text frames: JSON objects of hostile values, bracket towers, and other text."""
    names = ["world_id", "pose", "position", "forward", "velocity", "budget", "formats", "acks", "held", "sequence"]
    names += ["view_radius_m", "max_chunk_bytes", "resume_session_id", "lod", "ix", "iz", "x", "y", "z", "token"]
    objects = st.dictionaries(st.sampled_from(names), json_values(names), max_size=8).map(
        lambda d: {**d, "world_id": d.get("world_id", world_ids[0])} if world_ids else d
    )
    towers = st.integers(1, 60_000).map(lambda n: '{"pose": ' + "[" * n + "]" * n + "}")
    return objects.map(json.dumps) | towers | st.text(max_size=200)


def grpc_unary_outcome(channel: grpc.Channel, method: str, request: bytes) -> str:
    """The status name of one unary-request call (its replies read through)."""
    streaming = method in ("GetTile", "GetAsset")
    try:
        if streaming:
            call = channel.unary_stream(SERVICE + method, request_serializer=bytes, response_deserializer=bytes)
            for _ in call(request, timeout=CALL_TIMEOUT_S):
                pass
        else:
            call = channel.unary_unary(SERVICE + method, request_serializer=bytes, response_deserializer=bytes)
            call(request, timeout=CALL_TIMEOUT_S)
    except grpc.RpcError as exc:
        return _named(exc)
    return "OK"


def grpc_stream_outcome(channel: grpc.Channel, updates: list[bytes]) -> str:
    """Open StreamTiles with ``updates``; the status it ends with, or OK once the server has
    answered every update (a hello and then progress or an error for the last)."""
    call = channel.stream_stream(SERVICE + "StreamTiles", request_serializer=bytes, response_deserializer=bytes)
    replies = call(iter(updates), timeout=CALL_TIMEOUT_S)
    try:
        for reply in replies:
            event = pb.TileEvent.FromString(reply)
            if event.WhichOneof("event") in ("progress", "error") and len(updates) == 1:
                break
            if event.WhichOneof("event") == "error":
                break
        replies.cancel()
    except grpc.RpcError as exc:
        return "OK" if exc.code() == grpc.StatusCode.CANCELLED else _named(exc)
    return "OK"


def _named(exc: grpc.RpcError) -> str:
    code = exc.code()  # type: ignore[attr-defined]
    details = exc.details() or ""  # type: ignore[attr-defined]
    if code.name in PROPER_GRPC and not details:
        return f"{code.name} without a message"
    return code.name


async def websocket_outcome(http_url: str, world_id: str, frames: list[str]) -> str:
    """Open a stream and send ``frames``: "hello" if it started and stayed open, else the close code."""
    too_big = max(len(f.encode()) for f in frames) > MAX_CONTROL_MESSAGE_BYTES
    async with aiohttp.ClientSession() as http, http.ws_connect(f"{http_url}/v1/worlds/{world_id}/stream") as ws:
        for frame in frames:
            try:
                await ws.send_str(frame)
            except (ConnectionError, aiohttp.ClientError):  # the server hung up on an earlier frame
                return "too big" if too_big else "connection lost"
        started = False
        while True:
            try:
                message = await asyncio.wait_for(ws.receive(), CALL_TIMEOUT_S)
            except TimeoutError:
                return "hello" if started else "silence"
            if message.type == aiohttp.WSMsgType.TEXT:
                kind = next(iter(json.loads(message.data)), "")  # {"hello": {...}}, {"error": {...}}
                started = started or kind == "hello"
                if started and kind in ("progress", "error"):
                    return "hello"
            elif message.type != aiohttp.WSMsgType.BINARY:
                if ws.close_code in (1006, 1009) and too_big:
                    return "too big"
                return "hello" if started and ws.close_code is None else str(ws.close_code)
