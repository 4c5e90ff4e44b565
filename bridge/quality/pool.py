"""Where the quality report's views are rendered: in this process, or in a pool of worker processes.

A view's inputs are the tiles the walker held and a camera. The walker's tiles arrive once as
bytes; :class:`TileFolder` writes each tile's bytes once into a content-addressed folder, and a
job names the tiles it needs as a :data:`HeldSet` (key, content hash, format; sorted by key, the
order :meth:`HeldTiles.cloud` joins them in). A worker decodes a tile the first time a job names it
and keeps it while later jobs keep naming it, so a walk's overlapping views decode each tile once
per worker. Jobs are functions of their arguments only (and of the report's fixed
:class:`ReportContext`): the same bytes decode to the same splats and render to the same pixels
in any process, so a report's figures do not depend on how many processes rendered them.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import os
from collections.abc import Callable
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bridge.client.held import EncodedTile, HeldTiles
from bridge.formats import decode_splats
from bridge.formats.splats import SplatCloud
from bridge.stream.handover import tiles_to_draw
from bridge.world.keys import TileKey

HeldSet = tuple[tuple[TileKey, str, str], ...]  # (key, sha256 of the bytes, format), sorted by key
T = TypeVar("T")


@dataclass(frozen=True)
class ReportContext:
    """What every view of one report shares; sent to each worker once, when it starts."""

    tiles: Path  # the TileFolder's root
    out: Path  # where the pictures go
    sky: np.ndarray  # the world's sky panorama, [H, W, 3] uint8
    photo: np.ndarray  # the decoded photo, [H, W, 3] uint8


class TileFolder:
    """Tile bytes on disk by their sha256, each written once."""

    def __init__(self, root: Path) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self._hashed: dict[TileKey, tuple[EncodedTile, str]] = {}  # last bytes seen per key, hashed

    def held_set(self, held: HeldTiles) -> HeldSet:
        """The tiles ``held`` holds now, their bytes written here (those not written before)."""
        drawn = tiles_to_draw(held.encoded)  # what a viewer draws: the LOD hand-over rule, as HeldTiles.cloud
        tiles = tuple(
            (key, self._put(key, tile), tile.format) for key, tile in sorted(held.encoded.items()) if key in drawn
        )
        for gone in [key for key in self._hashed if key not in held.encoded]:  # the walk left them behind
            del self._hashed[gone]
        return tiles

    def _put(self, key: TileKey, tile: EncodedTile) -> str:
        known = self._hashed.get(key)
        if known is not None and known[0] is tile:
            return known[1]
        sha = hashlib.sha256(tile.data).hexdigest()  # here, not the server's word: the folder's name is its truth
        path = self.root / sha
        if not path.exists():
            partial = path.with_suffix(".part")
            partial.write_bytes(tile.data)
            partial.rename(path)  # a worker never reads half a tile
        self._hashed[key] = (tile, sha)
        return sha


_DECODED: dict[str, SplatCloud] = {}  # per process: decoded tiles by sha256
_KEEP_EXTRA = 64  # decoded tiles kept beyond the last job's set before the cache is thinned


def held_cloud(context: ReportContext, tiles: HeldSet) -> SplatCloud:
    """The splats of ``tiles`` joined in order: the same cloud as :meth:`HeldTiles.cloud` made
    from the same bytes."""
    clouds = []
    for _, sha, fmt in tiles:
        cloud = _DECODED.get(sha)
        if cloud is None:
            cloud = _DECODED[sha] = decode_splats((context.tiles / sha).read_bytes(), fmt)
        clouds.append(cloud)
    wanted = {sha for _, sha, _ in tiles}
    if len(_DECODED) > 2 * len(wanted) + _KEEP_EXTRA:  # a walk leaves its old tiles behind
        for sha in [s for s in _DECODED if s not in wanted]:
            del _DECODED[sha]
    return SplatCloud.concat(clouds)


_WORKER_CONTEXT: ReportContext | None = None


def _start_worker(context: ReportContext) -> None:
    global _WORKER_CONTEXT
    _WORKER_CONTEXT = context
    # One thread a worker: the pool is the parallelism (renders are the same on any thread count).
    import torch

    torch.set_num_threads(1)


def _in_worker(job: Callable[..., T], *args: Any) -> T:
    assert _WORKER_CONTEXT is not None, "the worker was started without its report's context"
    return job(_WORKER_CONTEXT, *args)


class ViewPool:
    """Runs ``job(context, *args)``: here, at once, when ``processes`` is 1; else in that many
    spawned worker processes, in the order submitted."""

    def __init__(self, context: ReportContext, processes: int) -> None:
        self.context = context
        self.processes = max(1, processes)
        self._executor: ProcessPoolExecutor | None = None
        if self.processes > 1:
            self._executor = ProcessPoolExecutor(
                self.processes,
                mp_context=multiprocessing.get_context("spawn"),  # never fork a process holding gRPC
                initializer=_start_worker,
                initargs=(context,),
            )

    def submit(self, job: Callable[..., T], *args: Any) -> Future[T]:
        if self._executor is not None:
            return self._executor.submit(_in_worker, job, *args)
        done: Future[T] = Future()
        done.set_result(job(self.context, *args))
        return done

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> ViewPool:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def default_processes() -> int:
    """The cores this process may run on."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
