"""Load and soak: N viewers walking at random over both transports, reconnecting now and then.

A real ``worldbridge serve`` (pinned to ``--cores``, ``--workers`` generation processes) on a fresh
data folder; a world from ``--photo``. Each viewer (every other one over gRPC, the rest over
WebSocket) walks a seeded random walk from the spawn at ``--speed`` m/s, turning every few seconds,
sends its pose ``--rate`` times a second, acks every tile, and now and then (every
``--reconnect-s`` seconds on average) drops its stream and opens a new one resuming its session.
The walks run once to warm the world (``--no-warm`` skips it), step for step as they will when
measured (by step count, not by the clock, so a slow warm-up still covers their ground), then
again, measured.

Figures: tiles delivered per second; the wait for the tile under the viewer: from the first pose
that stood on ground no held tile (of any LOD) covered, to the tile that covers it arriving (p50,
p99, and how many such waits were still open when the run ended); stream errors and failed
connections; the server's resident memory with its workers at the start and the end of the
measured run (and its peak, sampled every second).

    .venv/bin/python bench/soak.py --viewers 48 --seconds 120 --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import random
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path

from bridge.benches.viewers import Held, bench_server, percentile_ms, rss_bytes, take, viewer_pose
from bridge.client.client import Resume, WorldBridgeClient
from bridge.client.server_process import ServerProcess
from bridge.samples import sample_photo_path
from bridge.world.keys import MAX_LOD

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the stream helper
from tests.transport_support import opened

WARM_UP_SLACK = 4  # a warm-up may take this many times the measured run's length to walk its steps


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


async def walk(
    server: ServerProcess,
    world_id: str,
    viewer: Viewer,
    args: argparse.Namespace,
    spawn: tuple[float, float, float],
    base_m: float,
    measured: bool,
) -> None:
    # Headings and reconnects draw from their own generators, and the warm-up walks by step
    # count, not by the clock: it crosses step for step the ground the measured walk will.
    rng = random.Random(args.seed * 1000 + viewer.index)
    sessions = random.Random(f"{args.seed}-{viewer.index}-sessions")
    x, y, z = spawn
    heading = rng.uniform(0, 2 * math.pi)
    position = [x, z]
    # A warm-up slowed by load takes longer for its steps; bounded all the same (failing connections).
    ends_at = time.perf_counter() + args.seconds * (1 if measured else WARM_UP_SLACK)
    steps = int(args.seconds * args.rate)  # the most a measured walk can take (it sleeps 1/rate a step)
    resume = Resume()
    sequence = 0
    while time.perf_counter() < ends_at and sequence < steps:
        session_s = sessions.expovariate(1 / args.reconnect_s)
        viewer.held = Held(keys=set(viewer.held.keys), errors=viewer.held.errors)
        try:
            async with opened(server, viewer.transport, world_id, resume=resume) as stream:
                events = aiter(stream.events())
                reader = None
                session_ends = min(ends_at, time.perf_counter() + session_s)
                while time.perf_counter() < session_ends and sequence < steps:
                    if rng.random() < 1 / (args.rate * 5):  # a new heading every ~5 s
                        heading += rng.uniform(-math.pi / 2, math.pi / 2)
                    vx, vz = math.sin(heading) * args.speed, -math.cos(heading) * args.speed
                    position[0] += vx / args.rate
                    position[1] += vz / args.rate
                    sequence += 1
                    pose = viewer_pose((position[0], y, position[1]), (vx, 0.0, vz), (vx, 0.0, vz), args.radius, 60.0)
                    await stream.send(pose, formats=[args.format], sequence=sequence)
                    if reader is None:
                        reader = asyncio.create_task(_read(stream, events, viewer, position, base_m))
                    if (
                        measured
                        and viewer.uncovered_since is None
                        and not covered(viewer.held, position[0], position[1], base_m)
                    ):
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
    with tempfile.TemporaryDirectory(prefix="worldbridge-soak-") as folder:
        server = bench_server(Path(folder), args.cores, args.workers)
        try:
            async with WorldBridgeClient(server.target) as client:
                world = await client.create_world(Path(args.photo).read_bytes(), name="soak")
            spawn = (world.spawn.position.x, world.spawn.position.y, world.spawn.position.z)
            transports = ("grpc", "websocket")
            if not args.no_warm:
                warm = [Viewer(i, transports[i % 2]) for i in range(args.viewers)]
                await asyncio.gather(*(walk(server, world.id, v, args, spawn, world.base_tile_m, False) for v in warm))
            viewers = [Viewer(i, transports[i % 2]) for i in range(args.viewers)]
            rss_start = rss_bytes(server.process.pid, with_children=True)
            peak = [rss_start]

            async def sample() -> None:
                while True:
                    peak[0] = max(peak[0], rss_bytes(server.process.pid, with_children=True))
                    await asyncio.sleep(1.0)

            sampler = asyncio.create_task(sample())
            began = time.perf_counter()
            await asyncio.gather(*(walk(server, world.id, v, args, spawn, world.base_tile_m, True) for v in viewers))
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
        "tiles": sum(v.held.tiles_received for v in viewers),
        "tiles_per_s": round(sum(v.held.tiles_received for v in viewers) / seconds, 1),
        "tile_under_viewer_waits": len(waits),
        "tile_under_viewer_p50_ms": percentile_ms(waits, 50),
        "tile_under_viewer_p99_ms": percentile_ms(waits, 99),
        "tile_under_viewer_still_waiting": sum(v.uncovered_since is not None for v in viewers),
        "stream_errors": sum(v.errors for v in viewers),
        "failed_connections": sum(v.failed_connections for v in viewers),
        "reconnects": sum(v.reconnects for v in viewers),
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
    parser.add_argument("--json", action="store_true", help="one line of JSON (the default prints it indented)")
    args = parser.parse_args()
    result = asyncio.run(run(args))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))
    sys.exit(0)


if __name__ == "__main__":
    main()
