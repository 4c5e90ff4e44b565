"""The gRPC face of the server: a thin adapter from WorldService calls to :class:`Worlds`.

Every client mistake becomes a status with a message (INVALID_ARGUMENT, NOT_FOUND,
RESOURCE_EXHAUSTED) and changes nothing; no client input can take the server down.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from bridge.core.errors import Code, ServiceError, code_of
from bridge.core.export import ExportFile, ExportProgress, plan_export
from bridge.core.pages import list_page, page_offset, page_size
from bridge.core.pump import TransportLimits, run_stream
from bridge.core.worlds import DEFAULT_BASE_TILE_M, Worlds
from bridge.generate.base import GeneratorOptions
from bridge.stream.interest import StreamOptions
from bridge.stream.messages import (
    Heartbeat,
    Hello,
    Progress,
    StreamErrorEvent,
    StreamEvent,
    TileChanged,
    TileSent,
    TileUnloaded,
    ViewerMessage,
)
from bridge.wire import convert, directive_wire, export_wire, websocket
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.wire._proto.worldbridge.v1 import world_service_pb2_grpc as pb_grpc
from bridge.world.keys import TileKey

log = logging.getLogger(__name__)

CHUNK_BYTES = pb.TileChunk.MAX_CHUNK_BYTES
# The largest ViewerUpdate read, as over the WebSocket. The server's receive limit is a photo's
# (CreateWorld); a stream's updates are measured against this before they are parsed.
MAX_UPDATE_BYTES = websocket.MAX_CONTROL_MESSAGE_BYTES
FIRST_MESSAGE_TIMEOUT_S = 30.0  # a stream whose first update does not come this soon is ended
# The gRPC status for each of the core's codes: the same name (google.rpc codes are gRPC's).
_STATUS = {code: grpc.StatusCode[code.name] for code in Code}
# context.peer() is "ipv4:1.2.3.4:port" or "ipv6:[::1]:port": the client is the address.
SERVICE_NAME = pb.DESCRIPTOR.services_by_name["WorldService"].full_name
_PEER = re.compile(r"^ipv[46]:\[?(?P<host>[^\]]*?)\]?:\d+$")


def client_address(peer: str) -> str:
    """The client's address in a gRPC peer string (the port left out: one client, many connections)."""
    match = _PEER.match(peer)
    return match.group("host") if match else peer


@dataclass(frozen=True)
class OversizedUpdate:
    """A ViewerUpdate too large to parse: only its size was read."""

    size: int


@dataclass(frozen=True)
class UndecodableRequest:
    """Bytes that are not the method's request message: answered INVALID_ARGUMENT, not UNKNOWN."""

    type_name: str
    reason: str

    @property
    def message(self) -> str:
        return f"the request is not a valid {self.type_name}: {self.reason}"


def add_world_service(servicer: WorldServicer, server: grpc.aio.Server) -> None:
    """Register ``servicer`` as the generated code does, but with StreamTiles's updates checked
    for size before protobuf parses them (parsing and converting a 28 MB update of 3 M acks
    held the event loop for 20 s), and every method's undecodable requests refused with
    INVALID_ARGUMENT (grpc answered UNKNOWN and logged an error for each)."""
    generated = _HandlerRecorder()
    pb_grpc.add_WorldServiceServicer_to_server(servicer, generated)  # type: ignore[arg-type]
    handlers = {name: _refusing_undecodable(name, handler) for name, handler in generated.handlers.items()}
    limit = servicer.transport.max_update_bytes
    read_any_update = _lenient(pb.ViewerUpdate.FromString, "ViewerUpdate")

    def read_update(data: bytes) -> pb.ViewerUpdate | OversizedUpdate | UndecodableRequest:
        return OversizedUpdate(len(data)) if len(data) > limit else read_any_update(data)

    handlers["StreamTiles"] = grpc.stream_stream_rpc_method_handler(
        servicer.StreamTiles, request_deserializer=read_update, response_serializer=pb.TileEvent.SerializeToString
    )
    server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(SERVICE_NAME, handlers),))
    server.add_registered_method_handlers(SERVICE_NAME, handlers)


def _lenient(parse: Callable[[bytes], Any], type_name: str) -> Callable[[bytes], Any]:
    def read(data: bytes) -> Any:
        try:
            return parse(data)
        except DecodeError as exc:
            return UndecodableRequest(type_name, str(exc))

    return read


def _refusing_undecodable(name: str, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
    """``handler`` with its one request parsed leniently, and refused when it did not parse.
    Streamed requests are left to the method (StreamTiles reports each bad update)."""
    if handler.request_streaming:
        return handler
    type_name = pb.DESCRIPTOR.services_by_name["WorldService"].methods_by_name[name].input_type.name
    read = _lenient(handler.request_deserializer, type_name)
    if handler.response_streaming:
        streaming = handler.unary_stream

        async def stream_call(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            if isinstance(request, UndecodableRequest):
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.message)
            async for reply in streaming(request, context):
                yield reply

        return grpc.unary_stream_rpc_method_handler(stream_call, read, handler.response_serializer)
    unary = handler.unary_unary

    async def unary_call(request: Any, context: grpc.aio.ServicerContext) -> Any:
        if isinstance(request, UndecodableRequest):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, request.message)
        return await unary(request, context)

    return grpc.unary_unary_rpc_method_handler(unary_call, read, handler.response_serializer)


class _HandlerRecorder:
    """Stands in for a server to catch the generated registration's handlers."""

    def __init__(self) -> None:
        self.handlers: dict[str, grpc.RpcMethodHandler] = {}

    def add_generic_rpc_handlers(self, handlers: object) -> None:
        pass

    def add_registered_method_handlers(self, service: str, handlers: dict[str, grpc.RpcMethodHandler]) -> None:
        self.handlers = handlers


def chunks(data: bytes, size: int = CHUNK_BYTES) -> list[tuple[int, bytes]]:
    """(offset, piece) pairs of at most ``size`` bytes; one empty piece for empty data."""
    if not data:
        return [(0, b"")]
    return [(offset, data[offset : offset + size]) for offset in range(0, len(data), size)]


class WorldServicer(pb_grpc.WorldServiceServicer):
    def __init__(
        self,
        worlds: Worlds,
        stream_options: StreamOptions | None = None,
        first_message_timeout_s: float = FIRST_MESSAGE_TIMEOUT_S,
        max_update_bytes: int = MAX_UPDATE_BYTES,
    ) -> None:
        self.worlds = worlds
        self.stream_options = stream_options or StreamOptions()
        self.transport = TransportLimits(
            default_chunk_bytes=CHUNK_BYTES,
            max_chunk_bytes=CHUNK_BYTES,
            max_update_bytes=max_update_bytes,
            first_message_timeout_s=first_message_timeout_s,
        )

    async def _fail(self, context: grpc.aio.ServicerContext, error: Exception) -> None:
        await context.abort(_STATUS[code_of(error)], str(error))

    async def CreateWorld(
        self, request: pb.CreateWorldRequest, context: grpc.aio.ServicerContext
    ) -> pb.CreateWorldResponse:
        options = GeneratorOptions(
            base_tile_m=request.options.base_tile_m or DEFAULT_BASE_TILE_M,
            seed=request.options.seed,
            scene_scale=request.options.scene_scale,
            scene_spawn=tuple(request.options.scene_spawn),
        )
        try:
            row, created = await self.worlds.create_world(request.photo, request.name, request.generator, options)
        except ServiceError as exc:
            await self._fail(context, exc)
        log.info("world ready", extra={"world_id": row.id, "new_world": created})
        return pb.CreateWorldResponse(world=convert.world_to_proto(row), created=created)

    async def GetWorld(self, request: pb.GetWorldRequest, context: grpc.aio.ServicerContext) -> pb.World:
        try:
            row = await self.worlds.get_world(request.world_id)
        except ServiceError as exc:
            await self._fail(context, exc)
        return convert.world_to_proto(row)

    async def ListWorlds(
        self, request: pb.ListWorldsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListWorldsResponse:
        try:
            size, offset = page_size(request.page_size), page_offset(request.page_token)
            rows, next_token = await list_page(self.worlds, size, offset)
        except ServiceError as exc:
            await self._fail(context, exc)
        return pb.ListWorldsResponse(worlds=[convert.world_to_proto(r) for r in rows], next_page_token=next_token)

    async def GetTile(
        self, request: pb.GetTileRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.TileChunk]:
        try:
            key = convert.key_from_proto(request.key)
            fmt = convert.format_name(request.format)
            tile = await self.worlds.tile(request.world_id, key, fmt)
        except (ServiceError, ValueError) as exc:
            await self._fail(context, exc)
        for message in _tile_chunks(tile.row.key, fmt, tile.row.sha256, tile.data, tile.row.splat_count):
            yield message

    async def GetAsset(
        self, request: pb.GetAssetRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.AssetChunk]:
        try:
            row, data = await self.worlds.asset(request.world_id, request.name)
        except ServiceError as exc:
            await self._fail(context, exc)
        for i, (offset, piece) in enumerate(chunks(data)):
            first = i == 0
            yield pb.AssetChunk(
                name=row.name,
                media_type=row.media_type if first else "",
                total_bytes=len(data) if first else 0,
                offset=offset,
                data=piece,
            )

    async def ExportRegion(
        self, request: pb.ExportRegionRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.ExportEvent]:
        try:
            plan = await plan_export(self.worlds, request.world_id, export_wire.request_from_proto(request))
        except ServiceError as exc:
            await self._fail(context, exc)
        try:
            async with contextlib.aclosing(plan.events()) as events:
                async for event in events:
                    if isinstance(event, ExportProgress):
                        yield pb.ExportEvent(progress=export_wire.progress_to_proto(event))
                    elif isinstance(event, ExportFile):
                        for chunk in export_wire.file_chunks(event):
                            yield pb.ExportEvent(file=chunk)
        except (ServiceError, ValueError) as exc:
            # A tile that could not be made or encoded: the files so far are an incomplete export.
            await self._fail(context, exc)

    async def ApplyDirective(
        self, request: pb.ApplyDirectiveRequest, context: grpc.aio.ServicerContext
    ) -> pb.DirectiveResult:
        try:
            result = await self.worlds.apply_directive(request.world_id, request.directive_json)
        except ServiceError as exc:
            await self._fail(context, exc)
        return directive_wire.result_to_proto(result)

    async def RevertDirective(
        self, request: pb.RevertDirectiveRequest, context: grpc.aio.ServicerContext
    ) -> pb.DirectiveResult:
        try:
            result = await self.worlds.revert_directive(request.world_id, request.directive_id)
        except ServiceError as exc:
            await self._fail(context, exc)
        return directive_wire.result_to_proto(result)

    async def UploadGlb(self, request: pb.UploadGlbRequest, context: grpc.aio.ServicerContext) -> pb.GlbInfo:
        try:
            upload = await self.worlds.upload_glb(request.world_id, request.glb)
        except ServiceError as exc:
            await self._fail(context, exc)
        return directive_wire.glb_to_proto(upload)

    async def ListDirectives(
        self, request: pb.ListDirectivesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDirectivesResponse:
        try:
            listing = await self.worlds.list_directives(request.world_id)
        except ServiceError as exc:
            await self._fail(context, exc)
        return directive_wire.listing_to_proto(listing)

    async def StreamTiles(
        self, request_iterator: AsyncIterator[pb.ViewerUpdate], context: grpc.aio.ServicerContext
    ) -> AsyncIterator[pb.TileEvent]:
        async def messages() -> AsyncIterator[ViewerMessage]:
            async for update in request_iterator:
                if isinstance(update, OversizedUpdate):
                    limit = self.transport.max_update_bytes
                    yield ViewerMessage(invalid=f"the update is {update.size} bytes; at most {limit} are read")
                    continue
                if isinstance(update, UndecodableRequest):
                    yield ViewerMessage(invalid=update.message)
                    continue
                try:
                    yield convert.viewer_message(update)
                except ValueError as exc:
                    # Unrepresentable update: report it as a bad update and go on.
                    yield ViewerMessage(invalid=str(exc))

        updates = messages()
        timeout = self.transport.first_message_timeout_s
        try:
            first = await asyncio.wait_for(anext(updates), timeout)
        except StopAsyncIteration:
            return
        except TimeoutError:
            # As over the WebSocket: a stream that never speaks does not hold its slot.
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"no viewer update within {timeout:g} s")
        peer = client_address(context.peer())
        stream = run_stream(self.worlds, first, updates, self.stream_options, peer, self.transport)
        try:
            async with contextlib.aclosing(stream) as events:
                async for event in events:
                    for message in _events(event):
                        yield message
        except (ServiceError, ValueError) as exc:
            await self._fail(context, exc)


def _tile_chunks(
    key: TileKey, fmt: str, sha: str, data: bytes, splats: int, size: int = CHUNK_BYTES
) -> list[pb.TileChunk]:
    pieces = chunks(data, size)
    return [
        pb.TileChunk(
            key=convert.key_to_proto(key),
            format=convert.FORMAT_ENUMS[fmt],
            content_sha256=sha,
            total_bytes=len(data),
            offset=offset,
            data=piece,
            last=i == len(pieces) - 1,
            splat_count=splats,
        )
        for i, (offset, piece) in enumerate(pieces)
    ]


def _events(event: StreamEvent) -> list[pb.TileEvent]:
    if isinstance(event, TileSent):
        return [
            pb.TileEvent(tile=c)
            for c in _tile_chunks(
                event.key, event.format, event.sha256, event.data, event.splat_count, event.chunk_bytes
            )
        ]
    if isinstance(event, Hello):
        return [pb.TileEvent(hello=convert.hello_to_proto(event))]
    if isinstance(event, Heartbeat):
        return [pb.TileEvent(heartbeat=pb.StreamHeartbeat(server_unix_ms=event.server_unix_ms))]
    if isinstance(event, TileUnloaded):
        return [pb.TileEvent(unload=pb.TileUnload(key=convert.key_to_proto(event.key)))]
    if isinstance(event, TileChanged):
        changed = pb.TileChanged(key=convert.key_to_proto(event.key), directive_version=event.directive_version)
        return [pb.TileEvent(changed=changed)]
    if isinstance(event, Progress):
        return [
            pb.TileEvent(
                progress=pb.StreamProgress(
                    tiles_wanted=event.tiles_wanted,
                    tiles_sent=event.tiles_sent,
                    tiles_pending=event.tiles_pending,
                    bytes_sent=event.bytes_sent,
                    sequence=event.sequence,
                )
            )
        ]
    if isinstance(event, StreamErrorEvent):
        return [pb.TileEvent(error=pb.StreamError(code=event.code, message=event.message))]
    raise TypeError(f"unknown stream event {event!r}")
