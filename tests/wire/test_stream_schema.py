"""The WebSocket's JSON Schema (proto/worldbridge/v1/stream.schema.json): every text message the
server sends and the Python clients send validates; unknown fields are ignored, as protobuf does.
(The web viewer's messages are checked in tests/api/test_web_viewer.py, from a real browser.)"""

from __future__ import annotations

import asyncio
import json
import math
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.test_utils import TestServer

from bridge.api.http import build_app
from bridge.client.client import Resume
from bridge.client.ws_client import WsTileStream
from bridge.stream.interest import StreamOptions
from bridge.stream.pose import Pose
from bridge.wire import websocket
from bridge.world.keys import TileKey
from tests.conftest import run
from tests.stream_schema import SERVER, VIEWER, problems
from tests.stream_support import make_worlds, world_dir

__all__ = ["world_dir"]


def test_the_schema_tells_the_directions_apart_and_refuses_what_the_contract_refuses() -> None:
    assert not VIEWER.is_valid({"progress": {}})
    assert not SERVER.is_valid({"pose": {}})
    assert not SERVER.is_valid({"hello": {"protocol_version": 1}})  # a hello says everything it has
    assert not VIEWER.is_valid({"acks": [{"lod": 0, "ix": 0}]})
    assert not VIEWER.is_valid({"held": [{"key": {"lod": 0, "ix": 0, "iz": 0}, "content_sha256": "xyz"}]})
    assert VIEWER.is_valid({"sequence": "18446744073709551615", "some_later_field": [1, 2]})


def test_every_server_message_validates(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> list[dict[str, Any]]:
        worlds, pool = make_worlds(data_dir)
        server = TestServer(build_app(worlds, stream_options=StreamOptions(heartbeat_interval_s=0.2)))
        await server.start_server()
        texts: list[str] = []
        try:
            async with aiohttp.ClientSession() as http:
                url = str(server.make_url(f"/v1/worlds/{world_id}/stream"))
                ws = await http.ws_connect(url, max_msg_size=0)

                async def read_until(kind: str, sequence: int = 0) -> None:
                    while True:
                        msg = await ws.receive()
                        if msg.type == aiohttp.WSMsgType.BINARY:
                            frame = websocket.parse_tile_frame(msg.data)
                            if frame.last:
                                await ws.send_str(json.dumps({"acks": [websocket.key_json(frame.key)]}))
                            continue
                        assert msg.type == aiohttp.WSMsgType.TEXT, msg
                        texts.append(msg.data)
                        event = json.loads(msg.data)
                        if kind in event and (kind != "progress" or _settled(event["progress"], sequence)):
                            return

                pose = {"position": {"x": 0, "y": 3, "z": 0}, "future_field": {"x": 1}}  # ignored, as protobuf does
                await ws.send_str(json.dumps({"sequence": 1, "pose": pose, "view_radius_m": 64, "new_thing": 7}))
                await read_until("progress", 1)
                await ws.send_str(json.dumps({"sequence": 2, "pose": {"position": {"x": 5000}}}))
                await read_until("progress", 2)
                await ws.send_str(json.dumps({"sequence": 3, "view_radius_m": 1e9}))  # out of range
                await read_until("error")
                await read_until("heartbeat")
                await ws.close()
                refused = await http.ws_connect(str(server.make_url("/v1/worlds/no-such-world/stream")))
                await refused.send_str(json.dumps({"pose": {"position": {"x": 0}}}))
                texts.append((await refused.receive()).data)
                await refused.close()
        finally:
            await server.close()
            await worlds.close()
            pool.shutdown()
        return [json.loads(t) for t in texts]

    messages = run(scenario(), 120)
    for message in messages:
        assert problems(message, sent_by_viewer=False) == [], message
    kinds = {next(iter(m)) for m in messages}
    assert kinds == {"hello", "progress", "unload", "error", "heartbeat"}
    assert next(iter(messages[0])) == "hello"
    errors = [m["error"] for m in messages if "error" in m]
    assert [e["status"] for e in errors] == ["INVALID_ARGUMENT", "NOT_FOUND"]  # the new field was no error
    assert "larger radii are refused" in errors[0]["message"]


def _settled(progress: dict[str, int], sequence: int) -> bool:
    return progress["sequence"] >= sequence and progress["tiles_pending"] == 0


class _Recorder:
    """Stands where the socket would: keeps what a client writes."""

    def __init__(self) -> None:
        self.sent: list[str] = []

    async def send_str(self, text: str) -> None:
        self.sent.append(text)


def test_every_python_client_message_validates() -> None:
    recorder = _Recorder()
    held = ((TileKey(2, -1, 3), "spz", "ab" * 32),)
    stream = WsTileStream(recorder, "w1", token="t", resume=Resume("s1", held), max_chunk_bytes=65_535)  # type: ignore[arg-type]

    async def scenario() -> None:
        pose = Pose((1.0, 2.0, -3.0), (0.0, 0.0, -1.0), (0.0, 0.0, -2.0), 60.0, 720, 256.0, 1280)
        await stream.send(pose, formats=["spz", "ply"], max_bytes_in_flight=1 << 24, sequence=1)
        await stream.send(Pose((0.0, 0.0, 0.0), (math.sqrt(0.5), 0.0, -math.sqrt(0.5))), sequence=2)
        await stream.ack([TileKey(0, 5, -7)])

    asyncio.run(scenario())
    messages = [json.loads(t) for t in recorder.sent]
    assert len(messages) == 3 and messages[0]["resume_session_id"] == "s1" and messages[0]["token"] == "t"
    for message in messages:
        assert problems(message, sent_by_viewer=True) == [], message
