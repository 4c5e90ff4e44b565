"""``worldbridge bench stream``: a fast player on a cold world, and bytes on the wire per km.

Part 1 (real time): a server on ``cores`` cores and a cold world; a viewer loads the spawn
(announcing the velocity it is about to run at, as a game does behind its loading screen: a jump
from rest to 50 m/s in no time is nothing any stream could predict), then runs straight ahead at
``speed`` m/s for ``duration`` s, sending its pose every ``step_s`` of wall-clock time while tiles
stream in (each acked as it arrives). At every sample the LOD-0 cells in the view frustum (defined
precisely in bridge/benches/frustum.py) are checked against what the viewer holds. Figures:
``tiles_missing_on_entry`` (cells that entered the frustum with no tile of any LOD covering them;
target 0), ``worst_missing_s`` (longest any visible cell stayed uncovered while visible), and
``holes_seen`` (visible cells ever uncovered, whether on entry or later).

Part 2 (simulated time): walk ``bytes_distance_m`` straight at ``bytes_speed`` m/s in poses every
0.5 s, each fully served before the next, over a fresh area. ``bytes_per_km`` is what the stream
sent; ``naive_bytes_per_km`` is the baseline of sending every tile of the finest LOD the walk
received (``naive_lod``) within the radius of any pose once (the union, so a generous baseline that
never re-sends), priced at the mean size of the tiles of that LOD actually received in this run.
"""

from __future__ import annotations

import asyncio
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bridge.benches.frustum import Cell, covered, ground_frustum
from bridge.benches.viewers import Clock, Held, open_stream, run_on_fresh_server, send_pose, settle, take, viewer_pose
from bridge.client.client import WorldBridgeClient
from bridge.client.players import straight_line
from bridge.client.server_process import ServerProcess
from bridge.world.keys import tiles_in_radius


@dataclass(frozen=True)
class StreamBenchOptions:
    photo: Path
    speed_m_s: float = 50.0
    radius_m: float = 256.0
    duration_s: float = 20.0
    step_s: float = 0.05  # wall-clock seconds between pose samples
    cores: int = 2
    workers: int = 2
    fmt: str = "stream"
    transport: str = "grpc"
    bytes_speed_m_s: float = 20.0
    bytes_distance_m: float = 1000.0


def bench_stream(options: StreamBenchOptions) -> dict:
    return run_on_fresh_server(
        "worldbridge-bench-stream-", options.cores, options.workers, lambda server: _run(server, options)
    )


async def _run(server: ServerProcess, options: StreamBenchOptions) -> dict:
    clock = Clock()
    async with WorldBridgeClient(server.target) as client:
        await client.wait_ready()
        world = await client.create_world(options.photo.read_bytes(), name="bench-stream")
    created_s = clock()
    spawn = world.spawn
    start = (spawn.position.x, spawn.position.y, spawn.position.z)
    forward = (spawn.forward.x, spawn.forward.y, spawn.forward.z)
    vfov = spawn.vertical_fov_deg
    run = await _fast_player(server, world.id, world.base_tile_m, start, forward, vfov, options)
    walk = await _bytes_walk(server, world.id, world.base_tile_m, start, vfov, options)
    return {
        "bench": "stream",
        "photo": options.photo.name,
        "transport": options.transport,
        "format": options.fmt,
        "speed_m_s": options.speed_m_s,
        "radius_m": options.radius_m,
        "duration_s": options.duration_s,
        "server_cores": options.cores,
        "workers": options.workers,
        "world_created_s": round(created_s, 2),
        **run,
        **walk,
    }


async def _fast_player(
    server: ServerProcess,
    world_id: str,
    base_tile_m: float,
    start: tuple[float, float, float],
    forward: tuple[float, float, float],
    vfov: float,
    options: StreamBenchOptions,
) -> dict:
    heading = np.array([forward[0], 0.0, forward[2]])
    heading /= np.linalg.norm(heading)
    velocity = tuple(float(v) for v in heading * options.speed_m_s)
    held = Held()
    loaded = asyncio.Event()
    async with open_stream(server, options.transport, world_id) as stream:

        async def read() -> None:
            async for event in stream.events():
                progress = await take(stream, held, event)
                if progress is not None and progress.sequence >= 1 and progress.tiles_pending == 0:
                    loaded.set()

        reader = asyncio.create_task(read())
        clock = Clock()
        await send_pose(stream, viewer_pose(start, forward, velocity, options.radius_m, vfov), options.fmt, 1)
        await asyncio.wait_for(loaded.wait(), 600)
        initial_load_s = clock()
        tiles_at_start = held.tiles_received

        visible_before: set[Cell] = set()
        uncovered_since: dict[Cell, float] = {}
        entered = missing = 0
        missing_at: list[float] = []
        holes: set[Cell] = set()
        worst = 0.0
        samples = 0
        clock = Clock()
        sequence = 1
        while (t := clock()) <= options.duration_s:
            position = tuple(float(v) for v in np.asarray(start) + heading * options.speed_m_s * t)
            sequence += 1
            await send_pose(
                stream, viewer_pose(position, forward, velocity, options.radius_m, vfov), options.fmt, sequence
            )
            visible = ground_frustum(position, forward, vfov, options.radius_m).cells(base_tile_m)
            max_lod = max((k[0] for k in held.keys), default=0)
            for cell in visible:
                is_covered = covered(cell, held.keys, max_lod)
                if cell not in visible_before:
                    entered += 1
                    if not is_covered:
                        missing += 1
                        missing_at.append(round(t, 2))
                if is_covered:
                    if cell in uncovered_since:
                        worst = max(worst, t - uncovered_since.pop(cell))
                else:
                    uncovered_since.setdefault(cell, t)
                    holes.add(cell)
            for cell in [c for c in uncovered_since if c not in visible]:
                worst = max(worst, t - uncovered_since.pop(cell))  # left the view before it was filled
            visible_before = visible
            samples += 1
            await asyncio.sleep(max(0.0, samples * options.step_s - clock()))
        end = clock()
        for since in uncovered_since.values():
            worst = max(worst, end - since)
        reader.cancel()
    return {
        "initial_load_s": round(initial_load_s, 3),
        "initial_tiles": tiles_at_start,
        "distance_run_m": round(options.speed_m_s * options.duration_s, 1),
        "samples": samples,
        "sample_interval_s": options.step_s,
        "cells_entered_view": entered,
        "tiles_missing_on_entry": missing,
        "missing_at_s": missing_at[:10],
        "worst_missing_s": round(worst, 3),
        "holes_seen": len(holes),
        "tiles_received_while_running": held.tiles_received - tiles_at_start,
        "stream_errors": len(held.errors),
    }


async def _bytes_walk(
    server: ServerProcess,
    world_id: str,
    base_tile_m: float,
    spawn: tuple[float, float, float],
    vfov: float,
    options: StreamBenchOptions,
) -> dict:
    # A fresh area, away from where part 1 ran, walking along +X.
    start = (spawn[0] + 20_000.0, spawn[1], spawn[2] + 20_000.0)
    forward = (1.0, 0.0, 0.0)
    duration = options.bytes_distance_m / options.bytes_speed_m_s
    poses = straight_line(start, forward, options.bytes_speed_m_s, duration, 0.5)
    held = Held()
    async with open_stream(server, options.transport, world_id) as stream:
        events = stream.events()
        for i, p in enumerate(poses, start=1):
            await send_pose(
                stream, viewer_pose(p.position, p.forward, p.velocity, options.radius_m, vfov), options.fmt, i
            )
            await settle(stream, events, held, i)
    finest = min(held.bytes_by_lod, default=0)
    naive: set = set()
    for p in poses:
        naive.update(tiles_in_radius(p.position[0], p.position[2], options.radius_m, finest, base_tile_m))
    sizes = held.bytes_by_lod.get(finest, [])
    mean_finest = float(np.mean(sizes)) if sizes else math.nan
    km = options.bytes_distance_m / 1000.0
    sent_per_km = held.bytes_received / km
    naive_per_km = len(naive) * mean_finest / km
    return {
        "bytes_walk_speed_m_s": options.bytes_speed_m_s,
        "bytes_walk_m": options.bytes_distance_m,
        "bytes_walk_tiles": held.tiles_received,
        "bytes_per_km": round(sent_per_km),
        "naive_lod": finest,
        "naive_tiles": len(naive),
        "naive_bytes_per_km": round(naive_per_km),
        "bytes_vs_naive": round(sent_per_km / naive_per_km, 3),
        "mean_naive_tile_bytes": round(mean_finest),
    }
