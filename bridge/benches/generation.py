"""``worldbridge bench first-tile`` and ``bench tile``: generation, each printing one JSON object.

Timings on shared machines are noisy, so every bench also times a fixed numpy workload in the
same run (``baseline_ms``) and reports its figures as ratios to it as well as in milliseconds.
"""

from __future__ import annotations

import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from bridge.formats.ply import encode_ply
from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.world.keys import TileKey, tile_at
from bridge.world.photos import decode_photo

BASELINE_ELEMENTS = 1_000_000
FIRST_TILE_REPEATS = 5  # the first run (cold) and four more in the same process (warm)


def one_core() -> None:
    """Pin this process to one core and one thread per library, as the targets are stated."""
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})
    import torch

    torch.set_num_threads(1)


def baseline_ms(repeats: int = 15) -> float:
    """Median time to sort a fixed 1M float32 array: the machine's speed, measured now."""
    values = np.random.default_rng(0).random(BASELINE_ELEMENTS, dtype=np.float32)
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        np.sort(values)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def bench_first_tile(photo: Path, repeats: int = FIRST_TILE_REPEATS) -> dict:
    """Photo bytes to the first tile's bytes (decode, analyse, lift, solve, sky, generate, encode).

    The first run is what a user of a fresh worker waits for, lazy imports included (``total_ms``
    and its stages); the runs after it are a worker that has made a world before
    (``warm_total_ms_median``). A machine shared with other work is noisy: compare medians of
    several invocations, and ratios to ``baseline_ms``."""
    data = photo.read_bytes()
    base = baseline_ms()
    runs = [_first_tile_once(data) for _ in range(max(1, repeats))]
    first = runs[0]
    warm = [run["total_ms"] for run in runs[1:]]
    return {
        "bench": "first-tile",
        "photo": photo.name,
        **first,
        "warm_total_ms_median": round(statistics.median(warm), 1) if warm else None,
        # Peak resident memory of this process (imports, decode, prepare, generate, all runs), MiB.
        "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "torch_imported": "torch" in sys.modules,  # world creation needs no torch since the numpy solve
        "baseline_ms": round(base, 2),
        "total_over_baseline": round(first["total_ms"] / base, 1),
    }


def _first_tile_once(data: bytes) -> dict:
    started = time.perf_counter()
    pixels = decode_photo(data)
    decoded = time.perf_counter()
    generator = PhotoGenerator()
    world = generator.prepare(pixels, GeneratorOptions())
    prepared = time.perf_counter()
    tile = generator.generate(world, TileKey(0, 0, -1))
    payload = encode_ply(tile.splats)
    done = time.perf_counter()
    return {
        "megapixels": round(pixels.shape[0] * pixels.shape[1] / 1e6, 3),
        "decode_ms": round((decoded - started) * 1000, 1),
        "prepare_ms": round((prepared - decoded) * 1000, 1),
        "first_tile_ms": round((done - prepared) * 1000, 1),
        "total_ms": round((done - started) * 1000, 1),
        "first_tile_splats": len(tile.splats),
        "first_tile_bytes": len(payload),
    }


def bench_tile(photo: Path, count: int = 200) -> dict:
    """Median time to generate one LOD-0 tile along a walk away from the spawn, one core."""
    one_core()
    generator = PhotoGenerator()
    world = generator.prepare(decode_photo(photo.read_bytes()), GeneratorOptions())
    base = baseline_ms()
    # Distinct tiles along a 6.4 km line ahead: each one made for the first time.
    keys = [tile_at(0.0, -16.0 - 32.0 * i, 0, 32.0) for i in range(count)]
    generator.generate(world, keys[0])  # per-process caches warm, as in a long-running worker
    times, splats = [], []
    for key in keys[1:]:
        started = time.perf_counter()
        content = generator.generate(world, key)
        times.append((time.perf_counter() - started) * 1000)
        splats.append(len(content.splats))
    median = statistics.median(times)
    return {
        "bench": "tile",
        "photo": photo.name,
        "tiles": len(times),
        "median_ms": round(median, 3),
        "p90_ms": round(float(np.percentile(times, 90)), 3),
        "splats_per_tile_median": int(statistics.median(splats)),
        "baseline_ms": round(base, 2),
        "median_over_baseline": round(median / base, 3),
    }
