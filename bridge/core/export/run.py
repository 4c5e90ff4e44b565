"""An export as the core runs it for every transport: check, make the tiles, name the files.

:func:`plan_export` checks the request against the world (raising before anything is made);
:meth:`ExportPlan.events` then makes the tiles in the worker pool, at a priority below every
viewer's tiles, and yields progress and files in a fixed order: the tile files in key order (or,
merged, the one file for the region once every tile is made), then (3D Tiles) ``tileset.json``,
``PROVENANCE.txt`` and last ``manifest.json``. Only a window of tiles is in memory at a time
(merged: every tile's splats or mesh, up to the merge limits).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

from bridge.core.errors import InvalidRequestError
from bridge.core.export import manifest as manifests
from bridge.core.export.directed import ExportDirectives
from bridge.core.export.request import MERGED_NAME, ExportRequest
from bridge.core.export.tiles import ExportedTile, MergePart, make_part, make_tile
from bridge.core.tiles3d_live import SPLAT_EXTENSIONS
from bridge.core.worlds import Worlds, server_version
from bridge.formats import file_format
from bridge.formats.glb_mesh import encode_glb_meshes
from bridge.formats.gltf_splats import encode_gltf_splats
from bridge.formats.gltf_spz import encode_gltf_spz
from bridge.formats.ply import encode_ply
from bridge.formats.splats import SplatCloud
from bridge.formats.spz import clipped_colour_values, encode_spz
from bridge.formats.tiles3d import TileEntry, build_tileset, tileset_bytes
from bridge.world.keys import TileKey
from bridge.world.store import WorldRow

# Lower is more urgent; viewers' tiles are prioritised by their distance in metres.
EXPORT_PRIORITY = 1.0e12
# One merged splat file: its parts and their concatenation, ~0.45 GB as floats while it is written.
MAX_MERGED_SPLATS = 4_000_000
T = TypeVar("T")


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


@dataclass
class _Tally:
    """What an export's files added up to, as they are made."""

    records: list[manifests.FileRecord] = field(default_factory=list)
    clipped: int = 0  # SPZ colour values clamped
    bytes: int = 0


@dataclass(frozen=True)
class ExportPlan:
    worlds: Worlds
    world: WorldRow
    request: ExportRequest
    keys: tuple[TileKey, ...]
    origin: manifests.Origin
    directives: ExportDirectives
    directed_tiles: int  # of ``keys``, those a directive changes

    async def events(self) -> AsyncIterator[ExportEvent]:
        request, world = self.request, self.world
        tally = _Tally()
        entries: list[TileEntry] = []
        yield ExportProgress(0, len(self.keys), 0)
        files = self._merged_file(tally) if request.merged else self._tile_files(tally, entries)
        async for event in files:
            yield event
        records, clipped = tally.records, tally.clipped
        extra: list[tuple[str, bytes]] = []
        if request.format == "3dtiles":
            extension = file_format(request.tile_format).extension
            grid = self.worlds.grid(world)
            tileset = build_tileset(
                entries,
                world.spec.base_tile_m,
                grid_samples=grid.splats_per_edge,
                extension=extension,
                required_gltf_extensions=SPLAT_EXTENSIONS if request.tile_format == "gltf-spz" else (),
            )
            extra.append(("tileset.json", tileset_bytes(tileset)))
        version = server_version()
        provenance = manifests.provenance_text(world, request, version, len(self.directives.applied))
        extra.append((manifests.PROVENANCE_NAME, provenance))
        for path, data in extra:
            sha = hashlib.sha256(data).hexdigest()
            records.append(manifests.FileRecord(path, sha, len(data)))
            yield ExportFile(path, data, sha)
        directives = self.directives.to_json(self.directed_tiles)
        manifest = manifests.build_manifest(
            world, request, self.origin, records, len(self.keys), clipped, version, directives
        )
        data = manifests.manifest_bytes(manifest)
        yield ExportFile(manifests.MANIFEST_NAME, data, hashlib.sha256(data).hexdigest())

    async def _tile_files(self, tally: _Tally, entries: list[TileEntry]) -> AsyncIterator[ExportEvent]:
        """A file per tile (3D Tiles: per distinct content), in key order."""
        request = self.request
        seen_content: set[str] = set()
        extension = file_format(request.tile_format).extension
        async for number, tile in self._tiles(self._tile):
            sha = hashlib.sha256(tile.data).hexdigest()
            tally.clipped += tile.clipped_colour_values
            if request.format == "3dtiles":
                path = f"content/{sha}{extension}"
                entries.append(TileEntry(tile.key, b"", tile.y_range, sha))
                fresh = sha not in seen_content  # identical tiles share one content file
                seen_content.add(sha)
            else:
                path = f"tiles/{tile.key.lod}_{tile.key.ix}_{tile.key.iz}{extension}"
                fresh = True
            if fresh:
                tally.records.append(manifests.FileRecord(path, sha, len(tile.data), str(tile.key), tile.splat_count))
                tally.bytes += len(tile.data)
                yield ExportFile(path, tile.data, sha)
            yield ExportProgress(number + 1, len(self.keys), tally.bytes)

    async def _merged_file(self, tally: _Tally) -> AsyncIterator[ExportEvent]:
        """One file for the whole region, written once every tile is made."""
        parts: list[MergePart] = []
        splats = 0
        async for number, part in self._tiles(self._part):
            parts.append(part)
            splats += part.splat_count
            if part.mesh is None and splats > MAX_MERGED_SPLATS:  # refused as soon as it is known
                raise InvalidRequestError(
                    f"the region holds over {MAX_MERGED_SPLATS} splats, the most merged into one file "
                    "(choose a smaller region, a coarser LOD, or one file per tile)"
                )
            yield ExportProgress(number + 1, len(self.keys), 0)
        # One encode of the whole region, off the event loop (seconds for a large one).
        merged = await asyncio.to_thread(merge_parts, parts, self.request, self.world.spec.base_tile_m)
        data, splats, tally.clipped = merged
        sha = hashlib.sha256(data).hexdigest()
        path = f"{MERGED_NAME}{file_format(self.request.tile_format).extension}"
        tally.records.append(manifests.FileRecord(path, sha, len(data), splats=splats))
        tally.bytes = len(data)
        yield ExportFile(path, data, sha)
        yield ExportProgress(len(self.keys), len(self.keys), tally.bytes)

    async def _tiles(self, make: Callable[[TileKey], Awaitable[T]]) -> AsyncIterator[tuple[int, T]]:
        """The tiles in key order, a few made ahead of the one yielded (as many as there are
        generation slots, twice over), so the pool stays busy and memory stays bounded."""
        window = 2 * self.worlds.scheduler.concurrency
        pending: deque[asyncio.Task[T]] = deque()
        keys = iter(enumerate(self.keys))
        try:
            for number, key in keys:
                pending.append(asyncio.ensure_future(make(key)))
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
        stamp, directives = self.directives.for_tile(key)
        job = ("export", world.id, key, request.tile_format, request.spz_version, stamp)
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
                directives,
            ),
            EXPORT_PRIORITY,
        )

    async def _part(self, key: TileKey) -> MergePart:
        world, request = self.world, self.request
        loop = asyncio.get_running_loop()
        pool, data_dir = self.worlds.pool, str(self.worlds.data_dir)
        stamp, directives = self.directives.for_tile(key)
        job = ("export-part", world.id, key, request.tile_format, stamp)
        return await self.worlds.scheduler.run(
            job,
            lambda: loop.run_in_executor(
                pool, make_part, data_dir, world.prepared_sha256, world.generator, key, request.tile_format, directives
            ),
            EXPORT_PRIORITY,
        )


def merge_parts(parts: list[MergePart], request: ExportRequest, base_tile_m: float) -> tuple[bytes, int, int]:
    """(the one file for the whole region, its splats, SPZ colour values clipped). Splat files
    hold the tiles' splats in key order (SPZ-compressed glTF too, in world coordinates); a GLB
    holds a node per tile; splat glTF's node sits at the region's (x0, 0, z0) tile corner."""
    splats = sum(p.splat_count for p in parts)
    if request.tile_format == "glb":
        return encode_glb_meshes([p.mesh for p in parts if p.mesh is not None]), splats, 0
    cloud = SplatCloud.concat([p.splats for p in parts])
    if request.tile_format == "ply":
        return encode_ply(cloud), splats, 0
    if request.tile_format == "spz":
        return encode_spz(cloud, version=request.spz_version), splats, clipped_colour_values(cloud)
    if request.tile_format == "gltf-spz":
        return encode_gltf_spz(cloud, name="region"), splats, clipped_colour_values(cloud)
    corners = np.array([p.key.bounds(base_tile_m)[:2] for p in parts])
    x0, z0 = corners.min(axis=0)
    return encode_gltf_splats(cloud, origin=(float(x0), 0.0, float(z0)), name="region"), splats, 0


async def plan_export(
    worlds: Worlds,
    world_id: str,
    request: ExportRequest,
    origin: manifests.Origin | None = None,
    directives: ExportDirectives | None = None,
) -> ExportPlan:
    """The export of ``request`` from world ``world_id`` under ``directives`` (None: the world's
    in effect now): NotFoundError for an unknown world, InvalidRequestError for a request it
    cannot do or a GLB a directive places that the data folder lacks. Nothing is made yet."""
    world = await worlds.get_world(world_id)
    base = world.spec.base_tile_m
    request.check(base)
    if directives is None:
        directives = ExportDirectives.of_world(worlds.directive_state(world_id), base)
    missing = [sha for sha in directives.glbs() if not worlds.store.blobs.exists(sha)]
    if missing:
        raise InvalidRequestError(
            f"a place directive names GLB {', '.join(missing)}, which this data folder does not hold "
            "(upload it to the world, or give it to `worldbridge export` with --glb)"
        )
    keys = tuple(request.region.keys(request.lod, base))
    directed = sum(directives.for_tile(key)[0] != 0 for key in keys)
    return ExportPlan(worlds, world, request, keys, origin or manifests.Origin(), directives, directed)
