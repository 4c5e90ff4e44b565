"""An export as the core runs it for every transport: check, make the tiles, name the files.

:func:`plan_export` checks the request against the world (raising before anything is made);
:meth:`ExportPlan.events` then makes the tiles in the worker pool, at a priority below every
viewer's tiles, and yields progress and files in a fixed order: the tile files in key order,
then (3D Tiles) ``tileset.json``, ``PROVENANCE.txt`` and last ``manifest.json``. Only a window
of tiles is in memory at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from collections.abc import AsyncIterator
from dataclasses import dataclass

from bridge.core.export import manifest as manifests
from bridge.core.export.request import ExportRequest
from bridge.core.export.tiles import ExportedTile, make_tile
from bridge.core.worlds import Worlds, server_version
from bridge.formats import TILE_FORMATS
from bridge.formats.tiles3d import TileEntry, build_tileset, tileset_bytes
from bridge.world.keys import TileKey
from bridge.world.store import WorldRow

# Lower is more urgent; viewers' tiles are prioritised by their distance in metres.
EXPORT_PRIORITY = 1.0e12


@dataclass(frozen=True)
class ExportProgress:
    tiles_done: int
    tiles_total: int
    bytes_done: int  # of the files yielded so far


@dataclass(frozen=True)
class ExportFile:
    path: str  # relative, "/"-separated
    data: bytes
    sha256: str


ExportEvent = ExportProgress | ExportFile


@dataclass(frozen=True)
class ExportPlan:
    worlds: Worlds
    world: WorldRow
    request: ExportRequest
    keys: tuple[TileKey, ...]
    origin: manifests.Origin

    async def events(self) -> AsyncIterator[ExportEvent]:
        request, world = self.request, self.world
        records: list[manifests.FileRecord] = []
        entries: list[TileEntry] = []
        clipped, done_bytes = 0, 0
        seen_content: set[str] = set()
        yield ExportProgress(0, len(self.keys), 0)
        async for number, tile in self._tiles():
            sha = hashlib.sha256(tile.data).hexdigest()
            clipped += tile.clipped_colour_values
            if request.format == "3dtiles":
                path = f"content/{sha}{TILE_FORMATS[request.tile_format].extension}"
                entries.append(TileEntry(tile.key, b"", tile.y_range, sha))
                fresh = sha not in seen_content  # identical tiles share one content file
                seen_content.add(sha)
            else:
                path = f"tiles/{tile.key.lod}_{tile.key.ix}_{tile.key.iz}{TILE_FORMATS[request.tile_format].extension}"
                fresh = True
            if fresh:
                records.append(manifests.FileRecord(path, sha, len(tile.data), str(tile.key), tile.splat_count))
                done_bytes += len(tile.data)
                yield ExportFile(path, tile.data, sha)
            yield ExportProgress(number + 1, len(self.keys), done_bytes)
        extra: list[tuple[str, bytes]] = []
        if request.format == "3dtiles":
            extension = TILE_FORMATS[request.tile_format].extension
            grid = self.worlds.grid(world)
            tileset = build_tileset(
                entries, world.spec.base_tile_m, grid_samples=grid.splats_per_edge, extension=extension
            )
            extra.append(("tileset.json", tileset_bytes(tileset)))
        version = server_version()
        extra.append((manifests.PROVENANCE_NAME, manifests.provenance_text(world, request, version)))
        for path, data in extra:
            sha = hashlib.sha256(data).hexdigest()
            records.append(manifests.FileRecord(path, sha, len(data)))
            yield ExportFile(path, data, sha)
        manifest = manifests.build_manifest(world, request, self.origin, records, len(self.keys), clipped, version)
        data = manifests.manifest_bytes(manifest)
        yield ExportFile(manifests.MANIFEST_NAME, data, hashlib.sha256(data).hexdigest())

    async def _tiles(self) -> AsyncIterator[tuple[int, ExportedTile]]:
        """The tiles in key order, a few made ahead of the one yielded (as many as there are
        generation slots, twice over), so the pool stays busy and memory stays bounded."""
        window = 2 * self.worlds.scheduler.concurrency
        pending: deque[asyncio.Task[ExportedTile]] = deque()
        keys = iter(enumerate(self.keys))
        try:
            for number, key in keys:
                pending.append(asyncio.ensure_future(self._tile(key)))
                if len(pending) >= window:
                    yield number - len(pending) + 1, await pending.popleft()
            first = len(self.keys) - len(pending)
            for offset in range(len(pending)):
                yield first + offset, await pending.popleft()
        finally:
            for task in pending:
                task.cancel()
            for task in pending:
                with contextlib.suppress(BaseException):
                    await task

    async def _tile(self, key: TileKey) -> ExportedTile:
        world, request = self.world, self.request
        loop = asyncio.get_running_loop()
        pool, data_dir = self.worlds.pool, str(self.worlds.data_dir)
        job = ("export", world.id, key, request.tile_format, request.spz_version)
        return await self.worlds.scheduler.run(
            job,
            lambda: loop.run_in_executor(
                pool,
                make_tile,
                data_dir,
                world.prepared_sha256,
                world.generator,
                key,
                request.tile_format,
                request.spz_version,
            ),
            EXPORT_PRIORITY,
        )


async def plan_export(
    worlds: Worlds, world_id: str, request: ExportRequest, origin: manifests.Origin | None = None
) -> ExportPlan:
    """The export of ``request`` from world ``world_id``: NotFoundError for an unknown world,
    InvalidRequestError for a request it cannot do. Nothing is made yet."""
    world = await worlds.get_world(world_id)
    request.check(world.spec.base_tile_m)
    keys = tuple(request.region.keys(request.lod, world.spec.base_tile_m))
    return ExportPlan(worlds, world, request, keys, origin or manifests.Origin())
