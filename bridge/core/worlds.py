"""The transport-free core of the server: worlds and their tiles, made once and kept.

Every transport (gRPC, HTTP/WebSocket) is a thin adapter over this class. It owns the store and
the worker pool; it never blocks the event loop (SQLite and file reads go to threads, generation
to worker processes through the shared scheduler), and it generates each missing tile once
however many callers want it.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib.metadata
import json
import logging
import math
import os
import sqlite3
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Generic, TypeVar

from bridge.core.errors import DamagedDataError, InvalidRequestError, NotFoundError, ServiceError, store_write_error
from bridge.core.scheduler import URGENT, Claim, Scheduler
from bridge.core.sessions import Sessions
from bridge.core.slots import StreamSlots
from bridge.formats import FORMATS
from bridge.generate import workers
from bridge.generate.base import GeneratorOptions, SourceGenerator
from bridge.generate.directives import glb
from bridge.generate.directives.apply import glb_footprint
from bridge.generate.registry import generator_for, load_generator
from bridge.generate.scene.cameras import check_spawn
from bridge.generate.scene.source import SceneError
from bridge.stream.messages import HeldTileClaim
from bridge.stream.session import HeldTile
from bridge.world.camera import Camera
from bridge.world.directives import (
    Directive,
    DirectiveError,
    DirectiveState,
    LogEntry,
    directives_json,
    parse_directive,
)
from bridge.world.grid import TileGrid
from bridge.world.keys import TileKey, tile_at
from bridge.world.photos import MAX_PHOTO_BYTES, PhotoError, inspect_photo, photo_sha256
from bridge.world.spec import WorldSpec
from bridge.world.store import AssetRow, DamagedBlobError, DirectiveRow, TileRow, WorldRow, WorldStore

log = logging.getLogger(__name__)

MIN_BASE_TILE_M = 4.0
MAX_BASE_TILE_M = 256.0
# An imported scene's metres per unit: millimetre to kilometre units, and no further.
MIN_SCENE_SCALE = 1e-3
MAX_SCENE_SCALE = 1e3
DEFAULT_BASE_TILE_M = GeneratorOptions().base_tile_m  # one default, the generators'
DEFAULT_BLOB_CACHE_BYTES = 64 * 1024 * 1024  # tile bytes kept in memory for warm-world serving
MAX_CACHED_TILE_ROWS = 200_000  # ~300 bytes each

K = TypeVar("K")
V = TypeVar("V")


@dataclass(frozen=True)
class Tile:
    row: TileRow
    data: bytes


@dataclass(frozen=True)
class DirectiveChange:
    """A new version of a world's directives, as streams hear of it."""

    world_id: str
    version: int
    directive_id: int
    changed: Callable[[TileKey], bool]  # did this tile's content change (its stamp)?


@dataclass(frozen=True)
class DirectiveResult:
    version: int  # the world's directive version after the call
    directive_id: int  # applied or reverted
    touched_tiles: int  # LOD 0 tiles whose content changed (their coarser parents change too)
    notes: tuple[str, ...]  # what the caller should know: pinned tiles left as they were


@dataclass(frozen=True)
class GlbUpload:
    """An uploaded GLB, filed as the world's asset ``glb-<sha256>``."""

    sha256: str
    size: int
    triangles: int
    extent_m: tuple[float, float, float]  # its bounding box at scale 1: x, y (height), z


@dataclass(frozen=True)
class DirectiveListing:
    version: int
    entries: list[LogEntry]
    active: list[int]


def world_id_for(photo_sha: str, generator: str, version: str, options: GeneratorOptions) -> str:
    identity = json.dumps(
        {
            "photo": photo_sha,
            "generator": generator,
            "version": version,
            "base": options.base_tile_m,
            "seed": options.seed,
            # Only when given: worlds made without a scale or spawn keep the ids they always had.
            **({"scene_scale": options.scene_scale} if options.scene_scale else {}),
            **({"scene_spawn": list(options.scene_spawn)} if options.scene_spawn else {}),
        },
        sort_keys=True,
    )
    return hashlib.sha256(identity.encode()).hexdigest()[:32]


class _Lru(Generic[K, V]):
    """A small LRU map bounded by entry count and, optionally, by the summed ``weight`` of values."""

    def __init__(self, max_entries: int, max_weight: int = 0, weight: Callable[[V], int] = lambda _: 0) -> None:
        self._items: OrderedDict[K, V] = OrderedDict()
        self._max_entries = max_entries
        self._max_weight = max_weight
        self._weight = weight
        self.total_weight = 0

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        w = self._weight(value)
        if self._max_weight and w > self._max_weight // 4:
            return  # one huge value must not flush everything else
        old = self._items.pop(key, None)
        if old is not None:
            self.total_weight -= self._weight(old)
        self._items[key] = value
        self.total_weight += w
        while len(self._items) > self._max_entries or (self._max_weight and self.total_weight > self._max_weight):
            _, evicted = self._items.popitem(last=False)
            self.total_weight -= self._weight(evicted)

    def __len__(self) -> int:
        return len(self._items)


class Worlds:
    """Worlds and tiles for every transport. Generation goes through one shared :class:`Scheduler`
    (``concurrency`` slots, one per worker process), so a tile wanted by many viewers is made once
    and the most urgent tile of any viewer is made first."""

    def __init__(
        self,
        store: WorldStore,
        pool: Executor,
        concurrency: int | None = None,
        blob_cache_bytes: int = DEFAULT_BLOB_CACHE_BYTES,
    ) -> None:
        self.store = store
        self.pool = pool
        slots = concurrency or _pool_size(pool)
        self.scheduler: Scheduler[Any] = Scheduler(slots)
        # Preparing a world holds a worker for seconds; with more than one worker, one is always
        # left to tiles, so worlds being created never stop other worlds' streams.
        self._preparing = asyncio.Semaphore(max(1, slots - 1))
        # Worlds and tile rows never change once stored (a tile row is per version), so caching
        # them saves a thread hop and an SQLite query per tile on the hot, warm-world path.
        self._worlds: _Lru[str, WorldRow] = _Lru(1024)
        self._rows: _Lru[tuple[str, TileKey, str, int], TileRow] = _Lru(MAX_CACHED_TILE_ROWS)
        self._blobs: _Lru[str, bytes] = _Lru(1 << 20, blob_cache_bytes, len)
        self._splats_per_edge: dict[str, int] = {}  # by backend name
        self.tiles_generated = 0
        self.stream_slots = StreamSlots()  # streams open now, by client; bridge.core.pump keeps it
        self.sessions = Sessions()  # what each stream's viewer holds, for resuming
        # Each world's directive log (loaded with the world); a tile's row is filed under its stamp.
        self._directives: dict[str, DirectiveState] = {}
        self._directive_locks: dict[str, asyncio.Lock] = {}
        self._watchers: dict[str, set[Callable[[DirectiveChange], None]]] = {}

    @property
    def data_dir(self) -> Path:
        return self.store.root

    async def close(self) -> None:
        """Refuse queued work and wait for running jobs; call before shutting the pool down."""
        await self.scheduler.close()

    # -- worlds ------------------------------------------------------------------------------

    async def create_world(
        self, photo: bytes, name: str = "", generator: str = "", options: GeneratorOptions | None = None
    ) -> tuple[WorldRow, bool]:
        """Make a world from a photo (or a splat scene: ``generator`` empty picks ``import`` for
        one), or return the same one again; (world, created)."""
        options = options or GeneratorOptions()
        if not MIN_BASE_TILE_M <= options.base_tile_m <= MAX_BASE_TILE_M:
            raise InvalidRequestError(
                f"base_tile_m {options.base_tile_m} outside [{MIN_BASE_TILE_M}, {MAX_BASE_TILE_M}]"
            )
        try:
            backend = load_generator(generator_for(photo[:4096], generator))
        except LookupError as exc:
            raise InvalidRequestError(str(exc)) from exc
        check_scene_options(options, isinstance(backend, SourceGenerator))
        # The headers are checked here, against every limit, before any pixel is decoded; a
        # re-upload then finds its world without decoding at all. The one full decode happens in
        # the worker that prepares the world (a damaged image is refused from there).
        source = isinstance(backend, SourceGenerator)  # a splat scene: the backend knows its limits
        if not source and len(photo) > MAX_PHOTO_BYTES:
            raise InvalidRequestError(f"the photo is {len(photo)} bytes; at most {MAX_PHOTO_BYTES} are accepted")
        try:
            await asyncio.to_thread(backend.check_source if source else inspect_photo, photo)
        except (PhotoError, SceneError) as exc:
            raise InvalidRequestError(str(exc)) from exc
        sha = await asyncio.to_thread(photo_sha256, photo)
        world_id = world_id_for(sha, backend.name, backend.version, options)
        existing = await asyncio.to_thread(self.store.get_world, world_id)
        if existing:
            return existing, False
        async with self._preparing:
            # Looked up again: a request for the same world may have prepared it meanwhile.
            existing = await asyncio.to_thread(self.store.get_world, world_id)
            if existing:
                return existing, False
            # Preparing goes through the scheduler ahead of any tile: it holds a worker while it
            # runs, and concurrent requests for the same world share one preparation.
            return await self.scheduler.run(
                ("prepare", world_id),
                lambda: self._prepare(world_id, photo, sha, name, backend.name, backend.version, options),
                URGENT,
            )

    async def _prepare(
        self, world_id: str, photo: bytes, sha: str, name: str, generator: str, version: str, options: GeneratorOptions
    ) -> tuple[WorldRow, bool]:
        started = time.perf_counter()
        loop = asyncio.get_running_loop()
        try:
            result = await loop.run_in_executor(
                self.pool, workers.prepare_world, str(self.data_dir), photo, generator, options
            )
        except (PhotoError, SceneError) as exc:  # damage only a full read finds
            raise InvalidRequestError(str(exc)) from exc
        row = WorldRow(
            id=world_id,
            name=name or f"world-{world_id[:8]}",
            photo_sha256=sha,
            generator=generator,
            generator_version=version,
            spec=WorldSpec(
                options.base_tile_m,
                options.seed,
                Camera.from_json(result.spawn),
                result.photo_size,
                options.scene_scale,
                options.scene_spawn,
            ),
            prepared_sha256=result.prepared_sha256,
            created_unix_ms=int(time.time() * 1000),
        )
        assets = [AssetRow(n, s, m) for n, (s, m) in sorted(result.assets.items())]
        created = await asyncio.to_thread(self.store.add_world, row, assets)
        log.info("world prepared", extra={"world_id": world_id, "seconds": round(time.perf_counter() - started, 3)})
        return (row if created else await self.get_world(world_id)), created

    async def get_world(self, world_id: str) -> WorldRow:
        row = self._worlds.get(world_id)
        if row is None:
            row = await asyncio.to_thread(self.store.get_world, world_id)
            if row is None:
                raise NotFoundError(f"no world with id {world_id!r}")
            if world_id not in self._directives:
                log_rows = await asyncio.to_thread(self.store.list_directives, world_id)
                self._directives.setdefault(world_id, _state_from_rows(row.spec.base_tile_m, log_rows))
            self._worlds.put(world_id, row)
        return row

    # -- directives --------------------------------------------------------------------------

    def directive_state(self, world_id: str) -> DirectiveState | None:
        """The world's directives, once :meth:`get_world` has loaded it (None before)."""
        return self._directives.get(world_id)

    def watch(self, world_id: str, callback: Callable[[DirectiveChange], None]) -> Callable[[], None]:
        """Call ``callback`` on every new directive version of ``world_id``; returns the unsubscribe."""
        self._watchers.setdefault(world_id, set()).add(callback)

        def stop() -> None:
            watchers = self._watchers.get(world_id)
            if watchers is not None:
                watchers.discard(callback)
                if not watchers:
                    del self._watchers[world_id]

        return stop

    async def apply_directive(self, world_id: str, directive: object) -> DirectiveResult:
        """Validate and store a directive (a dict or its JSON); streams on the world re-send what it changed."""
        try:
            parsed = parse_directive(directive)
        except DirectiveError as exc:
            raise InvalidRequestError(str(exc)) from exc
        if parsed.kind == "place" and "glb" in parsed.params:
            await self._check_glb_place(world_id, parsed)
        return await self._change(world_id, "apply", 0, parsed)

    async def upload_glb(self, world_id: str, data: bytes) -> GlbUpload:
        """Check a GLB (size, format, meshes, triangles, finite vertices) and file it under the
        world; the same bytes again answer the same. A GLB refused stores nothing."""
        await self.get_world(world_id)
        try:
            model = await asyncio.to_thread(glb.load_glb, data)
        except glb.GlbError as exc:
            raise InvalidRequestError(str(exc)) from exc
        sha = await asyncio.to_thread(self.store.blobs.put, data)
        asset = AssetRow(f"glb-{sha}", sha, glb.MEDIA_TYPE)
        await asyncio.to_thread(self.store.add_asset, world_id, asset)
        lo, hi = model.bounds()
        extent = tuple(float(v) for v in hi - lo)
        return GlbUpload(sha, len(data), model.triangles, (extent[0], extent[1], extent[2]))

    async def _check_glb_place(self, world_id: str, directive: Directive) -> None:
        """The GLB was uploaded to this world, and the model, scaled and turned, stands inside the region."""
        await self.get_world(world_id)
        sha = directive.params["glb"]
        if await asyncio.to_thread(self.store.get_asset, world_id, f"glb-{sha}") is None:
            raise InvalidRequestError(f"no GLB {sha} was uploaded to world {world_id}; upload it first")
        data = await self.blob(sha)
        model = await asyncio.to_thread(glb.MODELS.model, sha, lambda _: data)
        scale = float(directive.params.get("scale", 1.0))
        lo, hi = model.bounds()
        size = float((hi - lo).max()) * scale
        if size > glb.MAX_EXTENT_M:
            raise InvalidRequestError(f"the model at scale {scale} is {size:.0f} m; at most {glb.MAX_EXTENT_M:.0f} m")
        x, z = glb_footprint(directive, model.footprint_xz(scale))
        outside = float(directive.region.distance(x, z).max())
        if outside > 0.5:
            raise InvalidRequestError(
                f"the model ({(hi - lo)[0] * scale:.1f} x {(hi - lo)[2] * scale:.1f} m at scale {scale}) reaches "
                f"{outside:.1f} m outside the region; widen the region or lower the scale"
            )

    async def revert_directive(self, world_id: str, directive_id: int) -> DirectiveResult:
        """Undo a directive as a new version: its tiles return to the bytes they had without it."""
        return await self._change(world_id, "revert", directive_id, None)

    async def list_directives(self, world_id: str) -> DirectiveListing:
        await self.get_world(world_id)
        state = self._directives[world_id]
        return DirectiveListing(state.version, list(state.entries), sorted(state.active()))

    async def _change(self, world_id: str, op: str, target: int, directive: Directive | None) -> DirectiveResult:
        world = await self.get_world(world_id)
        async with self._directive_locks.setdefault(world_id, asyncio.Lock()):
            old = self._directives[world_id]
            version = old.version + 1
            if op == "revert":
                try:
                    old.check_revert(target)
                except DirectiveError as exc:
                    raise InvalidRequestError(str(exc)) from exc
                subject = old.active()[target]
            else:
                assert directive is not None
                target, subject = version, directive
            entry = LogEntry(version, op, target, directive, int(time.time() * 1000))
            new = DirectiveState(old.base_tile_m, [*old.entries])
            try:
                new.append(entry)
            except DirectiveError as exc:
                raise InvalidRequestError(str(exc)) from exc
            pinned = old.pinned_under(subject) if op == "apply" else []
            text = json.dumps(directive.to_json(), sort_keys=True) if directive is not None else ""
            await asyncio.to_thread(
                self.store.append_directive, world_id, DirectiveRow(version, op, target, text, entry.created_unix_ms)
            )
            self._directives[world_id] = new

            def changed(key: TileKey) -> bool:
                return subject.touches(key, old.base_tile_m) and old.stamp(key) != new.stamp(key)

            # Streams hear of it at once, before anything else runs on the loop: none sends a
            # tile of the old content after the new version is in effect without being told.
            change = DirectiveChange(world.id, version, target, changed)
            for callback in list(self._watchers.get(world_id, ())):
                callback(change)
            touched = await asyncio.to_thread(_count_lod0, subject, old.base_tile_m, changed)
        notes = ()
        if pinned:
            notes = (f"{len(pinned)} pinned LOD 0 tiles left unchanged: {', '.join(map(str, pinned[:8]))}",)
        return DirectiveResult(version, target, touched, notes)

    def grid(self, world: WorldRow) -> TileGrid:
        """The world's tiling: its base edge, and the splats per edge its backend declares."""
        splats = self._splats_per_edge.get(world.generator)
        if splats is None:
            splats = self._splats_per_edge[world.generator] = load_generator(world.generator).splats_per_tile_edge
        return TileGrid(world.spec.base_tile_m, splats)

    async def list_worlds(self, limit: int, offset: int) -> list[WorldRow]:
        return await asyncio.to_thread(self.store.list_worlds, limit, offset)

    async def asset(self, world_id: str, name: str) -> tuple[AssetRow, bytes]:
        await self.get_world(world_id)
        row = await asyncio.to_thread(self.store.get_asset, world_id, name)
        if row is None:
            names = [a.name for a in await asyncio.to_thread(self.store.list_assets, world_id)]
            raise NotFoundError(f"world {world_id} has no asset {name!r}; it has {', '.join(names)}")
        return row, await self.blob(row.sha256)

    async def blob(self, sha256: str) -> bytes:
        """Stored bytes by content hash (a bounded in-memory cache in front of the blob folder),
        checked against the hash on every read from disk. A tile's blob found damaged or missing
        is made again (tiles are pure functions of their world and key); any other is an error."""
        data = self._blobs.get(sha256)
        if data is None:
            try:
                data = await asyncio.to_thread(self.store.blobs.get, sha256)
            except DamagedBlobError as exc:
                log.error("damaged blob", extra={"sha256": sha256, "reason": str(exc)})
                data = await self._remake(sha256, DamagedDataError(str(exc)))
            except FileNotFoundError:
                data = await self._remake(sha256, NotFoundError(f"no blob {sha256!r}"))
            except ValueError as exc:
                raise NotFoundError(f"no blob {sha256!r}") from exc
            self._blobs.put(sha256, data)
        return data

    async def _remake(self, sha256: str, failure: ServiceError) -> bytes:
        """The bytes of the tile whose blob this was, generated again and stored; ``failure``
        when no tile names the blob (an asset, or an unknown hash), DamagedDataError when the
        tile no longer comes out the same."""
        named = await asyncio.to_thread(self.store.tile_naming, sha256)
        if named is None:
            raise failure
        world_id, row = named
        world = await self.get_world(world_id)
        state = self._directives.get(world_id)
        stamp, directives = state.effective(row.key) if state is not None else (0, ())
        if stamp != row.version:  # made under directives no longer in effect: nothing to make it from
            raise failure
        made = await self.scheduler.run(
            ("remake", world_id, row.key, row.format, stamp),
            lambda: self._generate(world, row.key, row.format, stamp, [d for _, d in directives]),
            URGENT,
        )
        if made.sha256 != sha256:
            raise DamagedDataError(f"{failure}; tile {row.key} made again has other bytes ({made.sha256})")
        log.warning("tile made again", extra={"world_id": world_id, "key": str(row.key), "sha256": sha256})
        return await asyncio.to_thread(self.store.blobs.get, sha256)

    # -- tiles -------------------------------------------------------------------------------

    async def tile(self, world_id: str, key: TileKey, fmt: str, priority: float = 0.0) -> Tile:
        """The tile's bytes, generating and storing them first if this is their first request."""
        row = await self.tile_row(world_id, key, fmt, priority)
        return Tile(row, await self.blob(row.sha256))

    async def tile_row(self, world_id: str, key: TileKey, fmt: str, priority: float = 0.0) -> TileRow:
        """One tile's index row, made if missing. ``priority``: lower is more urgent (see
        :meth:`claim_tile`). Cancelling the call withdraws its claim on the generation."""
        check_format(fmt)
        row = self.cached_tile_row(world_id, key, fmt)
        if row is not None:
            return row
        world = await self.get_world(world_id)
        return await self.claim_tile(world, key, fmt, priority).wait()

    def stamp(self, world_id: str, key: TileKey) -> int:
        """The tile's directive stamp now (0: no directive in effect on it; see bridge.world.directives)."""
        state = self._directives.get(world_id)
        return state.stamp(key) if state is not None else 0

    def cached_tile_row(self, world_id: str, key: TileKey, fmt: str) -> TileRow | None:
        """The row if this process has seen it already: no I/O, no waiting."""
        return self._rows.get((world_id, key, fmt, self.stamp(world_id, key)))

    def claim_tile(self, world: WorldRow, key: TileKey, fmt: str, priority: float) -> Claim[TileRow]:
        """Ask for a tile without waiting: the store is asked at once; a missing tile queues for
        generation behind more urgent ones (lower ``priority``: streams use the viewer's distance
        to it in metres, one-off requests 0). Release the claim when the tile is no longer wanted."""
        state = self._directives.get(world.id)
        stamp, directives = state.effective(key) if state is not None else (0, ())
        job = (world.id, key, fmt, stamp)
        return self.scheduler.claim(
            job,
            lambda: self._generate(world, key, fmt, stamp, [d for _, d in directives]),
            priority,
            probe=lambda: self._lookup(world.id, key, fmt, stamp),
        )

    async def held_tiles(self, world_id: str, claims: list[HeldTileClaim]) -> dict[TileKey, HeldTile]:
        """Of the tiles a viewer says it holds, those whose bytes are still the stored tile's."""

        def look_up() -> dict[TileKey, HeldTile]:
            held = {}
            for claim in claims:
                if claim.format not in FORMATS:
                    continue
                row = self.cached_tile_row(world_id, claim.key, claim.format) or self.store.get_tile(
                    world_id, claim.key, claim.format, self.stamp(world_id, claim.key)
                )
                if row is not None and row.sha256 == claim.sha256:
                    held[claim.key] = HeldTile(row.size, row.splat_count, True, claim.format, row.sha256)
            return held

        return await asyncio.to_thread(look_up)

    async def _lookup(self, world_id: str, key: TileKey, fmt: str, stamp: int) -> TileRow | None:
        row = await asyncio.to_thread(self.store.get_tile, world_id, key, fmt, stamp)
        if row is not None:
            self._rows.put((world_id, key, fmt, stamp), row)
        return row

    async def _generate(
        self, world: WorldRow, key: TileKey, fmt: str, stamp: int, directives: list[Directive]
    ) -> TileRow:
        loop = asyncio.get_running_loop()
        args = (str(self.data_dir), world.prepared_sha256, world.generator, key, fmt)
        # The directives go along only where there are some: a plain tile's job is what it always was.
        extra = (directives_json(directives),) if directives else ()
        try:
            result = await loop.run_in_executor(self.pool, workers.generate_tile, *args, *extra)
            row = TileRow(key, fmt, stamp, result.sha256, result.size, result.splat_count)
            await asyncio.to_thread(self.store.put_tile, world.id, row)
        except (OSError, sqlite3.Error) as exc:
            # The blob's write (in the worker) or the index row's failed: the store wrote nothing
            # half-way (temporary blob removed, transaction rolled back). A full disk says so.
            failed = store_write_error(exc)
            if failed is None:
                raise
            raise failed from exc
        self._rows.put((world.id, key, fmt, stamp), row)
        self.tiles_generated += 1
        return row


def _state_from_rows(base_tile_m: float, rows: list[DirectiveRow]) -> DirectiveState:
    entries = [LogEntry(r.version, r.op, r.target, _parsed(r), r.created_unix_ms) for r in rows]
    return DirectiveState(base_tile_m, entries)


def _parsed(row: DirectiveRow) -> Directive | None:
    return parse_directive(row.directive_json) if row.op == "apply" else None


def _count_lod0(directive: Directive, base_tile_m: float, changed: Callable[[TileKey], bool]) -> int:
    """LOD 0 tiles under ``directive``'s reach whose content ``changed``."""
    x0, z0, x1, z1 = directive.region.bbox()
    reach = directive.reach_m()
    a = tile_at(x0 - reach, z0 - reach, 0, base_tile_m)
    b = tile_at(x1 + reach, z1 + reach, 0, base_tile_m)
    return sum(changed(TileKey(0, ix, iz)) for iz in range(a.iz, b.iz + 1) for ix in range(a.ix, b.ix + 1))


def check_scene_options(options: GeneratorOptions, scene: bool) -> None:
    """InvalidRequestError unless the options for imported scenes (scale, spawn) are unset or, for
    a splat scene, sane."""
    check_scene_scale(options.scene_scale, scene)
    if not options.scene_spawn:
        return
    if not scene:
        raise InvalidRequestError(
            "scene_spawn is for imported splat scenes (.ply, .spz); a photo's spawn is its own camera"
        )
    try:
        check_spawn(options.scene_spawn)
    except ValueError as exc:
        raise InvalidRequestError(str(exc)) from exc


def check_scene_scale(scale: float, scene: bool) -> None:
    """InvalidRequestError unless ``scale`` is 0 (not given) or, for a splat scene, a sane number
    of metres per scene unit."""
    if scale == 0:
        return
    if not scene:
        raise InvalidRequestError(
            f"scene_scale {scale:g} is for imported splat scenes (.ply, .spz); a photo's scale comes from its camera"
        )
    if not (math.isfinite(scale) and MIN_SCENE_SCALE <= scale <= MAX_SCENE_SCALE):
        raise InvalidRequestError(
            f"scene_scale {scale:g} outside [{MIN_SCENE_SCALE:g}, {MAX_SCENE_SCALE:g}] metres per scene unit"
        )


def server_version() -> str:
    """The installed worldbridge package's version (what a hello reports)."""
    try:
        return importlib.metadata.version("worldbridge")
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


def check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise InvalidRequestError(f"unknown tile format {fmt!r}; known: {', '.join(FORMATS)}")


def _pool_size(pool: Executor) -> int:
    # ProcessPoolExecutor keeps its size private; fall back to the core count for other executors.
    size = getattr(pool, "_max_workers", None)
    return int(size) if isinstance(size, int) and size > 0 else max(1, os.cpu_count() or 1)
