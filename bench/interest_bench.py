"""The interest set's cost per viewer pose: the key-by-key walk against the array selection.

For each real pose of ``tests/interest_support.walks`` (10 m/s walkers, a 50 m/s runner, a
circle, stop-and-go; four viewports and radii), the time to choose the interest set and order it
by urgency, as the session does once per pose: before, ``select_tiles_walk`` and each key scored
on its own; now, ``select_cells`` and ``prioritise_cells``. Both in the same run, alternating
pose by pose so machine load falls on both alike; the ratio is the headline. Prints one JSON line.

    .venv/bin/python bench/interest_bench.py --repeat 5
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/, for the poses and the reference

from bridge.stream.interest import StreamOptions, keys_of, prioritise_cells, select_cells, select_tiles_walk
from bridge.stream.pose import Pose
from tests.interest_support import WORLD, prioritised_by_key, walks


def by_key(pose: Pose, options: StreamOptions) -> int:
    return len(prioritised_by_key(select_tiles_walk(pose, WORLD, options), pose, WORLD, options))


def by_array(pose: Pose, options: StreamOptions) -> int:
    cells = select_cells(pose, WORLD, options)
    order, _ = prioritise_cells(cells, pose, WORLD, options)
    return len(keys_of(cells[order]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeat", type=int, default=5, help="passes over the poses")
    args = parser.parse_args()
    options = StreamOptions()
    poses = walks()
    times: dict[str, list[float]] = {"by_key": [], "by_array": []}
    tiles = []
    for _ in range(args.repeat):
        for pose in poses:
            for name, fn in (("by_key", by_key), ("by_array", by_array)):
                began = time.perf_counter()
                count = fn(pose, options)
                times[name].append(time.perf_counter() - began)
            tiles.append(count)
    median = {name: statistics.median(values) * 1e3 for name, values in times.items()}
    total = {name: sum(values) for name, values in times.items()}
    print(
        json.dumps(
            {
                "bench": "interest",
                "poses": len(poses) * args.repeat,
                "tiles_per_pose_median": statistics.median(tiles),
                "by_key_ms_median": round(median["by_key"], 3),
                "by_array_ms_median": round(median["by_array"], 3),
                "baseline_ms": round(median["by_key"], 3),
                "ratio_median": round(median["by_key"] / median["by_array"], 2),
                "ratio_total": round(total["by_key"] / total["by_array"], 2),
            }
        )
    )


if __name__ == "__main__":
    main()
