"""Time the LOD-0 tiles of one region of a world, on one core: a place `bench tile`'s line misses.

    .venv/bin/python bench/tile_region.py ../shared/photos/lyra2_07.png --region=-272,200,-32,360 --every 3

`bench tile` times a band along the walk ahead (for a valley, its flat floor). This times the
tiles whose corners lie in --region (world metres X0,Z0,X1,Z1), every --every-th along each
axis, each made for the first time in a warm process pinned to one core; with the same run's
baseline (a numpy sort) so figures from noisy machines compare as ratios. One JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from pathlib import Path

import numpy as np

from bridge.benches.generation import baseline_ms
from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.world.keys import tile_at
from bridge.world.photos import decode_photo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photo", type=Path)
    parser.add_argument("--region", required=True, help="X0,Z0,X1,Z1 in world metres")
    parser.add_argument("--every", type=int, default=1, help="time every n-th tile along each axis")
    args = parser.parse_args()
    x0, z0, x1, z1 = (float(v) for v in args.region.split(","))
    os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
    generator = PhotoGenerator()
    options = GeneratorOptions()
    world = generator.prepare(decode_photo(args.photo.read_bytes()), options)
    edge = options.base_tile_m
    first, last = tile_at(x0, z0, 0, edge), tile_at(x1, z1, 0, edge)
    keys = [
        tile_at((ix + 0.5) * edge, (iz + 0.5) * edge, 0, edge)
        for iz in range(first.iz, last.iz + 1, args.every)
        for ix in range(first.ix, last.ix + 1, args.every)
    ]
    generator.generate(world, tile_at(x1 + 1000.0, z1 + 1000.0, 0, edge))  # per-process caches warm
    base = baseline_ms()
    times = []
    for key in keys:
        started = time.perf_counter()
        generator.generate(world, key)
        times.append((time.perf_counter() - started) * 1000)
    median = statistics.median(times)
    print(
        json.dumps(
            {
                "bench": "tile_region",
                "photo": args.photo.name,
                "generator": generator.version,
                "region": args.region,
                "tiles": len(times),
                "median_ms": round(median, 3),
                "p90_ms": round(float(np.percentile(times, 90)), 3),
                "baseline_ms": round(base, 2),
                "median_over_baseline": round(median / base, 3),
            }
        )
    )


if __name__ == "__main__":
    main()
