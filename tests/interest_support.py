"""Real viewer poses and a key-by-key reference for the interest set's order (no tests here):
the interest tests check the array code against it, and bench/interest_bench.py times both."""

from __future__ import annotations

import math

from bridge.client import players
from bridge.generate.photo.generator import PhotoGenerator
from bridge.stream.interest import StreamOptions
from bridge.stream.pose import Pose
from bridge.world.grid import TileGrid
from bridge.world.keys import TileKey

WORLD = TileGrid(8.0, PhotoGenerator.splats_per_tile_edge)  # a photo world's tiling


def walks() -> list[Pose]:
    """Real viewer poses: the soak's 10 m/s walkers, a runner, a circle, stop-and-go, at the
    spawn's eye height, seen through a few viewports and radii."""
    start, forward = (3.3, 1.7, -2.1), (0.3, -0.1, -1.0)
    trails = [
        players.random_walk(start, forward, 10.0, 30.0, 0.5, seed=seed, turn_every_s=(1.0, 5.0)) for seed in (1, 2)
    ]
    trails.append(players.straight_line(start, forward, 50.0, 8.0, 0.5))
    trails.append(players.circle((0.0, 1.7, 0.0), 60.0, 10.0, 20.0, 0.5))
    trails.append(players.stop_and_go(start, forward, 10.0, 10.0, 0.5, go_s=2.0, stop_s=2.0))
    screens = [(60.0, 720, 0, 128.0), (75.0, 1080, 1920, 256.0), (45.0, 480, 480, 64.0), (60.0, 720, 0, 1024.0)]
    return [
        Pose(p.position, p.forward, p.velocity, fov, height, radius, width)
        for i, trail in enumerate(trails)
        for j, p in enumerate(trail)
        for fov, height, width, radius in [screens[(i + j) % len(screens)]]
    ]


def prioritised_by_key(
    keys: list[TileKey], view: Pose, grid: TileGrid, options: StreamOptions
) -> list[tuple[TileKey, float]]:
    """A straightforward reference for the session's order: each key's urgency on its own (the
    per-key scoring the server used before it scored arrays)."""
    px, _, pz = view.position
    ax, az = px + view.velocity[0] * options.lookahead_s, pz + view.velocity[2] * options.lookahead_s
    norm = math.hypot(view.forward[0], view.forward[2]) or 1.0
    fx, fz = view.forward[0] / norm, view.forward[2] / norm
    scored = []
    for index, key in enumerate(keys):
        cx, cz = key.center(grid.base_tile_m)
        dx, dz = cx - px, cz - pz
        facing = (dx * fx + dz * fz) / max(math.hypot(dx, dz), 1e-6)
        near = min(key.distance_m(px, pz, grid.base_tile_m), key.distance_m(ax, az, grid.base_tile_m))
        scored.append((near * (1.5 - 0.5 * facing), key.lod, index, key))
    return [(key, score) for score, _, _, key in sorted(scored)]
