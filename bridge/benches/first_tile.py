"""``worldbridge bench first-tile``: photo bytes to the first tile's bytes, through a real server.

What a user waits for: a fresh ``worldbridge serve`` that has never made a world (its workers
not yet started), CreateWorld with the photo's bytes, then GetTile of the tile in front of the
spawn. Each run is a new server on an empty data folder; the server's own start-up (before it
listens) is not counted.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bridge.benches.viewers import run_on_fresh_server
from bridge.client.client import WorldBridgeClient
from bridge.client.server_process import ServerProcess
from bridge.world.keys import TileKey

FIRST_TILE = TileKey(0, 0, -1)  # just in front of the spawn: what the photo's view needs first
FIRST_TILE_FORMAT = "ply"


@dataclass(frozen=True)
class FirstTileBenchOptions:
    photo: Path
    runs: int = 3
    cores: int = 2
    workers: int = 2


def bench_first_tile(options: FirstTileBenchOptions) -> dict:
    data = options.photo.read_bytes()
    runs = [
        run_on_fresh_server("wb-first-tile-", options.cores, options.workers, lambda server: _once(server, data))
        for _ in range(max(1, options.runs))
    ]
    totals = [run["total_ms"] for run in runs]
    median = statistics.median(totals)
    base = statistics.median(run["baseline_ms"] for run in runs)
    return {
        "bench": "first-tile",
        "photo": options.photo.name,
        "path": "server",
        "cores": options.cores,
        "workers": options.workers,
        "runs": len(runs),
        "create_world_ms_median": statistics.median(run["create_world_ms"] for run in runs),
        "get_tile_ms_median": statistics.median(run["get_tile_ms"] for run in runs),
        "total_ms_median": round(median, 1),
        "total_ms": totals,
        "first_tile_format": FIRST_TILE_FORMAT,
        "first_tile_splats": runs[0]["splats"],
        "first_tile_bytes": runs[0]["bytes"],
        "baseline_ms": base,
        "total_over_baseline": round(median / base, 1),
    }


async def _once(server: ServerProcess, photo: bytes) -> dict:
    async with WorldBridgeClient(server.target) as client:
        await client.wait_ready()
        started = time.perf_counter()
        world = await client.create_world(photo)
        created = time.perf_counter()
        tile = await client.get_tile(world.id, FIRST_TILE, FIRST_TILE_FORMAT)
        done = time.perf_counter()
    return {
        "create_world_ms": round((created - started) * 1000, 1),
        "get_tile_ms": round((done - created) * 1000, 1),
        "total_ms": round((done - started) * 1000, 1),
        "splats": tile.splat_count,
        "bytes": len(tile.data),
    }
