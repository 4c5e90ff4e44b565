"""Clients built the way engines build them, against a real ``worldbridge serve``.

A Godot-like WebSocket client: Godot's ``WebSocketPeer`` defaults (a message over its 65,535-byte
inbound buffer closes the socket with 1009), no way to set headers (the token goes in the first
message), frames read from the byte layout in docs/protocol.md with ``struct``, not with the
package's own parser.
"""

from __future__ import annotations

import hashlib
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass, field

import aiohttp
import pytest

from bridge.client.server_process import ServerProcess, start_server
from bridge.formats import decode_splats
from tests.conftest import run
from tests.stream_support import small_photo

TOKEN = "engine-token"
GODOT_INBOUND_BUFFER = 65_535  # WebSocketPeer.inbound_buffer_size's default
FORMAT_NAMES = {1: "ply", 2: "spz", 3: "glb", 4: "stream", 5: "gltf-splats"}


@pytest.fixture(scope="module")
def token_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("engine-server"), workers=2, token=TOKEN)
    try:
        yield process
    finally:
        assert process.stop() == 0, f"the server did not stop cleanly; see {process.log_path}"


@pytest.fixture(scope="module")
def world_id(token_server: ServerProcess) -> str:
    async def create() -> str:
        headers = {"authorization": f"Bearer {TOKEN}"}
        async with aiohttp.ClientSession(headers=headers) as http:
            response = await http.post(f"{token_server.http_url}/v1/worlds", data=small_photo())
            return (await response.json())["world"]["id"]

    return run(create(), 180)


@dataclass
class GodotLikeClient:
    """What a GDScript author writes from docs/protocol.md: poll messages, join frames, ack."""

    ws: aiohttp.ClientWebSocketResponse
    hello: dict = field(default_factory=dict)
    held: dict[tuple[int, int, int], bytes] = field(default_factory=dict)
    frames: int = 0
    largest_frame: int = 0
    tiles_over_one_frame: int = 0
    unloaded: set[tuple[int, int, int]] = field(default_factory=set)
    spawn: set[tuple[int, int, int]] = field(default_factory=set)  # what the first pose brought
    sequence: int = 0
    _pending: bytearray | None = None

    async def send(self, update: dict) -> None:
        await self.ws.send_str(json.dumps(update))

    async def walk_to(self, z: float) -> None:
        """Send a pose and read until everything it wants is held (progress: nothing pending)."""
        self.sequence += 1
        pose = {"position": {"x": 0, "y": 3, "z": z}, "forward": {"x": 0, "y": 0, "z": -1}}
        await self.send({"sequence": self.sequence, "pose": pose, "view_radius_m": 128})
        await self.read_until_settled()

    async def read_until_settled(self) -> None:
        while True:
            msg = await self.ws.receive()
            assert msg.type in (aiohttp.WSMsgType.TEXT, aiohttp.WSMsgType.BINARY), (msg.type, msg.data, msg.extra)
            if msg.type == aiohttp.WSMsgType.BINARY:
                await self._frame(msg.data)
                continue
            event = json.loads(msg.data)
            assert "error" not in event, event
            if "hello" in event:
                self.hello = event["hello"]
            elif "unload" in event:
                k = event["unload"]["key"]
                self.held.pop((k["lod"], k["ix"], k["iz"]), None)
                self.unloaded.add((k["lod"], k["ix"], k["iz"]))
            elif "progress" in event:
                p = event["progress"]
                if p["sequence"] >= self.sequence and p["tiles_pending"] == 0:
                    return

    async def _frame(self, frame: bytes) -> None:
        self.frames += 1
        self.largest_frame = max(self.largest_frame, len(frame))
        magic, lod, fmt, flags = struct.unpack_from("<4sBBB", frame, 0)
        ix, iz, splats = struct.unpack_from("<qqI", frame, 8)
        offset, total = struct.unpack_from("<QQ", frame, 32)
        digest = frame[48:80]
        assert magic == b"WBT2"
        if flags & 1:
            self._pending = bytearray()
        assert self._pending is not None and offset == len(self._pending)
        self._pending += frame[80:]
        if not flags & 2:
            return
        data = bytes(self._pending)
        self._pending = None
        assert len(data) == total and hashlib.sha256(data).digest() == digest
        if total > GODOT_INBOUND_BUFFER - 80:
            self.tiles_over_one_frame += 1
        assert len(decode_splats(data, FORMAT_NAMES[fmt])) == splats
        self.held[(lod, ix, iz)] = data
        await self.send({"acks": [{"lod": lod, "ix": ix, "iz": iz}]})


def test_a_godot_like_client_walks_a_world_over_websocket_without_a_reconnect(
    token_server: ServerProcess, world_id: str
) -> None:
    async def scenario() -> GodotLikeClient:
        async with aiohttp.ClientSession() as http:  # no authorization header: Godot cannot set one
            # aiohttp refuses messages of max_msg_size bytes or more: this takes exactly Godot's 65,535.
            ws = await http.ws_connect(
                f"{token_server.http_url}/v1/worlds/{world_id}/stream", max_msg_size=GODOT_INBOUND_BUFFER + 1
            )
            client = GodotLikeClient(ws)
            client.sequence = 1
            pose = {"position": {"x": 0, "y": 3, "z": 0}}  # no format named: the server's default
            await client.send({"token": TOKEN, "sequence": 1, "pose": pose, "view_radius_m": 128})
            await client.read_until_settled()
            client.spawn = set(client.held)
            for step in range(1, 11):
                await client.walk_to(-20.0 * step)  # 200 m forward
            assert not ws.closed, (ws.close_code, ws.exception())
            await ws.close()
            return client

    client = run(scenario(), 300)
    assert client.hello["protocol_version"] == 1 and client.hello["limits"]["max_chunk_bytes"] == GODOT_INBOUND_BUFFER
    assert "spz" in client.hello["formats"] and client.hello["session_id"]
    assert client.largest_frame <= GODOT_INBOUND_BUFFER
    assert client.tiles_over_one_frame > 0  # tiles larger than one frame came, and were joined
    spawn = client.spawn
    assert len(spawn) > 10 and set(client.held) - spawn and client.unloaded & spawn  # new tiles came, old went
