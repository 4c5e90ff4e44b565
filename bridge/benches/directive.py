"""``worldbridge bench directive``: ApplyDirective to the changed tiles arriving at a connected viewer.

A fresh ``worldbridge serve`` makes a world from the photo; a gRPC viewer at the spawn (256 m
view radius) receives everything it wants; then, ``runs`` times, a second client applies a place
directive ("a stone tower", 40 m ahead, a little further to the side each time) and the clock
runs until the viewer holds the new bytes of every tile it was told changed (its progress says
nothing is pending). Each directive is reverted (also timed) before the next.
"""

from __future__ import annotations

import json
import math
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

from bridge.benches.viewers import run_on_fresh_server, viewer_pose
from bridge.client.client import (
    ReceivedChanged,
    ReceivedError,
    ReceivedProgress,
    ReceivedTile,
    TileStream,
    WorldBridgeClient,
)
from bridge.client.server_process import ServerProcess

RADIUS_M = 256.0
AHEAD_M = 40.0


@dataclass(frozen=True)
class DirectiveBenchOptions:
    photo: Path
    runs: int = 5
    cores: int = 2
    workers: int = 2


def bench_directive(options: DirectiveBenchOptions) -> dict:
    data = options.photo.read_bytes()
    result = run_on_fresh_server(
        "wb-directive-", options.cores, options.workers, lambda server: _scenario(server, data, options.runs)
    )
    apply_ms, revert_ms = result.pop("apply_ms"), result.pop("revert_ms")
    return {
        "bench": "directive",
        "photo": options.photo.name,
        "cores": options.cores,
        "workers": options.workers,
        "runs": len(apply_ms),
        "radius_m": RADIUS_M,
        "apply_to_arrival_ms_median": round(statistics.median(apply_ms), 1),
        "apply_to_arrival_ms": apply_ms,
        "revert_to_arrival_ms_median": round(statistics.median(revert_ms), 1),
        "revert_to_arrival_ms": revert_ms,
        **result,
        "apply_over_baseline": round(statistics.median(apply_ms) / result["baseline_ms"], 1),
    }


async def _until_settled(stream: TileStream, need_change: bool) -> tuple[int, int]:
    """Read (acking tiles) until nothing is pending (after a change was said, if ``need_change``):
    (tiles said to have changed, tiles received)."""
    changed = tiles = 0
    async for event in stream.events():
        if isinstance(event, ReceivedTile):
            tiles += 1
            await stream.ack([event.key])
        elif isinstance(event, ReceivedChanged):
            changed += 1
        elif isinstance(event, ReceivedError):
            raise RuntimeError(f"the stream reported: {event.message}")
        elif isinstance(event, ReceivedProgress) and event.tiles_pending == 0 and (changed or not need_change):
            return changed, tiles
    raise RuntimeError("the stream ended")


async def _scenario(server: ServerProcess, photo: bytes, runs: int) -> dict:
    async with WorldBridgeClient(server.target) as viewer_client, WorldBridgeClient(server.target) as editor:
        await viewer_client.wait_ready()
        world = await editor.create_world(photo)
        p, f = world.spawn.position, world.spawn.forward
        heading = math.atan2(f.x, -f.z)
        stream = viewer_client.stream(world.id)
        try:
            pose = viewer_pose((p.x, p.y, p.z), (f.x, 0.0, f.z), (0.0, 0.0, 0.0), RADIUS_M, 60.0)
            await stream.send(pose, sequence=1)
            _, held = await _until_settled(stream, need_change=False)
            apply_ms, revert_ms, changed_counts = [], [], []
            for i in range(runs):
                side = (i - runs // 2) * 12.0  # a fresh spot each run: nothing cached helps
                x = p.x + AHEAD_M * math.sin(heading) + side * math.cos(heading)
                z = p.z - AHEAD_M * math.cos(heading) + side * math.sin(heading)
                directive = {
                    "kind": "place",
                    "region": {"circle": {"center": [x, z], "radius": 5}},
                    "structure": "a stone tower",
                }
                started = time.perf_counter()
                result = await editor.apply_directive(world.id, json.dumps(directive))
                changed, _ = await _until_settled(stream, need_change=True)
                apply_ms.append(round((time.perf_counter() - started) * 1000, 1))
                changed_counts.append(changed)
                started = time.perf_counter()
                await editor.revert_directive(world.id, result.directive_id)
                await _until_settled(stream, need_change=True)
                revert_ms.append(round((time.perf_counter() - started) * 1000, 1))
        finally:
            stream.cancel()
    return {"tiles_held": held, "tiles_changed": changed_counts, "apply_ms": apply_ms, "revert_ms": revert_ms}
