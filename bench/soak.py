"""Load and soak: N viewers walking at random over both transports, reconnecting now and then.

A real ``worldbridge serve`` (pinned to ``--cores``, ``--workers`` generation processes) on a fresh
data folder; a world from ``--photo``. Each viewer (every other one over gRPC, the rest over
WebSocket) walks a seeded random walk from the spawn at ``--speed`` m/s, turning every few seconds,
sends its pose ``--rate`` times a second, acks every tile, and now and then (every
``--reconnect-s`` seconds on average) drops its stream and opens a new one resuming its session.
The world is warmed first (``--no-warm`` skips it): the walks are seeded, so every pose they will
send is known, and every tile any of those poses' interest sets holds is fetched once (GetTile, a
few at a time) before the run; the measured run then serves only stored tiles. (Walking the walks
once to warm the world left ground cold wherever the warm-up's streams fell behind.)

``--transports grpc`` (or ``websocket``) puts every viewer on one transport; ``--data DIR`` keeps the
server's data folder, so a second run on it finds the tiles stored (its warm-up only reads them).

Figures (also per transport): tiles delivered per second; the wait for the tile under the viewer: from the first pose
that stood on ground no held tile (of any LOD) covered, to the tile that covers it arriving (p50,
p99, and how many such waits were still open when the run ended); stream errors and failed
connections; the server's resident memory with its workers at the start and the end of the
measured run (and its peak, sampled every second).

    .venv/bin/python bench/soak.py --viewers 48 --seconds 120 --json
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import math
import random
import re
import sys
import tempfile
import time
from collections import Counter
from collections.abc import AsyncIterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from bridge.benches.viewers import Held, bench_server, percentile_ms, rss_bytes, take, viewer_pose
from bridge.client.client import Resume, WorldBridgeClient
from bridge.client.server_process import ServerProcess
from bridge.generate.registry import load_generator
from bridge.samples import sample_photo_path
from bridge.stream.interest import StreamOptions, select_cells
from bridge.stream.pose import Pose
from bridge.world.grid import TileGrid
from bridge.world.keys import MAX_LOD, TileKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the stream helper
from tests.transport_support import opened

WARM_FETCHES = 8  # GetTile calls in flight while warming


@dataclass
class Viewer:
    index: int
    transport: str
    held: Held = field(default_factory=Held)
    waits: list[float] = field(default_factory=list)
    uncovered_since: float | None = None
    errors: int = 0
    reconnects: int = 0
    failed_connections: int = 0


def _kind(error: str) -> str:
    """An error message without its tile key and numbers, to count alike ones together."""
    return re.sub(r"[-\d,.]+", "#", error)[:80]


def covered(held: Held, x: float, z: float, base_m: float) -> bool:
    for lod in range(MAX_LOD + 1):
        edge = base_m * (1 << lod)
        if (lod, math.floor(x / edge), math.floor(z / edge)) in held.keys:
            return True
    return False


async def _read(
    stream: object, events: AsyncIterator[object], viewer: Viewer, position: list[float], base_m: float
) -> None:
    async for event in events:
        await take(stream, viewer.held, event)  # type: ignore[arg-type]
        if viewer.uncovered_since is not None and covered(viewer.held, position[0], position[1], base_m):
            viewer.waits.append(time.perf_counter() - viewer.uncovered_since)
            viewer.uncovered_since = None


def walk_poses(index: int, args: argparse.Namespace, spawn: tuple[float, float, float]) -> list[Pose]:
    """Every pose viewer ``index`` sends, in order (a seeded random walk, a pose a step)."""
    rng = random.Random(args.seed * 1000 + index)
    x, y, z = spawn
    heading = rng.uniform(0, 2 * math.pi)
    poses = []
    for _ in range(int(args.seconds * args.rate)):
        if rng.random() < 1 / (args.rate * 5):  # a new heading every ~5 s
            heading += rng.uniform(-math.pi / 2, math.pi / 2)
        vx, vz = math.sin(heading) * args.speed, -math.cos(heading) * args.speed
        x, z = x + vx / args.rate, z + vz / args.rate
        poses.append(viewer_pose((x, y, z), (vx, 0.0, vz), (vx, 0.0, vz), args.radius, 60.0))
    return poses


async def warm(server: ServerProcess, world_id: str, grid: TileGrid, walks: list[list[Pose]], fmt: str) -> int:
    """Store every tile any pose of ``walks`` wants (as a stream selects it); how many."""
    options = StreamOptions()
    cells = {tuple(c) for poses in walks for pose in poses for c in select_cells(pose, grid, options).tolist()}
    todo = iter(sorted(cells))

    async def fetch(client: WorldBridgeClient) -> None:
        for lod, ix, iz in todo:  # one shared iterator: each key once
            await client.get_tile(world_id, TileKey(lod, ix, iz), fmt)

    async with WorldBridgeClient(server.target) as client:
        await asyncio.gather(*(fetch(client) for _ in range(WARM_FETCHES)))
    return len(cells)


async def walk(
    server: ServerProcess,
    world_id: str,
    viewer: Viewer,
    args: argparse.Namespace,
    poses: list[Pose],
    base_m: float,
) -> None:
    # Reconnects draw from their own generator: the walk is the same whenever they come.
    sessions = random.Random(f"{args.seed}-{viewer.index}-sessions")
    position = [poses[0].position[0], poses[0].position[2]]
    ends_at = time.perf_counter() + args.seconds
    steps = iter(poses)
    resume = Resume()
    sequence = 0
    while time.perf_counter() < ends_at and sequence < len(poses):
        session_s = sessions.expovariate(1 / args.reconnect_s)
        # A new stream starts from what the viewer holds; its counts go on (they were reset
        # at every reconnect, so tiles/s counted only each viewer's last stream).
        viewer.held = replace(viewer.held, keys=set(viewer.held.keys))
        try:
            async with opened(server, viewer.transport, world_id, resume=resume) as stream:
                events = aiter(stream.events())
                reader = None
                session_ends = min(ends_at, time.perf_counter() + session_s)
                while time.perf_counter() < session_ends and sequence < len(poses):
                    pose = next(steps)
                    position[:] = pose.position[0], pose.position[2]
                    sequence += 1
                    await stream.send(pose, formats=[args.format], sequence=sequence)
                    if reader is None:
                        reader = asyncio.create_task(_read(stream, events, viewer, position, base_m))
                    if viewer.uncovered_since is None and not covered(viewer.held, position[0], position[1], base_m):
                        viewer.uncovered_since = time.perf_counter()
                    await asyncio.sleep(1 / args.rate)
                if reader is not None:
                    reader.cancel()
                hello = getattr(stream, "hello", None)
                resume = Resume(session_id=hello.session_id) if hello is not None else resume
        except Exception:  # a bench counts what fails, and goes on
            viewer.failed_connections += 1
        viewer.reconnects += 1
    viewer.errors += len(viewer.held.errors)


async def run(args: argparse.Namespace) -> dict:
    kept = contextlib.nullcontext(args.data) if args.data else tempfile.TemporaryDirectory(prefix="worldbridge-soak-")
    with kept as folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        server = bench_server(Path(folder), args.cores, args.workers)
        try:
            async with WorldBridgeClient(server.target) as client:
                world = await client.create_world(Path(args.photo).read_bytes(), name="soak")
            spawn = (world.spawn.position.x, world.spawn.position.y, world.spawn.position.z)
            walks = [walk_poses(i, args, spawn) for i in range(args.viewers)]
            grid = TileGrid(world.base_tile_m, load_generator(world.generator).splats_per_tile_edge)
            warm_began = time.perf_counter()
            warmed = 0 if args.no_warm else await warm(server, world.id, grid, walks, args.format)
            warm_s = time.perf_counter() - warm_began
            transports = args.transports.split(",")
            viewers = [Viewer(i, transports[i % len(transports)]) for i in range(args.viewers)]
            rss_start = rss_bytes(server.process.pid, with_children=True)
            peak = [rss_start]

            async def sample() -> None:
                while True:
                    peak[0] = max(peak[0], rss_bytes(server.process.pid, with_children=True))
                    await asyncio.sleep(1.0)

            sampler = asyncio.create_task(sample())
            began = time.perf_counter()
            await asyncio.gather(
                *(
                    walk(server, world.id, v, args, poses, world.base_tile_m)
                    for v, poses in zip(viewers, walks, strict=True)
                )
            )
            seconds = time.perf_counter() - began
            sampler.cancel()
            rss_end = rss_bytes(server.process.pid, with_children=True)
        finally:
            server.stop()
    waits = [w for v in viewers for w in v.waits]
    return {
        "bench": "soak",
        "viewers": args.viewers,
        "seconds": round(seconds, 1),
        "speed_m_s": args.speed,
        "radius_m": args.radius,
        "format": args.format,
        "server_cores": args.cores,
        "workers": args.workers,
        "warm": not args.no_warm,
        "warmed_tiles": warmed,
        "warm_s": round(warm_s, 1),
        "tiles": sum(v.held.tiles_received for v in viewers),
        "tiles_per_s": round(sum(v.held.tiles_received for v in viewers) / seconds, 1),
        "tile_under_viewer_waits": len(waits),
        "tile_under_viewer_p50_ms": percentile_ms(waits, 50),
        "tile_under_viewer_p99_ms": percentile_ms(waits, 99),
        "tile_under_viewer_still_waiting": sum(v.uncovered_since is not None for v in viewers),
        "stream_errors": sum(v.errors for v in viewers),
        "stream_error_kinds": dict(Counter(_kind(e) for v in viewers for e in v.held.errors).most_common(5)),
        "failed_connections": sum(v.failed_connections for v in viewers),
        "reconnects": sum(v.reconnects for v in viewers),
        "by_transport": {
            t: {
                "tiles": sum(v.held.tiles_received for v in viewers if v.transport == t),
                "waits": len(ws := [w for v in viewers if v.transport == t for w in v.waits]),
                "p50_ms": percentile_ms(ws, 50),
                "p99_ms": percentile_ms(ws, 99),
                "still_waiting": sum(v.uncovered_since is not None for v in viewers if v.transport == t),
            }
            for t in dict.fromkeys(transports)
        },
        "server_rss_with_workers_mb": {
            "start": round(rss_start / 2**20),
            "end": round(rss_end / 2**20),
            "peak": round(peak[0] / 2**20),
        },
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--viewers", type=int, default=64)
    parser.add_argument("--seconds", type=float, default=600.0, help="measured run length")
    parser.add_argument("--speed", type=float, default=10.0, help="m/s")
    parser.add_argument("--rate", type=float, default=10.0, help="pose updates a second per viewer")
    parser.add_argument("--radius", type=float, default=128.0, help="view radius, m")
    parser.add_argument("--reconnect-s", type=float, default=30.0, help="mean seconds between reconnects")
    parser.add_argument("--format", default="stream")
    parser.add_argument("--cores", type=int, default=2)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--photo", default=str(sample_photo_path()))
    parser.add_argument("--no-warm", action="store_true")
    parser.add_argument(
        "--transports", default="grpc,websocket", help="viewers take these in turn (grpc,websocket; or one of them)"
    )
    parser.add_argument(
        "--data",
        help="keep the server's data folder here (made if missing): a later run on the same folder finds the"
        " world's tiles stored, so its warm-up only reads them (a pair of runs need not generate twice)",
    )
    parser.add_argument("--json", action="store_true", help="one line of JSON (the default prints it indented)")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    sys.exit(0)


if __name__ == "__main__":
    main()
