"""One picture of what a quality report saw: the look-around, the walk-in and the km views.

    python bench/world_sheet.py quality-all/lyra2_06 docs/world_lyra2_06.jpg --km 1 2 5 10

Reads the RGBA views ``worldbridge quality --out DIR`` wrote (spawn_000.png ... spawn_315.png,
walkin_010m.png ..., km_01.png ...) and lays them out four to a row, each labelled, on a JPEG:
the views as a person sees them (sky included), for the README and docs/.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from PIL import Image, ImageDraw

TILE_WIDTH = 320
LABEL_PX = 16


def views(folder: Path, km: list[int]) -> list[tuple[str, Path]]:
    """(label, file) of the views to show, in order, those the report wrote."""
    wanted = [(f"spawn, heading {h}", folder / f"spawn_{h:03d}.png") for h in range(0, 360, 45)]
    wanted += [(f"{d} m in", folder / f"walkin_{d:03d}m.png") for d in (10, 20, 50)]
    wanted += [(f"km {k}", folder / f"km_{k:02d}.png") for k in km]
    return [(label, path) for label, path in wanted if path.exists()]


def sheet(shown: list[tuple[str, Path]], columns: int = 4) -> Image.Image:
    tiles = []
    for label, path in shown:
        image = Image.open(path).convert("RGB")  # alpha is the coverage measure, not transparency
        image = image.resize((TILE_WIDTH, round(image.height * TILE_WIDTH / image.width)), Image.Resampling.LANCZOS)
        framed = Image.new("RGB", (TILE_WIDTH, image.height + LABEL_PX), (24, 24, 24))
        framed.paste(image, (0, LABEL_PX))
        ImageDraw.Draw(framed).text((4, 2), label, fill=(235, 235, 235))
        tiles.append(framed)
    rows = -(-len(tiles) // columns)
    height = max(t.height for t in tiles)
    out = Image.new("RGB", (columns * TILE_WIDTH, rows * height), (24, 24, 24))
    for i, tile in enumerate(tiles):
        out.paste(tile, ((i % columns) * TILE_WIDTH, (i // columns) * height))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", type=Path, help="a quality report's --out folder")
    parser.add_argument("out", type=Path, help="the JPEG to write")
    parser.add_argument("--km", type=int, nargs="*", default=[1, 2, 5, 10], help="which km views (default 1 2 5 10)")
    args = parser.parse_args()
    shown = views(args.folder, args.km)
    if not shown:
        raise SystemExit(f"no views in {args.folder}")
    sheet(shown).save(args.out, quality=85)
    print(args.out)


if __name__ == "__main__":
    main()
