"""Generation in worker processes: CPU-bound work stays off the server's event loop.

Workers are spawned (never forked: a forked gRPC process is unsafe), read what they need from
the blob store by hash, write their results as blobs, and return the hashes. Only the server
process writes the SQLite index, so a worker killed mid-tile leaves at most an orphan blob.
"""

from __future__ import annotations

import io
import multiprocessing
import multiprocessing.connection
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from bridge.formats import encode_tile
from bridge.generate import persist
from bridge.generate.base import Generator, GeneratorOptions, PreparedWorld, SourceGenerator
from bridge.generate.directives.apply import generate_directed
from bridge.generate.registry import load_generator
from bridge.generate.scene.source import scene_kind
from bridge.world.directives import parse_directive_list
from bridge.world.keys import TileKey
from bridge.world.photos import decode_photo
from bridge.world.store import BlobStore

# Per worker process: generators and prepared worlds, by the prepared blob's hash, oldest first.
# A generator's own caches are per world, so this bound bounds them too.
_WORLDS: dict[str, tuple[Generator, PreparedWorld]] = {}
_MAX_CACHED_WORLDS = 8


@dataclass(frozen=True)
class PreparedResult:
    prepared_sha256: str
    spawn: dict  # camera JSON, see bridge.world.camera.Camera.to_json
    assets: dict[str, tuple[str, str]]  # name -> (sha256, media type)
    photo_size: tuple[int, int]  # (width, height)


@dataclass(frozen=True)
class TileResult:
    sha256: str
    size: int
    splat_count: int


def _png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", compress_level=6)
    return out.getvalue()


def prepare_world(data_dir: str, photo: bytes, generator_name: str, options: GeneratorOptions) -> PreparedResult:
    blobs = BlobStore(Path(data_dir) / "blobs")
    generator = load_generator(generator_name)
    if isinstance(generator, SourceGenerator):  # it reads the upload itself (a splat scene)
        prepared = generator.prepare_source(photo, options)
        size = (prepared.spawn.intrinsics.width, prepared.spawn.intrinsics.height)
    else:
        pixels = decode_photo(photo)
        prepared = generator.prepare(pixels, options)
        size = (pixels.shape[1], pixels.shape[0])
    prepared_sha = blobs.put(persist.dumps(prepared))
    # The generator that prepared keeps what the first tile needs (the spawn's lift); the pool
    # hands the next job to an idle worker before it starts another, so the first GetTile after
    # a CreateWorld usually lands here and reuses it.
    _remember(prepared_sha, (generator, prepared))
    assets = {
        "photo": (blobs.put(photo), _media_type_of(photo)),
        "sky": (blobs.put(_png(prepared.sky.panorama)), "image/png"),
    }
    for name, picture in prepared.pictures.items():
        assets[name] = (blobs.put(picture), "application/json" if name.endswith(".json") else "image/png")
    return PreparedResult(
        prepared_sha256=prepared_sha,
        spawn=prepared.spawn.to_json(),
        assets=assets,
        photo_size=size,
    )


def _media_type_of(photo: bytes) -> str:
    if photo.startswith(b"\x89PNG"):
        return "image/png"
    if photo.startswith(b"\xff\xd8"):
        return "image/jpeg"
    if scene_kind(photo):
        return "application/octet-stream"
    return "image/webp"


def _remember(prepared_sha: str, world: tuple[Generator, PreparedWorld]) -> None:
    if prepared_sha not in _WORLDS and len(_WORLDS) >= _MAX_CACHED_WORLDS:
        _WORLDS.pop(next(iter(_WORLDS)))
    _WORLDS[prepared_sha] = world


def _world(blobs: BlobStore, prepared_sha: str, generator_name: str) -> tuple[Generator, PreparedWorld]:
    cached = _WORLDS.get(prepared_sha)
    if cached is None:
        cached = (load_generator(generator_name), persist.loads(blobs.get(prepared_sha)))
        _remember(prepared_sha, cached)
    return cached


def generate_tile(
    data_dir: str, prepared_sha: str, generator_name: str, key: TileKey, fmt: str, directives: str = ""
) -> TileResult:
    """``directives``: the JSON list in effect on the tile (bridge.world.directives), "" for none."""
    blobs = BlobStore(Path(data_dir) / "blobs")
    generator, world = _world(blobs, prepared_sha, generator_name)
    parsed = parse_directive_list(directives) if directives else []
    content = generate_directed(generator, world, key, parsed, blobs.get)
    data = encode_tile(content, fmt, world.options.base_tile_m)
    return TileResult(blobs.put(data), len(data), len(content.splats))


def _exit_with_parent() -> None:
    """Wait for the server process to end, then end this worker. A server that exits cleanly
    shuts its pool down; one that is killed cannot, and its idle workers would wait for work
    forever."""
    parent = multiprocessing.parent_process()
    if parent is not None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(0)


def _init_worker() -> None:
    # One thread per worker: the pool is the parallelism; nested thread pools only fight.
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    threading.Thread(target=_exit_with_parent, name="exit-with-parent", daemon=True).start()


def make_pool(workers: int | None = None) -> ProcessPoolExecutor:
    count = workers or max(1, (os.cpu_count() or 2))
    return ProcessPoolExecutor(
        max_workers=count, mp_context=multiprocessing.get_context("spawn"), initializer=_init_worker
    )
