"""What the streaming benches share: a bench server, a viewer over either transport, RSS."""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from bridge.benches.generation import baseline_ms
from bridge.client.client import (
    ReceivedError,
    ReceivedProgress,
    ReceivedTile,
    ReceivedUnload,
    TileStream,
    WorldBridgeClient,
)
from bridge.client.server_process import ServerProcess, start_server
from bridge.client.ws_client import WsTileStream, connect_stream
from bridge.stream.pose import Pose, Vec3
from bridge.world.keys import TileKey

Stream = TileStream | WsTileStream
TRANSPORTS = ("grpc", "websocket")


def bench_server(data_dir: Path, cores: int, workers: int) -> ServerProcess:
    """A real server on its own ``cores`` (the first ones this process may use), HTTP on."""
    available = sorted(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else []
    cpus = set(available[:cores]) if available else None
    return start_server(data_dir, workers=workers, cpus=cpus)


@asynccontextmanager
async def open_stream(server: ServerProcess, transport: str, world_id: str) -> AsyncIterator[Stream]:
    if transport == "grpc":
        async with WorldBridgeClient(server.target) as client:
            stream = client.stream(world_id)
            try:
                yield stream
            finally:
                await stream.close()
                stream.cancel()
    elif transport == "websocket":
        async with aiohttp.ClientSession() as http:
            stream = await connect_stream(http, server.http_url, world_id)
            try:
                yield stream
            finally:
                await stream.close()
    else:
        raise ValueError(f"unknown transport {transport!r}; known: {', '.join(TRANSPORTS)}")


@dataclass
class Held:
    """What a benched viewer holds, and what it has been sent."""

    keys: set[tuple[int, int, int]] = field(default_factory=set)
    tiles_received: int = 0
    bytes_received: int = 0
    bytes_by_lod: dict[int, list[int]] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def add(self, key: TileKey, size: int) -> None:
        self.keys.add((key.lod, key.ix, key.iz))
        self.tiles_received += 1
        self.bytes_received += size
        self.bytes_by_lod.setdefault(key.lod, []).append(size)


async def take(stream: Stream, held: Held, event: object) -> ReceivedProgress | None:
    """Apply one stream event to ``held`` (acking tiles); return it if it is a progress event."""
    if isinstance(event, ReceivedTile):
        held.add(event.key, len(event.data))
        await stream.ack([event.key])
    elif isinstance(event, ReceivedUnload):
        held.keys.discard((event.key.lod, event.key.ix, event.key.iz))
    elif isinstance(event, ReceivedError):
        held.errors.append(event.message)
    elif isinstance(event, ReceivedProgress):
        return event
    return None


async def settle(stream: Stream, events: AsyncIterator[object], held: Held, sequence: int) -> None:
    """Read (acking every tile) until the update numbered ``sequence`` is fully served."""
    async for event in events:
        progress = await take(stream, held, event)
        if progress is not None and progress.sequence >= sequence and progress.tiles_pending == 0:
            return
    raise RuntimeError("the stream ended before the update was served")


def run_on_fresh_server(
    prefix: str, cores: int, workers: int, scenario: Callable[[ServerProcess], Coroutine[Any, Any, dict]]
) -> dict:
    """Run ``scenario`` against a new server on a temporary data folder; add the machine baseline."""
    base = baseline_ms()
    with tempfile.TemporaryDirectory(prefix=prefix) as data:
        server = bench_server(Path(data), cores, workers)
        try:
            result = asyncio.run(scenario(server))
        finally:
            server.stop()
    result["baseline_ms"] = round(base, 2)
    return result


VIEWPORT_PX = 720  # the benched viewer's image height: what screen-space error is measured in


def viewer_pose(position: Vec3, forward: Vec3, velocity: Vec3, radius_m: float, vertical_fov_deg: float) -> Pose:
    """A benched viewer's pose: its image is VIEWPORT_PX high."""
    return Pose(position, forward, velocity, vertical_fov_deg, VIEWPORT_PX, radius_m)


async def send_pose(stream: Stream, pose: Pose, fmt: str, sequence: int) -> None:
    await stream.send(pose, formats=[fmt], sequence=sequence)


def rss_bytes(pid: int, with_children: bool = False) -> int:
    """Resident memory of a process (and, if asked, of its child processes), from /proc."""
    total = _rss_one(pid)
    if with_children:
        for child in _children(pid):
            total += rss_bytes(child, with_children=True)
    return total


def _rss_one(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _children(pid: int) -> list[int]:
    found: list[int] = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            found += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return found


def percentile_ms(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(q / 100.0 * (len(ordered) - 1))))
    return round(ordered[index] * 1000.0, 2)


class Clock:
    """Seconds since it was made (monotonic)."""

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def __call__(self) -> float:
        return time.perf_counter() - self.start
