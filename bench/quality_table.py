"""Run ``worldbridge quality`` on every photo of a folder and print the bench table rows.

    python bench/quality_table.py ../shared/photos --distance 10000 --out quality-all

Each report runs in its own process (its own server and workers) with one thread each, ``--jobs``
at a time (by default one per three cores: a walk, its server and its workers). The JSON reports and
their views are kept under ``--out/<photo stem>/``; the markdown rows of bench/README.md's quality
table go to stdout. The figures depend only on the commit, not on the machine. The likeness columns
are the worst over every view of the report (bridge/likeness.py): the lowest structure_ratio and
sharpness_ratio and the largest colour_distance, each with the view it comes from.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path


def _run_one(photo: Path, distance_m: float, out: Path, threads: int = 1) -> dict:
    n = str(threads)
    env = {**os.environ, "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n}
    views = out / photo.stem
    views.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "bridge", "quality", str(photo), "--distance", str(distance_m), "--json"]
    args += ["--out", str(views)]
    with (views / "log.txt").open("w") as log:
        done = subprocess.run(args, stdout=subprocess.PIPE, stderr=log, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{photo.name}: quality exited {done.returncode}; see {views / 'log.txt'}")
    report = json.loads(done.stdout)
    (views / "report.json").write_text(json.dumps(report, indent=1))
    return report


def _run_all(photos: list[Path], distance_m: float, out: Path, jobs: int, threads: int) -> dict[str, dict]:
    with ThreadPoolExecutor(max_workers=jobs) as pool:
        reports = pool.map(lambda photo: _run_one(photo, distance_m, out, threads), photos)
        return {photo.stem: report for photo, report in zip(photos, reports, strict=True)}


def _worst(entries: list[dict], figure: str, worst: Callable[..., dict]) -> str:
    """The worst of one likeness figure over all views, with the view's name ("exempt" when structure is)."""
    measured = [e for e in entries if e.get(figure) is not None]
    if not measured:
        return "exempt" if entries and "structure_exempt" in entries[0] else "-"
    entry = worst(measured, key=lambda e: e[figure])
    return f"{entry[figure]:.2f} ({entry['view']})"


def _row(name: str, r: dict) -> str:
    drift = r["drift"]
    low, high = r["spawn_depth_range_m"]
    likeness = r.get("likeness", [])
    cells = (
        f"| {name} | {r['distance_m'] / 1000:.1f} km | {r['spawn_psnr_db']:.2f} | {low:.1f}-{high:.1f} | "
        f"{'yes' if r['revisit_identical'] else 'NO'} | {r['seam_max_gap_m']:.2f} | "
        f"{drift['mean_colour_per_km']:.2%} | {drift['contrast_per_km']:.2%} | {drift['sharpness_per_km']:.2%} |"
    ).replace("%", " %")
    return cells + (
        f" {r['spawn_psnr_clipped_db']:.2f} | {r['spawn_psnr_full_db']:.2f} | "
        f"{_worst(likeness, 'structure_ratio', min)} | {_worst(likeness, 'sharpness_ratio', min)} | "
        f"{_worst(likeness, 'colour_distance', max)} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", type=Path, help="a folder of photos (*.png, *.jpg)")
    parser.add_argument("--distance", type=float, default=10_000.0, help="metres to walk (default 10000)")
    parser.add_argument("--out", type=Path, default=Path("quality-all"), help="where reports and views go")
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)) // 3 or 1, help="reports at once")
    parser.add_argument("--threads", type=int, default=1, help="threads per report's renders (default 1)")
    parser.add_argument("--only", nargs="*", default=None, help="photo stems to run (default: every photo)")
    args = parser.parse_args()
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    photos = [p for p in photos if args.only is None or p.stem in args.only]
    if not photos:
        raise SystemExit(f"no photos in {args.photos}")
    reports = _run_all(photos, args.distance, args.out, args.jobs, args.threads)
    print(
        "| photo | walked | spawn PSNR dB | depth p5-p95 m | revisit identical | seam max m "
        "| colour drift /km | contrast /km | sharpness /km | spawn PSNR clipped dB | spawn PSNR full res dB "
        "| lowest structure | lowest sharpness | largest colour distance |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|")
    for name, report in reports.items():
        print(_row(name, report))
    seconds = [r["seconds"] for r in reports.values()]
    print(f"\n{len(reports)} reports, {min(seconds):.0f}-{max(seconds):.0f} s each, generator {report['generator']}")


if __name__ == "__main__":
    main()
