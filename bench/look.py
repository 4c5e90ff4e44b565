"""Look at a world without a server: render views from any poses, with the tiles a viewer there holds.

For developers judging the world by eye (the quality report is the measured version, through the
real server). The tiles are those the stream core's selection picks for a viewer at each pose
(screen-space error over the quadtree), generated in this process.

    .venv/bin/python bench/look.py ../shared/photos/lyra2_06.png --out /tmp/look06 \
        --view spawn:0,0,0 --view side:3,0,0 --view far:0,0,-500 --heading 90

PHOTO may also be a splat scene (.ply / .spz), which the import generator serves.
Each ``--view NAME:X,Y,Z`` is an offset from the spawn camera in metres (world frame, Y up);
``--heading`` turns the views (degrees, to the right). ``--along D`` adds a view D metres ahead
along the photo's heading, at the spawn's eye height above the ground there, named as the quality
report names its views (``walkin_020m.png``, ``km_05.png``), so bench/world_sheet.py lays them out.
A ``--map`` writes a top-down picture. For a splat scene, ``--scene-alone`` also renders each
``--view`` of the scene's own splats without the continuation (``NAME_HHH_alone.png``): what the
file holds, to tell its own edges from where the world takes over.
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np
from PIL import Image

from bridge.client.players import ground_heading
from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.generate.registry import IMPORT_GENERATOR, generator_for, load_generator
from bridge.generate.scene.placement import place
from bridge.generate.scene.source import read_scene
from bridge.likeness import GroundSampler
from bridge.quality.report import EyeCameras
from bridge.render.rasterize import render
from bridge.render.sky import sky_background
from bridge.stream.interest import StreamOptions, select_tiles
from bridge.stream.pose import Pose
from bridge.world.camera import Camera, Intrinsics
from bridge.world.grid import TileGrid
from bridge.world.photos import decode_photo


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("--out", type=Path, default=Path("/tmp/look"))
    parser.add_argument("--view", action="append", default=[], help="NAME:DX,DY,DZ offset from the spawn")
    parser.add_argument("--heading", type=float, action="append", default=[], help="degrees to the right")
    parser.add_argument("--along", type=float, action="append", default=[], help="metres ahead, eye height")
    parser.add_argument("--width", type=int, default=480)
    parser.add_argument("--radius", type=float, default=256.0)
    parser.add_argument("--map", type=float, default=0.0, help="top-down map of this half-width, metres")
    parser.add_argument("--scene-alone", action="store_true", help="a splat scene's views without the continuation")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)

    data = args.photo.read_bytes()
    options = GeneratorOptions()
    alone = None
    if generator_for(data, None) == IMPORT_GENERATOR:  # a splat scene (.ply / .spz)
        generator = load_generator(IMPORT_GENERATOR)
        world = generator.prepare_source(data, options)
        if args.scene_alone:
            scene = read_scene(data)
            alone = place(scene, options.scene_scale or None, options.scene_spawn or None).apply(scene)
    else:
        generator = PhotoGenerator()
        world = generator.prepare(decode_photo(data), options)
    sky = world.sky.panorama
    spawn = world.spawn
    k = spawn.intrinsics.scaled(args.width, round(spawn.intrinsics.height * args.width / spawn.intrinsics.width))
    cache: dict = {}
    for spec in args.view or ["spawn:0,0,0"]:
        name, offset = spec.split(":")
        delta = np.array([float(v) for v in offset.split(",")])
        for heading in args.heading or [0.0]:
            camera = _turned(spawn, delta, heading, k)
            cloud = _held(generator, world, camera, args.radius, options.base_tile_m, cache)
            image = render(cloud, camera, sky_background(sky, camera)).image
            path = args.out / f"{name}_{int(heading):03d}.png"
            Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(path)
            print(path, f"{len(cloud.positions)} splats")
            if alone is not None:
                image = render(alone, camera, sky_background(sky, camera)).image
                path = args.out / f"{name}_{int(heading):03d}_alone.png"
                Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(path)
                print(path, f"{len(alone.positions)} splats of the scene alone")
    if args.along:
        # The quality report's own eyes: the photo's view from its eye height above the ground there.
        ground = GroundSampler(generator, world)
        eye_height = float(spawn.position[1]) - ground.height(float(spawn.position[0]), float(spawn.position[2]))
        eyes = EyeCameras(spawn, args.width, ground, eye_height)
    for metres in args.along:
        name = f"km_{round(metres / 1000):02d}" if metres >= 1000 else f"walkin_{round(metres):03d}m"
        camera = eyes.at(name, spawn.position + ground_heading(spawn.forward) * metres).camera
        cloud = _held(generator, world, camera, args.radius, options.base_tile_m, cache)
        image = render(cloud, camera, sky_background(sky, camera)).image
        path = args.out / f"{name}.png"
        Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(path)
        print(path, f"{len(cloud.positions)} splats")
    if args.map > 0:
        _top_down(generator, world, spawn, args.map, args.out / "map.png", cache, options.base_tile_m)


def _turned(spawn: Camera, delta: np.ndarray, heading_deg: float, k: Intrinsics) -> Camera:
    a = math.radians(heading_deg)
    f = spawn.forward
    turned = np.array([f[0] * math.cos(a) - f[2] * math.sin(a), f[1], f[0] * math.sin(a) + f[2] * math.cos(a)])
    return Camera.looking(spawn.position + delta, turned, k)


def _held(generator, world, camera: Camera, radius: float, base: float, cache: dict) -> SplatCloud:
    view = Pose(
        tuple(camera.position),
        tuple(camera.forward),
        (0.0, 0.0, 0.0),
        camera.intrinsics.vertical_fov_deg,
        camera.intrinsics.height,
        radius,
    )
    keys = select_tiles(view, _grid(generator, base), StreamOptions())
    clouds = []
    for key in keys:
        if key not in cache:
            cache[key] = generator.generate(world, key).splats
        clouds.append(cache[key])
    return SplatCloud.concat(clouds)


def _grid(generator, base: float) -> TileGrid:
    return TileGrid(base, generator.splats_per_tile_edge)


def _top_down(generator, world, spawn: Camera, half: float, path: Path, cache: dict, base: float) -> None:
    pixels = 768
    height = 2000.0
    fov = 2 * math.degrees(math.atan(half / height))
    k = Intrinsics.from_vertical_fov(fov, pixels, pixels)
    centre = spawn.position.copy()
    camera = Camera.looking((centre[0], height, centre[2]), (0.0, -1.0, 0.0), k, up=(0.0, 0.0, -1.0))
    view = Pose((centre[0], 1.7, centre[2]), (0.0, 0.0, -1.0), (0.0, 0.0, 0.0), 60.0, pixels, half * 1.42)
    keys = select_tiles(view, _grid(generator, base), StreamOptions(), sse_threshold_px=12.0)
    clouds = []
    for key in keys:
        if key not in cache:
            cache[key] = generator.generate(world, key).splats
        clouds.append(cache[key])
    image = render(SplatCloud.concat(clouds), camera, (0.6, 0.7, 0.8)).image
    Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(path)
    print(path)


if __name__ == "__main__":
    main()
