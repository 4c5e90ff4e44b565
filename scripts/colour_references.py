"""Write bridge/assets/colour_references.json: the CIELAB histograms of the sample photos.

    .venv/bin/python scripts/colour_references.py ../shared/photos

The quality report's ``colour_distance`` divides a view's histogram distance to the photo by the
median distance between the photo and these photos (bridge/likeness.py), so it needs them in a fresh
clone too. Rerun after changing ``bridge.likeness.LAB_BINS``; the file is deterministic.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bridge.likeness import REFERENCES_FILE, reference_document
from bridge.world.photos import decode_photo

OUT = Path(__file__).resolve().parents[1] / "bridge" / "assets" / REFERENCES_FILE


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("photos", type=Path, help="the folder of sample photos (lyra2_*.png)")
    parser.add_argument("--out", type=Path, default=OUT, help=f"where the JSON goes (default {OUT})")
    args = parser.parse_args()
    paths = sorted(args.photos.glob("lyra2_*.png"))
    if not paths:
        raise SystemExit(f"no lyra2_*.png in {args.photos}")
    document = reference_document({p.stem: decode_photo(p.read_bytes()) for p in paths})
    # One photo a line: the file stays small and a diff says which photo changed.
    lines = [json.dumps(photo, separators=(",", ":")) for photo in document["photos"]]
    head = json.dumps({"about": document["about"], "bins": document["bins"]})[:-1]
    args.out.write_text(head + ', "photos": [\n' + ",\n".join(lines) + "\n]}\n")
    print(f"{args.out}: {len(paths)} photos")


if __name__ == "__main__":
    main()
