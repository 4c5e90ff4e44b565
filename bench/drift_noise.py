"""How noisy is the quality report's drift figure for a world of two unlike ground materials?

    python bench/drift_noise.py --shares 0.44 0.56 --values 0.0055 0.0006

The world's fields are stationary, so any drift the report measures is the noise of its estimate.
This simulates that estimate on the material field alone, fast enough for many walks: each view
is reduced to the ground it sees (points 6-150 m ahead across the view, weighted by how many
pixels they cover from eye height), each material gives the view statistic a value (``--values``:
e.g. lyra2_05's sharpness of water and snow), and the report's least-squares trend relative to
the first km is taken along ``--lines`` parallel 10 km walks. It prints the median, 90th
percentile and largest figure for each measurement the report has used, the last being what
it does now (read from bridge.quality).
"""

from __future__ import annotations

import argparse

import numpy as np

from bridge.generate.photo import materials
from bridge.generate.photo.materials import calibrate_biases, material_weights
from bridge.quality import DRIFT_EVERY_STEPS, SIDE_OFFSETS_M, STEP_M

# (label, metres between measured places, lateral offsets of the views there)
MEASUREMENTS = (
    ("one view every 167 m", 167.0, (0.0,)),
    ("three views every 83 m", 83.0, (-30.0, 0.0, 30.0)),
    ("three views every 50 m", 50.0, (-30.0, 0.0, 30.0)),
    (
        f"now: {len(SIDE_OFFSETS_M)} views every {STEP_M * DRIFT_EVERY_STEPS:.0f} m",
        STEP_M * DRIFT_EVERY_STEPS,
        SIDE_OFFSETS_M,
    ),
)
REFERENCE_START_M = 192.0  # where the report's first km of continuation starts
WALK_M = 10_000.0


def _view_footprint() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(x, z, weight) of ground points a forward view sees, relative to the viewer (-z ahead)."""
    distance = np.geomspace(6.0, 150.0, 30)
    across = np.linspace(-0.6, 0.6, 11)  # the view's half-width at 1 m ahead, about 62 degrees
    d, a = np.meshgrid(distance, across)
    weight = 1.0 / d**2  # pixels per sample: rows thin out as 1/d^2, the samples' width grows as d
    return (d * a).ravel(), -d.ravel(), (weight / weight.sum()).ravel()


def simulate(shares: np.ndarray, values: np.ndarray, lines: int, seed: int) -> None:
    biases = calibrate_biases(shares, seed)
    fx, fz, weight = _view_footprint()
    for label, every_m, offsets in MEASUREMENTS:
        places = np.arange(REFERENCE_START_M, WALK_M, every_m)
        km = places / 1000.0
        figures = []
        for line in range(lines):
            x0 = 1000.0 * line  # parallel walks, 1 km apart: nearly independent draws of the field
            statistic = np.zeros(len(places))
            for offset in offsets:
                x = (fx[None, :] + x0 + offset + 0.0 * places[:, None]).ravel()
                z = (fz[None, :] - places[:, None]).ravel()
                mix = material_weights(x, z, biases, seed).reshape(len(places), len(fx), len(shares))
                statistic += np.einsum("p,vpm,m->v", weight, mix, values) / len(offsets)
            reference = statistic[km < (REFERENCE_START_M + 1000.0) / 1000.0].mean()
            figures.append(abs(np.polyfit(km, statistic, 1)[0]) / reference)
        f = np.array(figures)
        print(
            f"{label:24s} median {np.median(f):.2%}  p90 {np.percentile(f, 90):.2%}  largest {f.max():.2%}"
            f"  over 2 %/km: {np.mean(f > 0.02):.0%} of {lines} walks"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shares", type=float, nargs="+", default=[0.44, 0.56], help="each material's share")
    parser.add_argument("--values", type=float, nargs="+", default=[0.0055, 0.0006], help="statistic per material")
    parser.add_argument("--lines", type=int, default=40, help="parallel walks to simulate")
    parser.add_argument("--seed", type=int, default=0, help="world seed")
    parser.add_argument("--patches-of-2026-11", action="store_true", help="the 64 m patches used before 2026-12-03")
    args = parser.parse_args()
    if args.patches_of_2026_11:
        materials.PATCH_CELL_M, materials.DETAIL_CELL_M, materials.BORDER_SOFTNESS = 64.0, 23.0, 0.008
    if len(args.shares) != len(args.values):
        parser.error("--shares and --values need one number per material each")
    shares = np.array(args.shares) / sum(args.shares)
    simulate(shares, np.array(args.values), args.lines, args.seed)


if __name__ == "__main__":
    main()
