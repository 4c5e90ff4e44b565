"""An export run on this machine, without a server: what ``worldbridge export`` does.

The same core runs it as over gRPC and HTTP: a :class:`Worlds` over a data folder (the world is
made there from the photo, or found there by id) and a pool of generation processes.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bridge.core.errors import InvalidRequestError
from bridge.core.export.directed import ExportDirectives
from bridge.core.export.folder import check_target, write_folder
from bridge.core.export.manifest import Origin
from bridge.core.export.request import ExportRequest
from bridge.core.export.run import ExportFile, ExportProgress, plan_export
from bridge.core.worlds import Worlds
from bridge.formats import format_revisions
from bridge.generate.base import GeneratorOptions
from bridge.generate.directives.glb import GlbError, load_glb
from bridge.generate.registry import load_generator
from bridge.generate.workers import make_pool
from bridge.world.photos import photo_sha256
from bridge.world.store import WorldStore

_WORLD_ID = re.compile(r"^[0-9a-f]{32}$")


@dataclass(frozen=True)
class LocalSource:
    """A photo or splat scene file, or the id of a world already in the data folder."""

    text: str
    generator: str = ""  # empty: import for a splat scene, else photo (see registry.generator_for)
    options: GeneratorOptions = field(default_factory=GeneratorOptions)

    @property
    def is_world_id(self) -> bool:
        return bool(_WORLD_ID.match(self.text)) and not Path(self.text).exists()


@dataclass(frozen=True)
class LocalExport:
    world_id: str
    files: list[ExportFile]
    seconds: float


def source_from_manifest(manifest: dict[str, Any], given: str | None) -> tuple[LocalSource, Origin, ExportDirectives]:
    """Where to rebuild a manifest's export from: ``given`` (a photo or world id) if any, else the
    photo it names if that file still has the recorded hash, else its world by id; and the
    directives it was made under (those it lists, whatever the world's log holds now)."""
    try:
        generator = manifest["generator"]
        world = manifest["world"]["options"]
        source = manifest["source"]
        options = GeneratorOptions.from_json(world)
        name, version, sha = str(generator["name"]), str(generator["version"]), str(source["photo_sha256"])
        recorded = str(source.get("photo", ""))
        world_id = str(source["world_id"])
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidRequestError(f"the manifest is malformed: {exc!r}") from exc
    try:
        installed = load_generator(name).version
    except LookupError as exc:
        raise InvalidRequestError(str(exc)) from exc
    if installed != version:
        raise InvalidRequestError(
            f"the manifest was made by generator {name} {version}; this install has {installed}, "
            "whose tiles may differ: install that version to rebuild the same bytes"
        )
    source = LocalSource(given or (recorded if recorded and Path(recorded).is_file() else world_id), name, options)
    if source.is_world_id and source.text != world_id:
        raise InvalidRequestError(f"world {source.text} is not the manifest's world {world_id}")
    if not source.is_world_id and photo_sha256(Path(source.text).read_bytes()) != sha:
        raise InvalidRequestError(f"{source.text} is not the manifest's photo (sha256 {sha})")
    directives = ExportDirectives.from_manifest(manifest.get("directives"), options.base_tile_m)
    return source, Origin(photo=recorded), directives


async def _export(
    data_dir: Path,
    workers: int,
    source: LocalSource,
    request: ExportRequest,
    origin: Origin,
    out: Path,
    progress: Callable[[ExportProgress], None] | None,
    directives: ExportDirectives | None,
    glbs: list[bytes],
) -> LocalExport:
    loop = asyncio.get_running_loop()
    started = loop.time()
    pool = make_pool(workers)
    worlds = Worlds(WorldStore(data_dir, format_revisions()), pool, concurrency=workers)
    try:
        if source.is_world_id:
            world_id = source.text
        else:
            photo = await asyncio.to_thread(Path(source.text).read_bytes)
            world_id = (await worlds.create_world(photo, generator=source.generator, options=source.options))[0].id
        for glb in glbs:  # checked already; place directives read them from the blobs by sha256
            await asyncio.to_thread(worlds.store.blobs.put, glb)
        plan = await plan_export(worlds, world_id, request, origin, directives)
        files = await write_folder(plan.events(), out, progress)
    finally:
        await worlds.close()
        pool.shutdown(cancel_futures=True)
    return LocalExport(world_id, files, loop.time() - started)


def run_local_export(
    data_dir: Path,
    workers: int,
    source: LocalSource,
    request: ExportRequest,
    out: Path,
    origin: Origin | None = None,
    progress: Callable[[ExportProgress], None] | None = None,
    directives: ExportDirectives | None = None,
    glbs: list[bytes] | None = None,
) -> LocalExport:
    """Check everything that can be checked without the world, then export into ``out`` under
    ``directives`` (None: the world's own). ``glbs``: GLB files place directives may name."""
    request.check(source.options.base_tile_m)
    check_target(out)
    if not source.is_world_id and not Path(source.text).is_file():
        raise InvalidRequestError(f"{source.text} is neither a photo file nor a world id (32 hex digits)")
    for glb in glbs or []:
        try:
            load_glb(glb)
        except GlbError as exc:
            raise InvalidRequestError(f"a --glb file is refused: {exc}") from exc
    run = _export(data_dir, workers, source, request, origin or Origin(), out, progress, directives, glbs or [])
    return asyncio.run(run)
