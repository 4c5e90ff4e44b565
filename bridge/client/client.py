"""An asyncio Python client of the WorldService contract (what the demo, benches and tests use)."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

import grpc

from bridge.stream.messages import Heartbeat, Hello, Progress, StreamErrorEvent, TileChanged, TileSent, TileUnloaded
from bridge.stream.pose import Pose
from bridge.wire import convert
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.wire._proto.worldbridge.v1 import world_service_pb2_grpc as pb_grpc
from bridge.world.keys import TileKey

MAX_RECEIVE_BYTES = 8 * 1024 * 1024
KEEPALIVE_MS = 10_000  # ping an idle connection this often (the server permits it)
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
    ("grpc.keepalive_time_ms", KEEPALIVE_MS),
    ("grpc.keepalive_timeout_ms", KEEPALIVE_MS),
    ("grpc.keepalive_permit_without_calls", 1),
]


class ClientError(RuntimeError):
    pass


# What a viewer receives is, field for field, what the stream core sends: one set of types.
ReceivedTile = TileSent
ReceivedUnload = TileUnloaded
ReceivedProgress = Progress
ReceivedError = StreamErrorEvent
ReceivedHello = Hello
ReceivedHeartbeat = Heartbeat
ReceivedChanged = TileChanged
Received = (
    ReceivedHello
    | ReceivedTile
    | ReceivedUnload
    | ReceivedChanged
    | ReceivedProgress
    | ReceivedError
    | ReceivedHeartbeat
)


@dataclass(frozen=True)
class Resume:
    """What a reconnecting viewer says on its first update: the session it continues and/or the
    tiles it holds (key, format, sha256), so the server sends only what it lacks."""

    session_id: str = ""
    held: tuple[tuple[TileKey, str, str], ...] = ()


class _Assembler:
    """Joins TileChunks into whole tiles and checks each against its content hash."""

    def __init__(self) -> None:
        self._parts: dict[tuple[TileKey, int], list[bytes]] = {}

    def add(self, chunk: pb.TileChunk) -> ReceivedTile | None:
        key = convert.key_from_proto(chunk.key)
        slot = (key, chunk.format)
        self._parts.setdefault(slot, []).append(chunk.data)
        if not chunk.last:
            return None
        data = b"".join(self._parts.pop(slot))
        if hashlib.sha256(data).hexdigest() != chunk.content_sha256:
            raise ClientError(f"tile {key} arrived damaged: its bytes do not hash to {chunk.content_sha256}")
        return ReceivedTile(key, convert.FORMAT_NAMES[chunk.format], chunk.content_sha256, data, chunk.splat_count)


class TileStream:
    """One StreamTiles call: send poses and acks, iterate what arrives."""

    def __init__(
        self,
        stub: pb_grpc.WorldServiceStub,
        world_id: str,
        metadata: Sequence[tuple[str, str]],
        resume: Resume | None = None,
        max_chunk_bytes: int = 0,
    ) -> None:
        self.world_id = world_id
        self._outbox: asyncio.Queue[pb.ViewerUpdate | None] = asyncio.Queue()
        self._call = stub.StreamTiles(self._requests(), metadata=metadata)
        self._first = True
        self._resume = resume or Resume()
        self._max_chunk_bytes = max_chunk_bytes
        self.hello: Hello | None = None  # once the server has said it

    async def _requests(self) -> AsyncIterator[pb.ViewerUpdate]:
        while True:
            update = await self._outbox.get()
            if update is None:
                return
            yield update

    async def send(
        self,
        pose: Pose,
        formats: Sequence[str] = (),
        max_bytes_in_flight: int = 0,
        max_resident_splats: int = 0,
        sequence: int = 0,
    ) -> None:
        """Send a pose (its 0 fields keep the stream's current values), and a budget where one is given."""
        update = pb.ViewerUpdate(
            sequence=sequence,
            world_id=self.world_id if self._first else "",
            pose=pb.ViewerPose(
                position=convert.vec3(pose.position),
                forward=convert.vec3(pose.forward),
                velocity=convert.vec3(pose.velocity),
                vertical_fov_deg=pose.vertical_fov_deg,
                viewport_height_px=pose.viewport_height_px,
            ),
            view_radius_m=pose.radius_m,
        )
        if pose.viewport_width_px:
            update.pose.viewport_width_px = pose.viewport_width_px
        if self._first:
            update.resume_session_id = self._resume.session_id
            update.max_chunk_bytes = self._max_chunk_bytes
            update.held.extend(
                pb.HeldTile(key=convert.key_to_proto(k), format=convert.FORMAT_ENUMS[f], content_sha256=s)
                for k, f, s in self._resume.held
            )
        if formats or max_bytes_in_flight or max_resident_splats:
            update.budget.CopyFrom(
                pb.Budget(
                    max_bytes_in_flight=max_bytes_in_flight,
                    max_resident_splats=max_resident_splats,
                    formats=[convert.FORMAT_ENUMS[f] for f in formats],
                )
            )
        self._first = False
        await self._outbox.put(update)

    async def send_raw(self, update: pb.ViewerUpdate) -> None:
        """Send an update as given (tests use this to send what a careful client would not)."""
        self._first = False
        await self._outbox.put(update)

    async def ack(self, keys: Sequence[TileKey]) -> None:
        await self._outbox.put(pb.ViewerUpdate(acks=[convert.key_to_proto(k) for k in keys]))

    async def close(self) -> None:
        await self._outbox.put(None)

    async def events(self) -> AsyncIterator[Received]:
        assembler = _Assembler()
        async for event in self._call:
            kind = event.WhichOneof("event")
            if kind == "tile":
                tile = assembler.add(event.tile)
                if tile is not None:
                    yield tile
            elif kind == "unload":
                yield ReceivedUnload(convert.key_from_proto(event.unload.key))
            elif kind == "progress":
                p = event.progress
                yield ReceivedProgress(p.tiles_wanted, p.tiles_sent, p.tiles_pending, p.bytes_sent, p.sequence)
            elif kind == "error":
                yield ReceivedError(event.error.code, event.error.message)
            elif kind == "hello":
                self.hello = convert.hello_from_proto(event.hello)
                yield self.hello
            elif kind == "heartbeat":
                yield ReceivedHeartbeat(event.heartbeat.server_unix_ms)
            elif kind == "changed":
                yield ReceivedChanged(convert.key_from_proto(event.changed.key), event.changed.directive_version)

    def cancel(self) -> None:
        self._call.cancel()


class WorldBridgeClient:
    def __init__(self, target: str, token: str | None = None) -> None:
        self.target = target
        self._channel = grpc.aio.insecure_channel(target, options=CHANNEL_OPTIONS)
        self.stub = pb_grpc.WorldServiceStub(self._channel)
        self.metadata: tuple[tuple[str, str], ...] = (("authorization", f"Bearer {token}"),) if token else ()

    async def __aenter__(self) -> WorldBridgeClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._channel.close()

    async def wait_ready(self, timeout_s: float = 30.0) -> None:
        await asyncio.wait_for(self._channel.channel_ready(), timeout_s)

    async def create_world(
        self,
        photo: bytes,
        name: str = "",
        base_tile_m: float = 0.0,
        seed: int = 0,
        scene_scale: float = 0.0,
        scene_spawn: tuple[float, ...] = (),
    ) -> pb.World:
        options = pb.WorldOptions(base_tile_m=base_tile_m, seed=seed, scene_scale=scene_scale, scene_spawn=scene_spawn)
        request = pb.CreateWorldRequest(photo=photo, name=name, options=options)
        response = await self.stub.CreateWorld(request, metadata=self.metadata)
        return response.world

    async def get_world(self, world_id: str) -> pb.World:
        return await self.stub.GetWorld(pb.GetWorldRequest(world_id=world_id), metadata=self.metadata)

    async def list_worlds(self, page_size: int = 0, page_token: str = "") -> pb.ListWorldsResponse:
        return await self.stub.ListWorlds(
            pb.ListWorldsRequest(page_size=page_size, page_token=page_token), metadata=self.metadata
        )

    async def get_tile(self, world_id: str, key: TileKey, fmt: str = "ply") -> ReceivedTile:
        request = pb.GetTileRequest(world_id=world_id, key=convert.key_to_proto(key), format=convert.FORMAT_ENUMS[fmt])
        assembler = _Assembler()
        async for chunk in self.stub.GetTile(request, metadata=self.metadata):
            tile = assembler.add(chunk)
            if tile is not None:
                return tile
        raise ClientError(f"tile {key} ended before its last chunk")

    async def get_asset(self, world_id: str, name: str) -> bytes:
        parts = []
        async for chunk in self.stub.GetAsset(pb.GetAssetRequest(world_id=world_id, name=name), metadata=self.metadata):
            parts.append(chunk.data)
        return b"".join(parts)

    async def apply_directive(self, world_id: str, directive_json: str) -> pb.DirectiveResult:
        request = pb.ApplyDirectiveRequest(world_id=world_id, directive_json=directive_json)
        return await self.stub.ApplyDirective(request, metadata=self.metadata)

    async def upload_glb(self, world_id: str, data: bytes) -> pb.GlbInfo:
        request = pb.UploadGlbRequest(world_id=world_id, glb=data)
        return await self.stub.UploadGlb(request, metadata=self.metadata)

    async def revert_directive(self, world_id: str, directive_id: int) -> pb.DirectiveResult:
        request = pb.RevertDirectiveRequest(world_id=world_id, directive_id=directive_id)
        return await self.stub.RevertDirective(request, metadata=self.metadata)

    async def list_directives(self, world_id: str) -> pb.ListDirectivesResponse:
        return await self.stub.ListDirectives(pb.ListDirectivesRequest(world_id=world_id), metadata=self.metadata)

    def stream(self, world_id: str, resume: Resume | None = None, max_chunk_bytes: int = 0) -> TileStream:
        return TileStream(self.stub, world_id, self.metadata, resume, max_chunk_bytes)
