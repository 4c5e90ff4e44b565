"""Run ``worldbridge quality`` on every photo of a folder and print the bench table rows.

    python bench/quality_table.py ../shared/photos --distance 10000 --out quality-all

Each report runs in its own process with its own server, ``--jobs`` reports at a time; a report
renders its views in ``--processes`` processes and its server generates tiles in ``--workers``
processes, one thread each. By default the cores this process may use are shared out: every
photo at once when there are three cores a report or more (on 128 cores: ten reports of 12
cores, 9 rendering and 3 generating), the cores split evenly between the reports. The figures
are the same whatever the split (``worldbridge quality --processes``), only the time changes.
The JSON reports and their views are kept under ``--out/<photo stem>/``; the markdown rows of bench/README.md's quality
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
from dataclasses import dataclass
from pathlib import Path

RENDER_SHARE = 0.75  # of a report's cores, those rendering its views; the rest generate its tiles


@dataclass(frozen=True)
class Split:
    jobs: int  # reports at once
    processes: int  # per report: processes rendering its views
    workers: int  # per report: its server's generation processes
    threads: int = 1  # per process


def _run_one(photo: Path, distance_m: float, out: Path, split: Split) -> dict:
    n = str(split.threads)
    env = {**os.environ, "OMP_NUM_THREADS": n, "OPENBLAS_NUM_THREADS": n, "MKL_NUM_THREADS": n}
    views = out / photo.stem
    views.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-m", "bridge", "quality", str(photo), "--distance", str(distance_m), "--json"]
    args += ["--out", str(views), "--processes", str(split.processes), "--workers", str(split.workers)]
    with (views / "log.txt").open("w") as log:
        done = subprocess.run(args, stdout=subprocess.PIPE, stderr=log, env=env, check=False)
    if done.returncode != 0:
        raise SystemExit(f"{photo.name}: quality exited {done.returncode}; see {views / 'log.txt'}")
    report = json.loads(done.stdout)
    (views / "report.json").write_text(json.dumps(report, indent=1))
    return report


def _run_all(photos: list[Path], distance_m: float, out: Path, split: Split) -> dict[str, dict]:
    with ThreadPoolExecutor(max_workers=split.jobs) as pool:
        reports = pool.map(lambda photo: _run_one(photo, distance_m, out, split), photos)
        return {photo.stem: report for photo, report in zip(photos, reports, strict=True)}


def _split(
    photos: int, cores: int, jobs: int | None, processes: int | None, workers: int | None, threads: int
) -> Split:
    """The cores shared out between the reports, and in each report between rendering its views
    (RENDER_SHARE) and generating its tiles."""
    jobs = jobs or max(1, min(photos, cores // 3))
    per_report = max(1, cores // jobs)
    processes = processes or max(1, round(per_report * RENDER_SHARE))
    workers = workers or max(1, per_report - processes)
    return Split(jobs, processes, workers, threads)


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
    parser.add_argument("--jobs", type=int, default=None, help="reports at once (default: see above)")
    parser.add_argument("--processes", type=int, default=None, help="per report, processes rendering views")
    parser.add_argument("--workers", type=int, default=None, help="per report, server generation processes")
    parser.add_argument("--threads", type=int, default=1, help="threads per process (default 1)")
    parser.add_argument("--only", nargs="*", default=None, help="photo stems to run (default: every photo)")
    parser.add_argument(
        "--from-reports",
        action="store_true",
        help="run nothing: print the table of the reports already under --out (made in several runs or places)",
    )
    args = parser.parse_args()
    photos = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in {".png", ".jpg", ".jpeg"})
    photos = [p for p in photos if args.only is None or p.stem in args.only]
    if not photos:
        raise SystemExit(f"no photos in {args.photos}")
    if args.from_reports:
        reports = _saved_reports(photos, args.out)
    else:
        cores = len(os.sched_getaffinity(0))
        split = _split(len(photos), cores, args.jobs, args.processes, args.workers, args.threads)
        print(f"{len(photos)} photos: {split}", file=sys.stderr)
        reports = _run_all(photos, args.distance, args.out, split)
    _print_table(reports)


def _saved_reports(photos: list[Path], out: Path) -> dict[str, dict]:
    """The reports ``_run_one`` kept under ``out``, by photo; all of one generator version."""
    reports = {
        p.stem: json.loads((out / p.stem / "report.json").read_text())
        for p in photos
        if (out / p.stem / "report.json").is_file()
    }
    if not reports:
        raise SystemExit(f"no report.json under {out}/<photo>/")
    versions = {r["generator"] for r in reports.values()}
    if len(versions) > 1:
        raise SystemExit(f"reports of different generator versions: {sorted(versions)}")
    return reports


def _print_table(reports: dict[str, dict]) -> None:
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
