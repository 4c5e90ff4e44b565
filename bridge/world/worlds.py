"""The transport-free core of the server: worlds and their tiles, made once and kept.

Every transport (gRPC, HTTP/WebSocket) is a thin adapter over this class. It owns the store and
the worker pool; it never blocks the event loop (SQLite and file reads go to threads, generation
to worker processes), and it generates each missing tile once however many callers want it.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import time
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

from bridge.formats import FORMATS
from bridge.generate import workers
from bridge.generate.base import GeneratorOptions
from bridge.generate.registry import load_generator
from bridge.world.keys import TileKey
from bridge.world.photos import MAX_PHOTO_BYTES, PhotoError, decode_photo, photo_sha256
from bridge.world.store import AssetRow, TileRow, WorldRow, WorldStore

log = logging.getLogger(__name__)

MIN_BASE_TILE_M = 4.0
MAX_BASE_TILE_M = 256.0
DEFAULT_BASE_TILE_M = 32.0


class NotFoundError(LookupError):
    """The named world, tile or asset does not exist."""


class InvalidRequestError(ValueError):
    """The request is malformed; the message says what to fix."""


@dataclass(frozen=True)
class Tile:
    row: TileRow
    data: bytes


def world_id_for(photo_sha: str, generator: str, version: str, options: GeneratorOptions) -> str:
    identity = json.dumps(
        {
            "photo": photo_sha,
            "generator": generator,
            "version": version,
            "base": options.base_tile_m,
            "seed": options.seed,
        },
        sort_keys=True,
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


class Worlds:
    def __init__(self, store: WorldStore, pool: Executor) -> None:
        self.store = store
        self.pool = pool
        self._inflight: dict[tuple[str, TileKey, str], asyncio.Future[TileRow]] = {}
        self._creating: dict[str, asyncio.Future[tuple[WorldRow, bool]]] = {}
        self.tiles_generated = 0

    @property
    def data_dir(self) -> Path:
        return self.store.root

    # -- worlds ------------------------------------------------------------------------------

    async def create_world(
        self, photo: bytes, name: str = "", generator: str = "", options: GeneratorOptions | None = None
    ) -> tuple[WorldRow, bool]:
        """Make a world from a photo, or return the same one again; (world, created)."""
        options = options or GeneratorOptions()
        if not MIN_BASE_TILE_M <= options.base_tile_m <= MAX_BASE_TILE_M:
            raise InvalidRequestError(
                f"base_tile_m {options.base_tile_m} outside [{MIN_BASE_TILE_M}, {MAX_BASE_TILE_M}]"
            )
        if len(photo) > MAX_PHOTO_BYTES:
            raise InvalidRequestError(f"the photo is {len(photo)} bytes; at most {MAX_PHOTO_BYTES} are accepted")
        try:
            backend = load_generator(generator)
        except LookupError as exc:
            raise InvalidRequestError(str(exc)) from exc
        # Validate here, in the server, so a bad photo is refused before any worker runs.
        try:
            await asyncio.to_thread(decode_photo, photo)
        except PhotoError as exc:
            raise InvalidRequestError(str(exc)) from exc
        sha = photo_sha256(photo)
        world_id = world_id_for(sha, backend.name, backend.version, options)
        existing = await asyncio.to_thread(self.store.get_world, world_id)
        if existing:
            return existing, False
        pending = self._creating.get(world_id)
        if pending is None:
            pending = asyncio.ensure_future(
                self._prepare(world_id, photo, sha, name, backend.name, backend.version, options)
            )
            self._creating[world_id] = pending
            pending.add_done_callback(lambda _: self._creating.pop(world_id, None))
        return await asyncio.shield(pending)

    async def _prepare(
        self, world_id: str, photo: bytes, sha: str, name: str, generator: str, version: str, options: GeneratorOptions
    ) -> tuple[WorldRow, bool]:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self.pool, workers.prepare_world, str(self.data_dir), photo, generator, options
        )
        row = WorldRow(
            id=world_id,
            name=name or f"world-{world_id[:8]}",
            photo_sha256=sha,
            generator=generator,
            generator_version=version,
            spec={
                "options": {"base_tile_m": options.base_tile_m, "seed": options.seed},
                "spawn": result.spawn,
                "photo_size": list(result.photo_size),
            },
            prepared_sha256=result.prepared_sha256,
            created_unix_ms=int(time.time() * 1000),
        )
        assets = [AssetRow(n, s, m) for n, (s, m) in sorted(result.assets.items())]
        created = await asyncio.to_thread(self.store.add_world, row, assets)
        log.info("world prepared", extra={"world_id": world_id, "seconds": round(time.perf_counter() - started, 3)})
        return (row if created else await self.get_world(world_id)), created

    async def get_world(self, world_id: str) -> WorldRow:
        row = await asyncio.to_thread(self.store.get_world, world_id)
        if row is None:
            raise NotFoundError(f"no world with id {world_id!r}")
        return row

    async def list_worlds(self, limit: int, offset: int) -> list[WorldRow]:
        return await asyncio.to_thread(self.store.list_worlds, limit, offset)

    async def asset(self, world_id: str, name: str) -> tuple[AssetRow, bytes]:
        await self.get_world(world_id)
        row = await asyncio.to_thread(self.store.get_asset, world_id, name)
        if row is None:
            names = [a.name for a in await asyncio.to_thread(self.store.list_assets, world_id)]
            raise NotFoundError(f"world {world_id} has no asset {name!r}; it has {', '.join(names)}")
        return row, await asyncio.to_thread(self.store.blobs.get, row.sha256)

    # -- tiles -------------------------------------------------------------------------------

    async def tile(self, world_id: str, key: TileKey, fmt: str) -> Tile:
        """The tile's bytes, generating and storing them first if this is their first request."""
        row = await self.tile_row(world_id, key, fmt)
        return Tile(row, await asyncio.to_thread(self.store.blobs.get, row.sha256))

    async def tile_row(self, world_id: str, key: TileKey, fmt: str) -> TileRow:
        if fmt not in FORMATS:
            raise InvalidRequestError(f"unknown tile format {fmt!r}; known: {', '.join(FORMATS)}")
        world = await self.get_world(world_id)
        row = await asyncio.to_thread(self.store.get_tile, world_id, key, fmt)
        if row is not None:
            return row
        job = (world_id, key, fmt)
        pending = self._inflight.get(job)
        if pending is None:
            pending = asyncio.ensure_future(self._generate(world, key, fmt))
            self._inflight[job] = pending
            pending.add_done_callback(lambda _: self._inflight.pop(job, None))
        return await asyncio.shield(pending)

    async def _generate(self, world: WorldRow, key: TileKey, fmt: str) -> TileRow:
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self.pool, workers.generate_tile, str(self.data_dir), world.prepared_sha256, world.generator, key, fmt
        )
        row = TileRow(key, fmt, 0, result.sha256, result.size, result.splat_count)
        await asyncio.to_thread(self.store.put_tile, world.id, row)
        self.tiles_generated += 1
        return row


def options_from_spec(world: WorldRow) -> GeneratorOptions:
    return GeneratorOptions(**world.spec["options"])
