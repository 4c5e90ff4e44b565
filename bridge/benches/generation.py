"""``worldbridge bench tile``: one tile generated in process, and the machine baseline every bench reports.

Timings on shared machines are noisy, so every bench also times a fixed numpy workload in the
same run (``baseline_ms``) and reports its figures as ratios to it as well as in milliseconds.
"""

from __future__ import annotations

import os
import statistics
import time
from pathlib import Path

import numpy as np

from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.world.keys import tile_at
from bridge.world.photos import decode_photo

BASELINE_ELEMENTS = 1_000_000


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


def bench_tile(photo: Path, count: int = 200) -> dict:
    """Median time to generate one LOD-0 tile in a band along a walk away from the spawn, one core."""
    one_core()
    generator = PhotoGenerator()
    options = GeneratorOptions()
    world = generator.prepare(decode_photo(photo.read_bytes()), options)
    base = baseline_ms()
    # Distinct tiles along a 6.4 km band ahead, 96 m wide (a street and the blocks either side:
    # ground-only tiles and tiles holding houses and trees alike), each made for the first time.
    edge = options.base_tile_m
    keys = [tile_at(edge * ((i * 5) % 12 - 6 + 0.5), -16.0 - 32.0 * i, 0, edge) for i in range(count)]
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
