"""A Python client of the HTTP/WebSocket face, shaped like the gRPC :class:`TileStream`, so tests
and benches can run one scenario over either transport and compare what arrives."""

from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp

from bridge.client.client import (
    ClientError,
    Received,
    ReceivedError,
    ReceivedProgress,
    ReceivedTile,
    ReceivedUnload,
)
from bridge.stream.pose import Pose
from bridge.wire import websocket
from bridge.world.keys import TileKey

MAX_TILE_MESSAGE_BYTES = 256 * 1024 * 1024  # one tile per message; the largest PLY tiles are a few MB


class WsClosedError(ClientError):
    """The server closed the stream; ``code`` is the WebSocket close code (4400, 4401, 4404, ...)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"stream closed with code {code}: {reason}")
        self.code = code
        self.reason = reason


class WsTileStream:
    """One WebSocket stream: send poses and acks, iterate what arrives (as :class:`Received`)."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse, world_id: str, token: str | None = None) -> None:
        self.ws = ws
        self.world_id = world_id
        self._token = token
        self._first = True
        self.last_error = ""

    async def send(
        self,
        pose: Pose,
        formats: Sequence[str] = (),
        max_bytes_in_flight: int = 0,
        max_resident_splats: int = 0,
        sequence: int = 0,
    ) -> None:
        """Send a pose (its 0 fields keep the stream's current values), and a budget where one is given."""
        update: dict[str, Any] = {
            "sequence": sequence,
            "pose": {
                "position": _vec(pose.position),
                "forward": _vec(pose.forward),
                "velocity": _vec(pose.velocity),
                "vertical_fov_deg": pose.vertical_fov_deg,
                "viewport_height_px": pose.viewport_height_px,
            },
            "view_radius_m": pose.radius_m,
        }
        if formats or max_bytes_in_flight or max_resident_splats:
            update["budget"] = {
                "max_bytes_in_flight": max_bytes_in_flight,
                "max_resident_splats": max_resident_splats,
                "formats": list(formats),
            }
        await self.send_raw(update)

    async def send_raw(self, update: dict[str, Any] | str | bytes) -> None:
        """Send an update as given (a dict is JSON-encoded; the first one gets world and token)."""
        if isinstance(update, dict):
            if self._first:
                update = {"world_id": self.world_id, **update}
                if self._token:
                    update["token"] = self._token
            update = json.dumps(update)
        self._first = False
        if isinstance(update, bytes):
            await self.ws.send_bytes(update)
        else:
            await self.ws.send_str(update)

    async def ack(self, keys: Sequence[TileKey]) -> None:
        await self.send_raw({"acks": [websocket.key_json(k) for k in keys]})

    async def close(self) -> None:
        await self.ws.close()

    def cancel(self) -> None:
        """Drop the connection without a goodbye (as a crashed viewer would)."""
        if self.ws._response.connection is not None:  # no public abort on a client WebSocket
            self.ws._response.connection.transport.abort()  # type: ignore[union-attr]

    async def events(self) -> AsyncIterator[Received]:
        """What arrives, until the server closes the stream. A refusal (close code 4xxx) raises
        :class:`WsClosedError` after its error message has been yielded."""
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                frame = websocket.parse_tile_frame(msg.data)
                if hashlib.sha256(frame.data).hexdigest() != frame.sha256:
                    raise ClientError(f"tile {frame.key} arrived damaged: its bytes do not hash to {frame.sha256}")
                yield ReceivedTile(frame.key, frame.format, frame.sha256, frame.data, frame.splat_count)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                event = json.loads(msg.data)
                if "progress" in event:
                    p = event["progress"]
                    yield ReceivedProgress(
                        p["tiles_wanted"], p["tiles_sent"], p["tiles_pending"], p["bytes_sent"], p["sequence"]
                    )
                elif "unload" in event:
                    k = event["unload"]["key"]
                    yield ReceivedUnload(TileKey(k["lod"], k["ix"], k["iz"]))
                elif "error" in event:
                    self.last_error = event["error"]["message"]
                    yield ReceivedError(event["error"]["code"], event["error"]["message"])
            else:
                break
        code = self.ws.close_code
        if code is not None and code >= 4000:
            raise WsClosedError(code, self.last_error)


async def connect_stream(
    session: aiohttp.ClientSession, base_url: str, world_id: str, token: str | None = None, header_token: bool = True
) -> WsTileStream:
    """Open ``/v1/worlds/{world_id}/stream``; the token goes in the header, or (``header_token``
    False, as a browser must) in the first message."""
    headers = {"authorization": f"Bearer {token}"} if token and header_token else {}
    ws = await session.ws_connect(
        f"{base_url}/v1/worlds/{world_id}/stream", headers=headers, max_msg_size=MAX_TILE_MESSAGE_BYTES
    )
    return WsTileStream(ws, world_id, token if token and not header_token else None)


def _vec(values: Sequence[float]) -> dict[str, float]:
    return {"x": float(values[0]), "y": float(values[1]), "z": float(values[2])}
