"""A Python client of the HTTP/WebSocket face, shaped like the gRPC :class:`TileStream`, so tests
and benches can run one scenario over either transport and compare what arrives."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from typing import Any

import aiohttp

from bridge.client.client import (
    ClientError,
    Received,
    ReceivedChanged,
    ReceivedError,
    ReceivedHeartbeat,
    ReceivedProgress,
    ReceivedTile,
    ReceivedUnload,
    Resume,
)
from bridge.stream.messages import Hello, StreamLimits
from bridge.stream.pose import Pose
from bridge.wire import websocket
from bridge.world.keys import TileKey

# The frame size this client asks for: a tile of a few MB comes in a few dozen frames.
FRAME_BYTES = 1024 * 1024


class WsClosedError(ClientError):
    """The server closed the stream; ``code`` is the WebSocket close code (4400, 4401, 4404, ...)."""

    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"stream closed with code {code}: {reason}")
        self.code = code
        self.reason = reason


class WsTileStream:
    """One WebSocket stream: send poses and acks, iterate what arrives (as :class:`Received`)."""

    def __init__(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        world_id: str,
        token: str | None = None,
        resume: Resume | None = None,
        max_chunk_bytes: int = 0,
    ) -> None:
        self.ws = ws
        self.world_id = world_id
        self._token = token
        self._resume = resume or Resume()
        self._max_chunk_bytes = max_chunk_bytes
        self._first = True
        self.last_error = ""
        self.hello: Hello | None = None  # once the server has said it

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
                "viewport_width_px": pose.viewport_width_px,
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
                update = {"world_id": self.world_id, **self._first_fields(), **update}
            update = json.dumps(update)
        self._first = False
        if isinstance(update, bytes):
            await self.ws.send_bytes(update)
        else:
            await self.ws.send_str(update)

    def _first_fields(self) -> dict[str, Any]:
        fields: dict[str, Any] = {}
        if self._token:
            fields["token"] = self._token
        if self._resume.session_id:
            fields["resume_session_id"] = self._resume.session_id
        if self._resume.held:
            fields["held"] = [
                {"key": websocket.key_json(k), "format": f, "content_sha256": s} for k, f, s in self._resume.held
            ]
        if self._max_chunk_bytes:
            fields["max_chunk_bytes"] = self._max_chunk_bytes
        return fields

    async def ack(self, keys: Sequence[TileKey]) -> None:
        await self.send_raw({"acks": [websocket.key_json(k) for k in keys]})

    async def close(self) -> None:
        await self.ws.close()

    def cancel(self) -> None:
        """Drop the connection without a goodbye (as a crashed viewer would)."""
        if self.ws._response.connection is not None:  # no public abort on a client WebSocket
            self.ws._response.connection.transport.abort()  # type: ignore[union-attr]

    async def events(self) -> AsyncIterator[Received]:
        """What arrives, until the server closes the stream (a tile once all its frames are in).
        A refusal (close code 4xxx) raises :class:`WsClosedError` after its error message has
        been yielded."""
        assembler = websocket.FrameAssembler()
        async for msg in self.ws:
            if msg.type == aiohttp.WSMsgType.BINARY:
                try:
                    tile = assembler.add(websocket.parse_tile_frame(msg.data))
                except ValueError as exc:
                    raise ClientError(str(exc)) from None
                if tile is not None:
                    yield ReceivedTile(tile.key, tile.format, tile.sha256, tile.data, tile.splat_count)
            elif msg.type == aiohttp.WSMsgType.TEXT:
                event = _text_event(json.loads(msg.data))
                if isinstance(event, ReceivedError):
                    self.last_error = event.message
                elif isinstance(event, Hello):
                    self.hello = event
                if event is not None:
                    yield event
            else:
                break
        code = self.ws.close_code
        if code is not None and code >= 4000:
            raise WsClosedError(code, self.last_error)


def _text_event(event: dict[str, Any]) -> Received | None:
    """A server text message as what it says; None for a kind this client does not know (a
    newer server's: ignored, as fields are only ever added)."""
    if "progress" in event:
        p = event["progress"]
        return ReceivedProgress(p["tiles_wanted"], p["tiles_sent"], p["tiles_pending"], p["bytes_sent"], p["sequence"])
    if "unload" in event:
        k = event["unload"]["key"]
        return ReceivedUnload(TileKey(k["lod"], k["ix"], k["iz"]))
    if "error" in event:
        return ReceivedError(event["error"]["code"], event["error"]["message"])
    if "heartbeat" in event:
        return ReceivedHeartbeat(event["heartbeat"]["server_unix_ms"])
    if "changed" in event:
        k = event["changed"]["key"]
        return ReceivedChanged(TileKey(k["lod"], k["ix"], k["iz"]), event["changed"]["directive_version"])
    if "hello" in event:
        h = event["hello"]
        return Hello(
            protocol_version=h["protocol_version"],
            server_version=h["server_version"],
            generator=h["generator"],
            generator_version=h["generator_version"],
            formats=tuple(h["formats"]),
            session_id=h["session_id"],
            resumed=h["resumed"],
            resumed_tiles=h["resumed_tiles"],
            limits=StreamLimits(**{k: h["limits"][k] for k in StreamLimits.__dataclass_fields__}),
        )
    return None


async def connect_stream(
    session: aiohttp.ClientSession,
    base_url: str,
    world_id: str,
    token: str | None = None,
    header_token: bool = True,
    resume: Resume | None = None,
    max_chunk_bytes: int = FRAME_BYTES,
) -> WsTileStream:
    """Open ``/v1/worlds/{world_id}/stream``; the token goes in the header, or (``header_token``
    False, as a browser must) in the first message. Frames of at most ``max_chunk_bytes`` are
    asked for (0: the server's default, 65,535) and anything larger is refused by the socket."""
    headers = {"authorization": f"Bearer {token}"} if token and header_token else {}
    limit = max(max_chunk_bytes or websocket.DEFAULT_FRAME_BYTES, websocket.MAX_CONTROL_MESSAGE_BYTES)
    # aiohttp refuses a message of exactly max_msg_size bytes: one more lets a full frame through.
    ws = await session.ws_connect(f"{base_url}/v1/worlds/{world_id}/stream", headers=headers, max_msg_size=limit + 1)
    return WsTileStream(ws, world_id, token if token and not header_token else None, resume, max_chunk_bytes)


def _vec(values: Sequence[float]) -> dict[str, float]:
    return {"x": float(values[0]), "y": float(values[1]), "z": float(values[2])}
