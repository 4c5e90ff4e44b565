"""ExportRegion on the wire: its request and events to and from the core's export types, for
the server and for clients (which assemble the files from their chunks)."""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

from bridge.core.export import ExportFile, ExportProgress, ExportRequest, Region
from bridge.core.export.request import DEFAULT_SPZ_VERSION
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb

CHUNK_BYTES = pb.ExportFileChunk.MAX_CHUNK_BYTES


def request_from_proto(message: pb.ExportRegionRequest) -> ExportRequest:
    return ExportRequest(
        Region(message.x0, message.z0, message.x1, message.z1),
        message.format,
        message.lod,
        message.spz_version or DEFAULT_SPZ_VERSION,
        message.tiles_content or "glb",
        message.merged,
    )


def request_to_proto(world_id: str, request: ExportRequest) -> pb.ExportRegionRequest:
    r = request.region
    return pb.ExportRegionRequest(
        world_id=world_id,
        x0=r.x0,
        z0=r.z0,
        x1=r.x1,
        z1=r.z1,
        format=request.format,
        lod=request.lod,
        spz_version=request.spz_version,
        tiles_content=request.tiles_content,
        merged=request.merged,
    )


def progress_to_proto(progress: ExportProgress) -> pb.ExportProgress:
    return pb.ExportProgress(
        tiles_done=progress.tiles_done, tiles_total=progress.tiles_total, bytes_done=progress.bytes_done
    )


def file_chunks(file: ExportFile, size: int = CHUNK_BYTES) -> list[pb.ExportFileChunk]:
    offsets = range(0, len(file.data), size) if file.data else range(1)
    return [
        pb.ExportFileChunk(
            path=file.path,
            sha256=file.sha256,
            total_bytes=len(file.data),
            offset=offset,
            data=file.data[offset : offset + size],
            last=offset + size >= len(file.data),
        )
        for offset in offsets
    ]


@dataclass
class FileAssembler:
    """Joins a stream's file chunks back into files, checking order, size and hash."""

    _path: str = ""
    _parts: list[bytes] = field(default_factory=list)
    _received: int = 0

    def add(self, chunk: pb.ExportFileChunk) -> ExportFile | None:
        """The whole file once its last chunk is in; ValueError for a stream out of order."""
        if chunk.offset == 0:
            self._path, self._parts, self._received = chunk.path, [], 0
        elif chunk.path != self._path or chunk.offset != self._received:
            raise ValueError(f"chunk of {chunk.path} at {chunk.offset} is out of order")
        self._parts.append(chunk.data)
        self._received += len(chunk.data)
        if not chunk.last:
            return None
        data = b"".join(self._parts)
        if len(data) != chunk.total_bytes or hashlib.sha256(data).hexdigest() != chunk.sha256:
            raise ValueError(f"{chunk.path} arrived damaged: size or sha256 differs")
        return ExportFile(chunk.path, data, chunk.sha256)


async def read_events(events: AsyncIterator[pb.ExportEvent]) -> AsyncIterator[ExportFile | ExportProgress]:
    """A client's view of ExportRegion: the core's events again, files whole."""
    assembler = FileAssembler()
    async for event in events:
        if event.HasField("progress"):
            p = event.progress
            yield ExportProgress(p.tiles_done, p.tiles_total, p.bytes_done)
        else:
            whole = assembler.add(event.file)
            if whole is not None:
                yield whole
