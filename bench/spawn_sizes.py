"""The spawn view against the photo at the sizes people look at it: 640, 960 and 1280 px across.

    python bench/spawn_sizes.py ../shared/photos                  # markdown rows, every photo
    python bench/spawn_sizes.py ../shared/photos --json --only lyra2_06 --widths 480 640 1280 --out /tmp/spawn

For each photo: ``prepare``'s time, then per width the PSNR of the spawn view (whole frame, sky
included) against the photo area-resized to it, rendered from the tiles a viewer of that size holds
at the spawn (``select_tiles``, 160 m radius, as bench/look.py and the web viewer choose them) and
how many splats those are (bridge.client.views.spawn_comparison, as the quality report measures
it). ``--out`` keeps each "photo | render" picture as ``<photo>_<width>.png``. Run it in an
older checkout to compare generators (the table in bench/README.md was made so).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from PIL import Image

from bridge.client.views import spawn_comparison
from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.render.images import to_uint8
from bridge.stream.interest import StreamOptions, select_tiles
from bridge.stream.pose import Pose
from bridge.world.grid import TileGrid
from bridge.world.photos import decode_photo

WIDTHS = (640, 960, 1280)
RADIUS_M = 160.0


def measure(path: Path, out: Path | None, widths: tuple[int, ...] = WIDTHS) -> dict:
    photo = decode_photo(path.read_bytes())
    generator = PhotoGenerator()
    started = time.perf_counter()
    world = generator.prepare(photo, GeneratorOptions())
    record: dict = {
        "photo": path.name,
        "version": generator.version,
        "prepare_s": round(time.perf_counter() - started, 2),
    }
    grid = TileGrid(world.options.base_tile_m, generator.splats_per_tile_edge)
    spawn = world.spawn.intrinsics
    for width in widths:
        k = spawn.scaled(width, round(width * spawn.height / spawn.width))
        camera = world.spawn.with_intrinsics(k)
        pose = Pose(
            tuple(camera.position), tuple(camera.forward), (0.0, 0.0, 0.0), k.vertical_fov_deg, k.height, RADIUS_M
        )
        cloud = SplatCloud.concat(
            [generator.generate(world, key).splats for key in select_tiles(pose, grid, StreamOptions())]
        )
        value, picture = spawn_comparison(cloud, camera, world.sky.panorama, photo)
        record[f"psnr_{width}_db"] = round(value, 2)
        record[f"splats_{width}"] = len(cloud)
        if out is not None:
            Image.fromarray(to_uint8(picture)).save(out / f"{path.stem}_{width}.png")
    return record


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="a folder of photos (PNG or JPEG)")
    parser.add_argument("--only", nargs="*", help="photo names without extension")
    parser.add_argument("--json", action="store_true", help="one JSON object per photo instead of markdown rows")
    parser.add_argument("--out", type=Path, help="keep each render here")
    parser.add_argument("--widths", type=int, nargs="+", default=list(WIDTHS), help="view widths, pixels")
    args = parser.parse_args()
    if args.out is not None:
        args.out.mkdir(parents=True, exist_ok=True)
    paths = sorted(p for p in args.photos.iterdir() if p.suffix.lower() in (".png", ".jpg", ".jpeg"))
    if args.only:
        paths = [p for p in paths if p.stem in args.only]
    for path in paths:
        record = measure(path, args.out, tuple(args.widths))
        if args.json:
            print(json.dumps(record), flush=True)
        else:
            cells = [f"{record[f'psnr_{w}_db']:.2f} dB ({record[f'splats_{w}'] / 1e6:.2f}M)" for w in args.widths]
            print(
                f"| {path.stem} | {record['version']} | {record['prepare_s']:.2f} s | " + " | ".join(cells) + " |",
                flush=True,
            )


if __name__ == "__main__":
    main()
