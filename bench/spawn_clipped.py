"""The spawn view as renderers that clip see it: raw, clipped and 8-bit PSNR on every photo.

    python bench/spawn_clipped.py ../shared/photos            # the table (markdown rows)
    python bench/spawn_clipped.py ../shared/photos --json     # one JSON object per photo

The spawn splats are what a viewer at the spawn holds after its first update in the quality walk
(bridge/quality/report.py: the interest set for its view radius, moving forward at 50 m/s), generated in
this process. Each is rendered from the photo's camera at 640 px against the photo, as
bridge/client/views.spawn_comparison does it:

- raw: the splats as generated (the renderer clips only the composited image);
- clipped: colours clipped to [0, 1] and opacities capped at 0.99 before rendering, as standard
  3DGS renderers and engine importers take them;
- 8-bit: clipped, then colours and opacities rounded to 1/255 (SPZ, PLY as uint8, engine textures).

Also the share of the solved lifted-photo colours below 0 and above 1.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from bridge.client.players import ground_heading
from bridge.client.views import spawn_comparison
from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions, PreparedWorld
from bridge.generate.photo import PhotoGenerator
from bridge.generate.photo.analysis import KIND_SKY
from bridge.quality.report import RADIUS_M  # the quality walk's view radius
from bridge.stream.interest import StreamOptions, select_tiles
from bridge.stream.pose import Pose
from bridge.world.camera import Camera
from bridge.world.grid import TileGrid
from bridge.world.photos import decode_photo

VIEW_WIDTH = 640  # the quality report's spawn view (the lift resolution)
WALK_SPEED_MPS = 1.4  # the quality walk's velocity at the spawn (bridge/quality/report.py)
MAX_OPACITY = 0.99  # what 3DGS renderers cap opacity at


def spawn_splats(generator: PhotoGenerator, world: PreparedWorld, spawn: Camera) -> SplatCloud:
    """The tiles the quality walk's first update asks for, generated and joined."""
    k = spawn.intrinsics
    velocity = ground_heading(spawn.forward) * WALK_SPEED_MPS
    view = Pose(tuple(spawn.position), tuple(spawn.forward), tuple(velocity), k.vertical_fov_deg, k.height, RADIUS_M)
    grid = TileGrid(world.options.base_tile_m, generator.splats_per_tile_edge)
    keys = sorted(select_tiles(view, grid, StreamOptions()))
    return SplatCloud.concat([generator.generate(world, key).splats for key in keys])


def clipped(cloud: SplatCloud, levels: int | None = None) -> SplatCloud:
    """``cloud`` with colours in [0, 1] and opacities <= 0.99, rounded to ``levels`` steps if given."""
    colours = np.clip(cloud.colors, 0.0, 1.0)
    opacities = np.minimum(cloud.opacities, MAX_OPACITY)
    if levels is not None:
        colours = np.round(colours * levels) / levels
        opacities = np.round(opacities * levels) / levels
    return SplatCloud.from_arrays(cloud.positions, cloud.scales, cloud.rotations, opacities, colours)


def measure(path: Path) -> dict:
    photo = decode_photo(path.read_bytes())
    generator = PhotoGenerator()
    world = generator.prepare(photo, GeneratorOptions())
    full = world.spawn.intrinsics
    spawn = world.spawn.with_intrinsics(full.scaled(VIEW_WIDTH, round(full.height * VIEW_WIDTH / full.width)))
    cloud = spawn_splats(generator, world, spawn)
    sky = world.sky.panorama
    solved = world.payload["colours"][world.payload["kind"] != KIND_SKY]
    return {
        "photo": path.stem,
        "raw_db": spawn_comparison(cloud, spawn, sky, photo)[0],
        "clipped_db": spawn_comparison(clipped(cloud), spawn, sky, photo)[0],
        "eight_bit_db": spawn_comparison(clipped(cloud, 255), spawn, sky, photo)[0],
        "below_0": float((solved < 0.0).mean()),
        "above_1": float((solved > 1.0).mean()),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photos", type=Path, help="a folder of photos (*.png, *.jpg) or one photo")
    parser.add_argument("--json", action="store_true", help="one JSON object per photo instead of the table")
    args = parser.parse_args()
    photos = (
        sorted(p for p in args.photos.iterdir() if p.suffix in {".png", ".jpg"})
        if args.photos.is_dir()
        else [args.photos]
    )
    if not args.json:
        print("| photo | raw dB | clipped dB | 8-bit dB | colours < 0 | colours > 1 |")
        print("| --- | --- | --- | --- | --- | --- |")
    for photo in photos:
        r = measure(photo)
        if args.json:
            print(json.dumps(r), flush=True)
        else:
            print(
                f"| {r['photo']} | {r['raw_db']:.2f} | {r['clipped_db']:.2f} | {r['eight_bit_db']:.2f} | "
                f"{r['below_0']:.2%} | {r['above_1']:.2%} |".replace("%", " %"),
                flush=True,
            )


if __name__ == "__main__":
    main()
