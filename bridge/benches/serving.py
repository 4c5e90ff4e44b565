"""``worldbridge bench serve``: many viewers on a warm world, over gRPC and over WebSocket.

A server on ``cores`` cores; a world made and warmed first (the whole scenario is run once,
untimed, so every tile it needs is generated and stored). Then, per transport, ``viewers``
viewers at once each connect and walk a circle of radius 400 m round the spawn (each starting at
its own angle), sending a pose every simulated second (40 m apart) and waiting, acking every
tile, until the pose is fully served before sending the next. The viewers run in this process,
on the same machine as the server: what they cost is not the server's, but it shares its cores.

Figures per transport: ``tiles_per_s`` (tiles delivered to all viewers / wall time),
``latency_p50_ms`` / ``latency_p99_ms`` (from sending a pose to holding every tile it made
wanted, over all updates of all viewers, the first included), ``server_rss_peak_mb`` (the server
process alone) and ``server_rss_with_workers_peak_mb`` (plus its generation workers), sampled
every 0.2 s.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from pathlib import Path

from bridge.benches.viewers import (
    TRANSPORTS,
    Clock,
    Held,
    open_stream,
    percentile_ms,
    rss_bytes,
    run_on_fresh_server,
    send_pose,
    settle,
    viewer_pose,
)
from bridge.client.client import WorldBridgeClient
from bridge.client.players import PlayerPose, circle
from bridge.client.server_process import ServerProcess

CIRCLE_RADIUS_M = 400.0
SPEED_M_S = 40.0
RSS_SAMPLE_S = 0.2


@dataclass(frozen=True)
class ServeBenchOptions:
    photo: Path
    viewers: int = 32
    steps: int = 12  # poses per viewer, after the first
    radius_m: float = 256.0
    cores: int = 2
    workers: int = 2
    fmt: str = "stream"


def bench_serve(options: ServeBenchOptions) -> dict:
    return run_on_fresh_server(
        "worldbridge-bench-serve-", options.cores, options.workers, lambda server: _run(server, options)
    )


def _trajectories(centre: tuple[float, float, float], options: ServeBenchOptions) -> list[list[PlayerPose]]:
    duration = options.steps * 1.0
    return [
        circle(centre, CIRCLE_RADIUS_M, SPEED_M_S, duration, 1.0, phase_rad=2 * math.pi * i / options.viewers)
        for i in range(options.viewers)
    ]


async def _run(server: ServerProcess, options: ServeBenchOptions) -> dict:
    async with WorldBridgeClient(server.target) as client:
        await client.wait_ready()
        world = await client.create_world(options.photo.read_bytes(), name="bench-serve")
    spawn = world.spawn
    centre = (spawn.position.x, spawn.position.y, spawn.position.z)
    vfov = spawn.vertical_fov_deg
    trajectories = _trajectories(centre, options)
    clock = Clock()
    await _all_viewers(server, "grpc", world.id, trajectories, vfov, options)  # warms the world
    warm_s = clock()
    result: dict = {
        "bench": "serve",
        "photo": options.photo.name,
        "viewers": options.viewers,
        "updates_per_viewer": options.steps + 1,
        "radius_m": options.radius_m,
        "format": options.fmt,
        "server_cores": options.cores,
        "workers": options.workers,
        "warm_up_s": round(warm_s, 2),
    }
    for transport in TRANSPORTS:
        figures = await _all_viewers(server, transport, world.id, trajectories, vfov, options)
        result.update({f"{transport}_{k}": v for k, v in figures.items()})
    return result


async def _all_viewers(
    server: ServerProcess,
    transport: str,
    world_id: str,
    trajectories: list[list[PlayerPose]],
    vfov: float,
    options: ServeBenchOptions,
) -> dict:
    latencies: list[float] = []
    helds = [Held() for _ in trajectories]
    peak = {"server": 0, "with_workers": 0}
    done = asyncio.Event()

    async def sample_rss() -> None:
        while not done.is_set():
            peak["server"] = max(peak["server"], rss_bytes(server.process.pid))
            peak["with_workers"] = max(peak["with_workers"], rss_bytes(server.process.pid, with_children=True))
            await asyncio.sleep(RSS_SAMPLE_S)

    async def viewer(poses: list[PlayerPose], held: Held) -> None:
        async with open_stream(server, transport, world_id) as stream:
            events = stream.events()
            for i, p in enumerate(poses, start=1):
                started = Clock()
                await send_pose(
                    stream, viewer_pose(p.position, p.forward, p.velocity, options.radius_m, vfov), options.fmt, i
                )
                await settle(stream, events, held, i)
                latencies.append(started())

    sampler = asyncio.create_task(sample_rss())
    clock = Clock()
    await asyncio.gather(*(viewer(poses, held) for poses, held in zip(trajectories, helds, strict=True)))
    wall = clock()
    done.set()
    await sampler
    tiles = sum(h.tiles_received for h in helds)
    return {
        "tiles": tiles,
        "bytes": sum(h.bytes_received for h in helds),
        "wall_s": round(wall, 3),
        "tiles_per_s": round(tiles / wall, 1),
        "latency_p50_ms": percentile_ms(latencies, 50),
        "latency_p99_ms": percentile_ms(latencies, 99),
        "server_rss_peak_mb": round(peak["server"] / 2**20, 1),
        "server_rss_with_workers_peak_mb": round(peak["with_workers"] / 2**20, 1),
        "errors": sum(len(h.errors) for h in helds),
    }
