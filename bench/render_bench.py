"""Time the CPU rasteriser on synthetic scenes: ``.venv/bin/python bench/render_bench.py --help``.

Prints one JSON object: the best and median wall time of ``render_torch`` over the repeats (after
one warm-up render), the torch thread count and the process's peak resident memory. Shared
machines are noisy: trust the best time, and compare runs made on one machine.

Scenes (seeded, so every run renders the same splats):
- ``volume``: splats filling the view frustum from 2 to 40 m, log-normal sizes around 5 cm, random
  rotations and opacities: much overlap, about 60 (pixel, splat) pairs per pixel at 300k splats.
- ``surface``: flat, mostly opaque discs on a ground plane, a back wall and a few boxes, sized to
  their distance as a fitted 3DGS scene would be: less overlap, early saturation.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import sys
import time

import numpy as np
import torch

from bridge.formats.splats import SplatCloud
from bridge.render.rasterize import render_torch
from bridge.world.camera import Camera, Intrinsics


def volume_scene(n: int, seed: int = 0) -> SplatCloud:
    rng = np.random.default_rng(seed)
    z = rng.uniform(2.0, 40.0, n)
    x = rng.uniform(-1.0, 1.0, n) * z * 0.9
    y = rng.uniform(-1.0, 1.0, n) * z * 0.55
    return SplatCloud.from_arrays(
        np.stack([x, y, -z], axis=1),
        np.exp(rng.normal(np.log(0.05), 0.6, (n, 3))),
        rng.normal(size=(n, 4)),
        rng.uniform(0.05, 1.0, n),
        rng.uniform(0.0, 1.0, (n, 3)),
    )


def surface_scene(n: int, seed: int = 0) -> SplatCloud:
    rng = np.random.default_rng(seed)
    n_ground, n_wall = n // 2, n // 4
    n_boxes = n - n_ground - n_wall
    # Ground y = -1.6 from 1 to 60 m ahead, denser near the camera as a photo's pixels are.
    dist = 1.0 + 59.0 * rng.power(0.5, n_ground)
    ground = np.stack([rng.uniform(-1.0, 1.0, n_ground) * dist * 1.1, np.full(n_ground, -1.6), -dist], axis=1)
    wall = np.stack([rng.uniform(-70, 70, n_wall), rng.uniform(-1.6, 40, n_wall), np.full(n_wall, -60.0)], axis=1)
    # Box faces: points on the faces of axis-aligned boxes standing on the ground.
    centres = np.stack([rng.uniform(-15, 15, 24), np.zeros(24), -rng.uniform(6, 45, 24)], axis=1)
    half = rng.uniform(0.8, 3.0, (24, 3))
    centres[:, 1] = -1.6 + half[:, 1]
    which = rng.integers(0, 24, n_boxes)
    local = rng.uniform(-1.0, 1.0, (n_boxes, 3))
    axis = rng.integers(0, 3, n_boxes)
    local[np.arange(n_boxes), axis] = np.sign(local[np.arange(n_boxes), axis])
    boxes = centres[which] + local * half[which]
    positions = np.concatenate([ground, wall, boxes])
    depth = np.maximum(-positions[:, 2], 1.0)
    size = 0.004 * depth * np.exp(rng.normal(0.0, 0.4, n))  # about 1.5 px at 640x360
    scales = np.stack([size, size * rng.uniform(0.5, 1.0, n), size * 0.1], axis=1)
    # A colour per surface (ground, wall, each box) with per-splat noise, so the picture reads.
    palette = rng.uniform(0.15, 0.9, (26, 3))
    surface = np.concatenate([np.zeros(n_ground, int), np.ones(n_wall, int), 2 + which])
    colors = palette[surface] + rng.normal(0.0, 0.05, (n, 3))
    return SplatCloud.from_arrays(
        positions,
        scales,
        rng.normal(size=(n, 4)),
        np.where(rng.random(n) < 0.8, rng.uniform(0.9, 1.0, n), rng.uniform(0.1, 0.9, n)),
        colors,
    )


SCENES = {"volume": volume_scene, "surface": surface_scene}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--splats", type=int, default=300_000)
    parser.add_argument("--width", type=int, default=640)
    parser.add_argument("--height", type=int, default=360)
    parser.add_argument("--scene", choices=sorted(SCENES), default="volume")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--threads", type=int, default=0, help="torch intra-op threads (0: torch's default)")
    args = parser.parse_args(argv)
    if args.threads > 0:
        torch.set_num_threads(args.threads)

    splats = SCENES[args.scene](args.splats)
    camera = Camera.looking(
        (0.0, 0.0, 0.0), (0.0, 0.0, -1.0), Intrinsics.from_vertical_fov(60.0, args.width, args.height)
    )
    first = render_torch(splats, camera)
    times = []
    for _ in range(args.repeats):
        started = time.perf_counter()
        render_torch(splats, camera)
        times.append(time.perf_counter() - started)
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # KiB on Linux
    json.dump(
        {
            "scene": args.scene,
            "splats": args.splats,
            "resolution": f"{args.width}x{args.height}",
            "best_s": round(min(times), 3),
            "median_s": round(statistics.median(times), 3),
            "torch_threads": torch.get_num_threads(),
            "peak_rss_mib": round(peak_kib / 1024),
            "mean_alpha": round(float(first.alpha.mean()), 3),
        },
        sys.stdout,
    )
    print()


if __name__ == "__main__":
    main()
