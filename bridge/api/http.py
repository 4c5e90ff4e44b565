"""The HTTP/WebSocket face of the server: a thin aiohttp adapter over :class:`Worlds` and
:func:`run_stream`, for engines without HTTP/2, browsers and CDNs. No logic lives here: every
decision (validation, budgets, priorities) is the core's, exactly as over gRPC.

Routes (JSON bodies use the proto3 JSON form of the gRPC messages, with proto field names):

- ``GET  /healthz``                                   unauthenticated liveness, open streams
- ``GET  /v1/worlds?page_size=&page_token=``          ListWorlds
- ``POST /v1/worlds``                                 CreateWorld: the photo as the raw body (options in
  the query: name, generator, base_tile_m, seed, scene_scale, scene_spawn as six numbers with
  commas) or as multipart field ``photo``; 201 new, 200 existing
- ``GET  /v1/worlds/{id}``                            GetWorld
- ``GET  /v1/worlds/{id}/tiles/{lod}/{ix}/{iz}.{fmt}`` 302 to the tile's content-addressed URL
- ``GET  /v1/blobs/{sha256}``                         immutable bytes: ETag, Range, long cache life
- ``GET  /v1/worlds/{id}/assets/{name}``              GetAsset (photo, sky, depth, ...)
- ``GET  /v1/worlds/{id}/stream``                     WebSocket StreamTiles (see bridge/wire/websocket.py)
- ``POST /v1/worlds/{id}/export``                     ExportRegion: the request as JSON in the body, a
  zip of the export's files back (docs/export.md)
- ``GET  /``, ``/assets/...``                         the browser viewer (bridge/api/viewer_static.py)

Every /v1/ and /healthz answer may be read from any web page (``Access-Control-Allow-Origin: *``;
an ``OPTIONS`` preflight is answered without the token): a game exported for the web (the Godot
addon's example) is served from its own origin. Only an explicit ``authorization`` header carries
the token, never a cookie, so allowing every origin exposes nothing a direct request would not.

Errors are ``{"error": {"code": "NOT_FOUND", "status": 404, "message": "..."}}``. With a token
configured, every /v1/ call needs ``authorization: Bearer <token>`` (401 otherwise); a WebSocket
may instead send ``"token"`` in its first message. A WebSocket that cannot start is closed with
code 4400 (bad request), 4401 (unauthenticated), 4404 (unknown world) or 4429 (too many streams
from this client), after an ``error`` message saying why; a stream that starts gets a ``hello``
first (docs/protocol.md).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import logging
import math
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field, replace

from aiohttp import WSCloseCode, WSMsgType, web
from google.protobuf import json_format

from bridge.api.auth import token_matches
from bridge.api.export_zip import write_zip
from bridge.api.viewer_static import add_viewer_routes
from bridge.core.errors import Code, InvalidRequestError, NotFoundError, ServiceError, code_of
from bridge.core.export import plan_export
from bridge.core.pages import list_page, page_size
from bridge.core.pump import TransportLimits, active_streams, run_stream
from bridge.core.worlds import DEFAULT_BASE_TILE_M, Worlds, check_format
from bridge.generate.base import GeneratorOptions
from bridge.generate.directives.glb import MAX_GLB_BYTES
from bridge.stream.interest import StreamOptions
from bridge.stream.messages import TileSent, ViewerMessage
from bridge.wire import convert, directive_wire, export_wire, websocket
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.world.directives import MAX_JSON_BYTES
from bridge.world.keys import TileKey
from bridge.world.photos import MAX_PHOTO_BYTES
from bridge.world.store import WorldRow

log = logging.getLogger(__name__)

FIRST_MESSAGE_TIMEOUT_S = 30.0  # a WebSocket that says nothing this long after opening is closed
# A viewer that takes nothing from its socket for this long is dropped, and what the server held
# for it (buffers, its stream, its slot in the per-client limit) is given back.
STALLED_SEND_TIMEOUT_S = 60.0
IMMUTABLE = "public, max-age=31536000, immutable"
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_FORMAT_PATTERN = "[a-z][a-z-]*"

# The HTTP status and the WebSocket close code for each of the core's codes.
_HTTP_STATUS = {
    Code.INVALID_ARGUMENT: 400,
    Code.UNAUTHENTICATED: 401,
    Code.NOT_FOUND: 404,
    Code.RESOURCE_EXHAUSTED: 429,
    Code.INTERNAL: 500,
}
_CLOSE_CODES = {
    Code.INVALID_ARGUMENT: 4400,
    Code.UNAUTHENTICATED: 4401,
    Code.NOT_FOUND: 4404,
    Code.RESOURCE_EXHAUSTED: 4429,
    Code.INTERNAL: WSCloseCode.INTERNAL_ERROR,
}


@dataclass
class StreamState:
    """One open WebSocket stream, as the server sees it (for /healthz and tests)."""

    peer: str
    bytes_written: int = 0  # tile and control bytes handed to the socket
    tiles_written: int = 0
    sending: bool = False  # waiting on the socket: the viewer is slow or stopped reading


@dataclass(frozen=True)
class HttpSettings:
    token: str | None = None
    stream_options: StreamOptions = field(default_factory=StreamOptions)
    first_message_timeout_s: float = FIRST_MESSAGE_TIMEOUT_S
    stalled_send_timeout_s: float = STALLED_SEND_TIMEOUT_S

    @property
    def transport(self) -> TransportLimits:
        return TransportLimits(
            default_chunk_bytes=websocket.DEFAULT_FRAME_BYTES,
            max_chunk_bytes=websocket.MAX_FRAME_BYTES,
            max_update_bytes=websocket.MAX_CONTROL_MESSAGE_BYTES,
            first_message_timeout_s=self.first_message_timeout_s,
        )


WORLDS = web.AppKey("worlds", Worlds)
SETTINGS = web.AppKey("settings", HttpSettings)
SOCKETS = web.AppKey("sockets", dict[web.WebSocketResponse, StreamState])


def build_app(
    worlds: Worlds,
    token: str | None = None,
    stream_options: StreamOptions | None = None,
    stalled_send_timeout_s: float = STALLED_SEND_TIMEOUT_S,
) -> web.Application:
    """The whole HTTP/WebSocket service over ``worlds``; run it with an AppRunner or TestServer."""
    app = web.Application(middlewares=[_errors_and_auth], client_max_size=MAX_PHOTO_BYTES + 1024 * 1024)
    app[WORLDS] = worlds
    app[SETTINGS] = HttpSettings(
        token=token, stream_options=stream_options or StreamOptions(), stalled_send_timeout_s=stalled_send_timeout_s
    )
    app[SOCKETS] = {}
    app.on_shutdown.append(_close_sockets)
    app.on_response_prepare.append(_allow_any_origin)
    app.router.add_get("/healthz", _health)
    app.router.add_get("/v1/worlds", _list_worlds)
    app.router.add_post("/v1/worlds", _create_world)
    app.router.add_get("/v1/worlds/{world_id}", _get_world)
    app.router.add_get("/v1/worlds/{world_id}/stream", _stream)
    app.router.add_get(
        "/v1/worlds/{world_id}/tiles/{lod:\\d+}/{ix:-?\\d+}/{iz:-?\\d+}.{fmt:" + _FORMAT_PATTERN + "}", _get_tile
    )
    app.router.add_get("/v1/worlds/{world_id}/assets/{name}", _get_asset)
    app.router.add_post("/v1/worlds/{world_id}/export", _export)
    app.router.add_get("/v1/blobs/{sha256}", _get_blob)
    app.router.add_get("/v1/worlds/{world_id}/directives", _list_directives)
    app.router.add_post("/v1/worlds/{world_id}/directives", _apply_directive)
    app.router.add_post("/v1/worlds/{world_id}/directives/{directive_id}/revert", _revert_directive)
    app.router.add_post("/v1/worlds/{world_id}/glbs", _upload_glb)
    add_viewer_routes(app)
    return app


# -- errors and the token guard --------------------------------------------------------------


def _error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.json_response(
        {"error": {"code": code, "status": status, "message": message}}, status=status, headers=headers
    )


_HTTP_CODES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    413: "RESOURCE_EXHAUSTED",
}


_CORS_PATHS = ("/v1/", "/healthz")
_PREFLIGHT_HEADERS = {
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "authorization, content-type, range, if-none-match, if-range",
    "Access-Control-Max-Age": "600",
}


def _is_api_path(path: str) -> bool:
    return path.startswith(_CORS_PATHS)


async def _allow_any_origin(request: web.Request, response: web.StreamResponse) -> None:
    if _is_api_path(request.path):
        response.headers["Access-Control-Allow-Origin"] = "*"
        response.headers["Access-Control-Expose-Headers"] = "ETag, Content-Range, X-Tile-Sha256, X-Splat-Count"


@web.middleware
async def _errors_and_auth(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    if request.method == "OPTIONS" and _is_api_path(request.path):
        # A browser's CORS preflight: it never carries the token, and answers no question.
        return web.Response(status=204, headers=_PREFLIGHT_HEADERS)
    token = request.app[SETTINGS].token
    if token and request.path.startswith("/v1/"):
        header = request.headers.get("authorization")
        # A WebSocket without the header may send the token in its first message instead: only
        # the stream route itself (as routed, never by how a path ends), and only as an upgrade.
        ws_without_header = header is None and _is_stream_upgrade(request)
        if not ws_without_header and not token_matches(header, token):
            return _error(
                401,
                "UNAUTHENTICATED",
                "missing or wrong 'authorization: Bearer <token>'",
                {"WWW-Authenticate": 'Bearer realm="worldbridge"'},
            )
    try:
        return await handler(request)
    except (ServiceError, ValueError) as exc:
        code = code_of(exc)
        return _error(_HTTP_STATUS[code], code.name, str(exc))
    except web.HTTPRedirection:
        raise
    except web.HTTPException as exc:
        code = _HTTP_CODES.get(exc.status, "FAILED_PRECONDITION" if exc.status < 500 else "INTERNAL")
        return _error(exc.status, code, exc.text or exc.reason, {k: v for k, v in exc.headers.items() if k == "Allow"})


def _is_stream_upgrade(request: web.Request) -> bool:
    return (
        request.match_info.route.handler is _stream
        and request.method == "GET"
        and request.headers.get("upgrade", "").lower() == "websocket"
    )


# -- worlds ----------------------------------------------------------------------------------


def _world_json(row: WorldRow) -> dict:
    return json_format.MessageToDict(
        convert.world_to_proto(row),
        preserving_proto_field_name=True,
        always_print_fields_with_no_presence=True,
    )


async def _health(request: web.Request) -> web.Response:
    worlds = request.app[WORLDS]
    return web.json_response({"status": "SERVING", "streams": active_streams(worlds)})


async def _list_worlds(request: web.Request) -> web.Response:
    size = page_size(_int_param(request.query.get("page_size", "0"), "page_size"))
    # The token is read as a query integer: a bad one is "not an integer" here and "not valid"
    # over gRPC (core.pages.page_offset). Today's wire, kept until the contract changes.
    offset = _int_param(request.query.get("page_token", "") or "0", "page_token")
    rows, next_token = await list_page(request.app[WORLDS], size, offset)
    return web.json_response({"worlds": [_world_json(r) for r in rows], "next_page_token": next_token})


async def _get_world(request: web.Request) -> web.Response:
    return web.json_response(_world_json(await request.app[WORLDS].get_world(request.match_info["world_id"])))


async def _create_world(request: web.Request) -> web.Response:
    fields = dict(request.query)
    if request.content_type.startswith("multipart/"):
        photo = b""
        reader = await request.multipart()
        while (part := await reader.next()) is not None:
            name = getattr(part, "name", None)
            if name == "photo":
                photo = await part.read()  # type: ignore[union-attr]
            elif name in ("name", "generator", "base_tile_m", "seed", "scene_scale", "scene_spawn"):
                fields[name] = await part.text()  # type: ignore[union-attr]
    else:
        photo = await request.read()
    if not photo:
        raise InvalidRequestError("no photo: send its bytes as the request body, or as multipart field 'photo'")
    base = _float_param(fields.get("base_tile_m", "0"), "base_tile_m") or DEFAULT_BASE_TILE_M
    seed = _int_param(fields.get("seed", "0"), "seed")
    if seed >= 2**64:
        raise InvalidRequestError(f"seed {seed} does not fit in 64 bits")
    scale = _float_param(fields.get("scene_scale", "0"), "scene_scale")
    spawn = (
        tuple(_float_param(v, "scene_spawn") for v in fields["scene_spawn"].split(","))
        if "scene_spawn" in fields
        else ()
    )
    worlds = request.app[WORLDS]
    options = GeneratorOptions(base_tile_m=base, seed=seed, scene_scale=scale, scene_spawn=spawn)
    row, created = await worlds.create_world(photo, fields.get("name", ""), fields.get("generator", ""), options)
    headers = {"Location": f"/v1/worlds/{row.id}"} if created else None
    return web.json_response(
        {"world": _world_json(row), "created": created}, status=201 if created else 200, headers=headers
    )


def _int_param(text: str, name: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise InvalidRequestError(f"{name} {text!r} is not an integer") from None
    if value < 0:
        raise InvalidRequestError(f"{name} {value} must be >= 0")
    return value


def _float_param(text: str, name: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise InvalidRequestError(f"{name} {text!r} is not a number") from None
    if not math.isfinite(value):
        raise InvalidRequestError(f"{name} {text!r} is not finite")
    return value


# -- directives --------------------------------------------------------------------------------


async def _apply_directive(request: web.Request) -> web.Response:
    """The body is one directive's JSON form (proto/worldbridge/v1/directive.schema.json)."""
    if request.content_length is not None and request.content_length > MAX_JSON_BYTES:
        raise InvalidRequestError(f"a directive is at most {MAX_JSON_BYTES} bytes of JSON")
    body = await request.content.read(MAX_JSON_BYTES + 1)
    if len(body) > MAX_JSON_BYTES:
        raise InvalidRequestError(f"a directive is at most {MAX_JSON_BYTES} bytes of JSON")
    result = await request.app[WORLDS].apply_directive(request.match_info["world_id"], body)
    return web.json_response(directive_wire.result_json(result))


async def _upload_glb(request: web.Request) -> web.Response:
    """The body is the GLB's bytes; the answer names its sha256 for a place directive's "glb"."""
    if request.content_length is not None and request.content_length > MAX_GLB_BYTES:
        raise InvalidRequestError(f"the GLB is {request.content_length} bytes; at most {MAX_GLB_BYTES} are accepted")
    body = await request.read()
    upload = await request.app[WORLDS].upload_glb(request.match_info["world_id"], body)
    return web.json_response(directive_wire.glb_json(upload))


async def _revert_directive(request: web.Request) -> web.Response:
    directive_id = _int_param(request.match_info["directive_id"], "directive_id")
    result = await request.app[WORLDS].revert_directive(request.match_info["world_id"], directive_id)
    return web.json_response(directive_wire.result_json(result))


async def _list_directives(request: web.Request) -> web.Response:
    listing = await request.app[WORLDS].list_directives(request.match_info["world_id"])
    return web.json_response(directive_wire.listing_json(listing))


# -- exports -----------------------------------------------------------------------------------

MAX_EXPORT_REQUEST_BYTES = 64 * 1024


async def _export(request: web.Request) -> web.StreamResponse:
    world_id = request.match_info["world_id"]
    body = await request.content.read(MAX_EXPORT_REQUEST_BYTES + 1)
    if len(body) > MAX_EXPORT_REQUEST_BYTES:
        raise InvalidRequestError(f"the export request is over {MAX_EXPORT_REQUEST_BYTES} bytes")
    try:
        message = json_format.Parse(body or b"{}", pb.ExportRegionRequest())
    except json_format.ParseError as exc:
        raise InvalidRequestError(f"the export request is not an ExportRegionRequest in JSON: {exc}") from None
    if message.world_id and message.world_id != world_id:
        raise InvalidRequestError(f"this URL exports world {world_id}, not {message.world_id}")
    # Checked in full before the response starts: a refused export is a JSON error, never a zip.
    plan = await plan_export(request.app[WORLDS], world_id, export_wire.request_from_proto(message))
    name = f"worldbridge-{world_id[:8]}-{plan.request.format}-lod{plan.request.lod}.zip"
    response = web.StreamResponse(
        headers={"Content-Type": "application/zip", "Content-Disposition": f'attachment; filename="{name}"'}
    )
    await response.prepare(request)
    # A failure from here on can only cut the connection: the client sees a truncated zip.
    async with contextlib.aclosing(plan.events()) as events:
        await write_zip(events, response.write)
    await response.write_eof()
    return response


# -- tiles, blobs and assets -------------------------------------------------------------------


async def _get_tile(request: web.Request) -> web.StreamResponse:
    info = request.match_info
    fmt = info["fmt"]
    check_format(fmt)
    key = TileKey(int(info["lod"]), int(info["ix"]), int(info["iz"]))
    row = await request.app[WORLDS].tile_row(info["world_id"], key, fmt)
    # The key -> content mapping may change when a world is edited; the content URL never does.
    raise web.HTTPFound(
        f"/v1/blobs/{row.sha256}",
        headers={"Cache-Control": "no-cache", "X-Tile-Sha256": row.sha256, "X-Splat-Count": str(row.splat_count)},
    )


async def _get_blob(request: web.Request) -> web.StreamResponse:
    sha = request.match_info["sha256"]
    if not _SHA256.match(sha):
        raise NotFoundError(f"{sha!r} is not a sha256 hex digest")
    data = await request.app[WORLDS].blob(sha)
    return _immutable_bytes(request, data, sha, "application/octet-stream")


async def _get_asset(request: web.Request) -> web.StreamResponse:
    row, data = await request.app[WORLDS].asset(request.match_info["world_id"], request.match_info["name"])
    # World ids are content-derived, so (world, asset name) always names the same bytes.
    return _immutable_bytes(request, data, row.sha256, row.media_type)


def _immutable_bytes(request: web.Request, data: bytes, sha: str, media_type: str) -> web.StreamResponse:
    """Bytes named by their hash: strong ETag, conditional GET, one-range requests (RFC 9110)."""
    etag = f'"{sha}"'
    headers = {"ETag": etag, "Cache-Control": IMMUTABLE, "Accept-Ranges": "bytes"}
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and (if_none_match.strip() == "*" or etag in [t.strip() for t in if_none_match.split(",")]):
        return web.Response(status=304, headers=headers)
    size = len(data)
    wanted = request.headers.get("Range")
    if_range = request.headers.get("If-Range")
    if wanted and (if_range is None or if_range.strip() == etag):
        span = _parse_range(wanted, size)
        if span == "unsatisfiable":
            return web.Response(status=416, headers={**headers, "Content-Range": f"bytes */{size}"})
        if span is not None:
            start, end = span
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
            return web.Response(status=206, body=data[start : end + 1], content_type=media_type, headers=headers)
    return web.Response(body=data, content_type=media_type, headers=headers)


def _parse_range(header: str, size: int) -> tuple[int, int] | str | None:
    """One ``bytes=`` range -> (first, last) inclusive; None to ignore it (serve it all, as RFC
    9110 allows for several ranges or a malformed header); "unsatisfiable" for a 416."""
    match = _RANGE.match(header.strip())
    if match is None:
        return None
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # a suffix: the last N bytes
        length = int(last)
        if length == 0 or size == 0:
            return "unsatisfiable"
        return max(0, size - length), size - 1
    start = int(first)
    end = min(int(last), size - 1) if last else size - 1
    if last and int(last) < start:
        return None
    if start >= size:
        return "unsatisfiable"
    return start, end


# -- the stream --------------------------------------------------------------------------------


async def _stream(request: web.Request) -> web.StreamResponse:
    # aiohttp refuses a message of max_msg_size bytes or more; the documented limit is "at most".
    ws = web.WebSocketResponse(max_msg_size=websocket.MAX_CONTROL_MESSAGE_BYTES + 1, heartbeat=30.0, compress=False)
    if not ws.can_prepare(request).ok:
        raise InvalidRequestError("this endpoint is a WebSocket: connect with an Upgrade request")
    settings = request.app[SETTINGS]
    authorised = settings.token is None or token_matches(request.headers.get("authorization"), settings.token)
    await ws.prepare(request)
    state = StreamState(peer=request.remote or "")
    request.app[SOCKETS][ws] = state
    try:
        first = await _first_message(ws, settings, authorised)
        if first is None:
            return ws
        world_id = request.match_info["world_id"]
        if first.world_id and first.world_id != world_id:
            await _refuse(ws, Code.INVALID_ARGUMENT, f"this stream is for world {world_id}, not {first.world_id}")
            return ws
        first = replace(first, world_id=world_id)  # the path names the world; the message may too
        events = run_stream(
            request.app[WORLDS], first, _later_messages(ws), settings.stream_options, state.peer, settings.transport
        )
        stall_s = settings.stalled_send_timeout_s
        async with contextlib.aclosing(events):
            async for event in events:
                state.sending = True
                if isinstance(event, TileSent):
                    # A tile's frames go one after another: nothing else is sent between them.
                    for frame in websocket.tile_frames(event, event.chunk_bytes):
                        await _send_or_stall(ws.send_bytes(frame), stall_s)
                        state.bytes_written += len(frame)
                    state.tiles_written += 1
                else:
                    text = websocket.event_json(event)
                    await _send_or_stall(ws.send_str(text), stall_s)
                    state.bytes_written += len(text)
                state.sending = False
    except _ViewerStalled:
        # A frame may be half written: the connection cannot be closed politely, only cut.
        log.info("viewer stalled; dropped", extra={"peer": state.peer, "stalled_s": settings.stalled_send_timeout_s})
        if request.transport is not None:
            request.transport.abort()
        await asyncio.to_thread(_give_memory_back)
    except ServiceError as exc:
        await _refuse(ws, exc.code, str(exc))
    except ConnectionError:
        pass  # the viewer went away: run_stream has cleaned up already
    finally:
        request.app[SOCKETS].pop(ws, None)
        if not ws.closed:
            with contextlib.suppress(Exception):
                await ws.close()
    return ws


def _give_memory_back() -> None:
    """Return freed heap to the system (glibc only): a dropped viewer's megabytes of unsent frames
    are freed, but glibc kept about 100 MB of them per 40 stalled viewers (measured)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6").malloc_trim(0)


class _ViewerStalled(Exception):
    """A send did not complete in time: the viewer has stopped reading."""


async def _send_or_stall(send: Awaitable[None], timeout_s: float) -> None:
    try:
        await asyncio.wait_for(send, timeout_s)
    except TimeoutError:
        raise _ViewerStalled from None


async def _first_message(ws: web.WebSocketResponse, settings: HttpSettings, authorised: bool) -> ViewerMessage | None:
    """The viewer's first update (carrying the token if the upgrade had none); None if refused."""
    try:
        msg = await asyncio.wait_for(ws.receive(), settings.first_message_timeout_s)
    except TimeoutError:
        await _refuse(ws, Code.INVALID_ARGUMENT, f"no viewer update within {settings.first_message_timeout_s} s")
        return None
    if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
        return None
    if msg.type != WSMsgType.TEXT:
        if not authorised:
            await _refuse(ws, Code.UNAUTHENTICATED, "the first message must be JSON carrying the token")
            return None
        await _refuse(ws, Code.INVALID_ARGUMENT, "viewer updates are JSON text frames")
        return None
    control = websocket.parse_control(msg.data)
    if not authorised and (control.token is None or not token_matches(f"Bearer {control.token}", settings.token or "")):
        await _refuse(ws, Code.UNAUTHENTICATED, "missing or wrong token (header or first message)")
        return None
    return control.message


async def _later_messages(ws: web.WebSocketResponse) -> AsyncIterator[ViewerMessage]:
    async for msg in ws:
        if msg.type == WSMsgType.TEXT:
            yield websocket.parse_control(msg.data).message
        elif msg.type == WSMsgType.BINARY:
            yield ViewerMessage(invalid="viewer updates are JSON text frames; binary frames carry tiles only")
        else:
            return


async def _refuse(ws: web.WebSocketResponse, code: Code, message: str) -> None:
    """Say why in an error message (close reasons are cut at 123 bytes), then close."""
    with contextlib.suppress(Exception):
        await ws.send_str(websocket.error_json(code, message))
        # Cut on a character boundary: a reason cut inside a UTF-8 sequence is a protocol error (1007).
        reason = message.encode()[:120].decode(errors="ignore").encode()
        await ws.close(code=_CLOSE_CODES[code], message=reason)


async def _close_sockets(app: web.Application) -> None:
    """Graceful shutdown: every open stream is told the server is going away."""
    sockets = list(app[SOCKETS])
    await asyncio.gather(
        *(ws.close(code=WSCloseCode.GOING_AWAY, message=b"server shutdown") for ws in sockets), return_exceptions=True
    )
