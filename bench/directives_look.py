"""Before/after pictures of directives: a world from a photo, seen from its spawn, without and with
each directive kind (the pictures in docs/directives/).

    .venv/bin/python bench/directives_look.py ../shared/photos/lyra2_06.png --out docs/directives --name town

Tiles are generated in this process the way the server makes them (bridge.generate.directives.apply),
LOD 0 over a square in front of the camera, and rendered from the spawn camera (the layout examples
from their own views, VIEWS) at a reduced size (the photo scaled to 640 pixels wide first: a CPU
render of the full photo's lift takes minutes).
"""

from __future__ import annotations

import argparse
import hashlib
import math
from pathlib import Path

import numpy as np
from PIL import Image

from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions
from bridge.generate.directives.apply import Assets, generate_directed
from bridge.generate.photo import PhotoGenerator
from bridge.render.images import save_png, side_by_side
from bridge.render.rasterize import render
from bridge.render.sky import sky_background
from bridge.world.camera import Camera
from bridge.world.directives import Directive, parse_directive
from bridge.world.keys import tile_at

# One of each kind, placed in front of the spawn (-Z is forward), as a designer would write them.
EXAMPLES: dict[str, list[dict]] = {
    "place-church": [
        {
            "kind": "place",
            "region": {"circle": {"center": [0, -40], "radius": 14}},
            "structure": "a gothic church with a red roof",
        }
    ],
    "place-chapel": [
        {"kind": "place", "region": {"circle": {"center": [0, -28], "radius": 8}}, "structure": "a small white chapel"}
    ],
    "place-tower": [
        {"kind": "place", "region": {"circle": {"center": [6, -52], "radius": 5}}, "structure": "a stone tower"}
    ],
    "place-bridge": [
        {
            "kind": "place",
            "region": {"circle": {"center": [0, -26], "radius": 12}},
            "structure": "a wooden bridge",
            "facing_deg": 90,
        }
    ],
    "place-houses": [
        {
            "kind": "place",
            "region": {"circle": {"center": [0, -40], "radius": 16}},
            "structure": "a row of three houses with blue roofs",
        }
    ],
    "paint": [{"kind": "paint", "region": {"circle": {"center": [0, -30], "radius": 12}}, "ground": "sand"}],
    "terrain": [
        {
            "kind": "terrain",
            "region": {"circle": {"center": [0, -24], "radius": 4}},
            "op": "raise",
            "amount": 2.5,
            "falloff": 6,
        }
    ],
    "layout": [{"kind": "layout", "region": {"circle": {"center": [0, -24], "radius": 7}}, "water": True}],
    # Layout directives steering the grammar out in the town, seen from where they stand (VIEWS).
    "layout-street": [
        {"kind": "layout", "region": {"polyline": {"points": [[24, 40], [24, 240]], "width": 10}}, "street": True}
    ],
    "layout-unbuilt": [
        {"kind": "layout", "region": {"circle": {"center": [20, 100], "radius": 16}}, "buildings": False}
    ],
    "layout-water": [{"kind": "layout", "region": {"circle": {"center": [80, 150], "radius": 14}}, "water": True}],
    "layout-forest": [
        {"kind": "layout", "region": {"polygon": [[-48, 40], [0, 40], [0, 96], [-48, 96]]}, "forest": 0.8}
    ],
    "path": [{"kind": "path", "region": {"polyline": {"points": [[-12, -20], [0, -24], [12, -20]], "width": 3}}}],
}


# Where an example is seen from when not from the spawn: (eye, a point it looks at), world metres.
VIEWS: dict[str, tuple[tuple[float, float, float], tuple[float, float, float]]] = {
    "layout-street": ((24.0, 9.0, 262.0), (24.0, 2.0, 180.0)),
    "layout-unbuilt": ((20.0, 40.0, 158.0), (20.0, 0.0, 100.0)),
    "layout-water": ((80.0, 45.0, 184.0), (80.0, 0.0, 150.0)),
    "layout-forest": ((-24.0, 30.0, 140.0), (-24.0, 0.0, 70.0)),
}


def tiles_in_front(
    generator: PhotoGenerator,
    world: object,
    spawn: Camera,
    directives: list[Directive],
    depth_m: float = 100.0,
    half_width_m: float = 40.0,
    assets: Assets | None = None,
) -> SplatCloud:
    """LOD 0 tiles over the square in front of the spawn, under ``directives``."""
    base = world.options.base_tile_m  # type: ignore[attr-defined]
    # The square spanned by the camera and the ground ahead of it, out to depth_m, half_width_m wide.
    f = np.array([spawn.forward[0], spawn.forward[2]])
    f = f / max(float(np.hypot(*f)), 1e-9)
    side = np.array([-f[1], f[0]])
    eye = np.array([spawn.position[0], spawn.position[2]])
    corners = np.array([eye - 8 * f + s * half_width_m * side + t * depth_m * f for s in (-1, 1) for t in (0, 1)])
    (x0, z0), (x1, z1) = corners.min(axis=0), corners.max(axis=0)
    a, b = tile_at(float(x0), float(z0), 0, base), tile_at(float(x1), float(z1), 0, base)
    clouds = []
    for iz in range(a.iz, b.iz + 1):
        for ix in range(a.ix, b.ix + 1):
            clouds.append(generate_directed(generator, world, type(a)(0, ix, iz), directives, assets).splats)
    return SplatCloud.concat(clouds)


def spawn_view(spawn: Camera, width: int = 480) -> Camera:
    k = spawn.intrinsics
    return spawn.with_intrinsics(k.scaled(width, round(k.height * width / k.width)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("photo", type=Path)
    parser.add_argument("--out", type=Path, default=Path("/tmp/directives"))
    parser.add_argument("--name", default="world")
    parser.add_argument("--only", action="append", default=[], help="example names to draw (default: all)")
    parser.add_argument("--width", type=int, default=320, help="picture width, pixels")
    parser.add_argument("--photo-width", type=int, default=640, help="the photo is scaled to this width first")
    parser.add_argument("--glb", type=Path, default=None, help="also draw 'place-glb(-near)': this GLB 40 (16) m ahead")
    args = parser.parse_args()
    generator = PhotoGenerator()
    with Image.open(args.photo) as image:
        rgb = image.convert("RGB")
        scaled = rgb.resize((args.photo_width, round(rgb.height * args.photo_width / rgb.width)))
    world = generator.prepare(np.asarray(scaled), GeneratorOptions())
    spawn = spawn_view(world.spawn, args.width)
    befores: dict[str, np.ndarray] = {}
    args.out.mkdir(parents=True, exist_ok=True)
    examples = dict(EXAMPLES)
    assets: dict[str, bytes] = {}
    if args.glb is not None:
        data = args.glb.read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        assets[sha] = data
        for name, z in (("place-glb", -40), ("place-glb-near", -16)):  # near: no photo content in front of its foot
            examples[name] = [{"kind": "place", "region": {"circle": {"center": [0, z], "radius": 6}}, "glb": sha}]
    for name, items in examples.items():
        if args.only and name not in args.only:
            continue
        directives = [parse_directive(d) for d in items]
        camera = spawn if name not in VIEWS else Camera.looking(*_look(*VIEWS[name]), spawn.intrinsics)
        background = sky_background(world.sky.panorama, camera)
        depth = 100.0 if name not in VIEWS else 140.0
        view = name if name in VIEWS else "spawn"
        if view not in befores:
            befores[view] = render(tiles_in_front(generator, world, camera, [], depth), camera, background).image
        before = befores[view]
        cloud = tiles_in_front(generator, world, camera, directives, depth, assets=assets.__getitem__)
        after = render(cloud, camera, background).image
        path = save_png(side_by_side([before, after], ["before", name]), args.out / f"{args.name}-{name}.png")
        print(path, math.isfinite(float(np.mean(after))))


def _look(eye: tuple[float, ...], target: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    e = np.asarray(eye, np.float64)
    return e, np.asarray(target, np.float64) - e


if __name__ == "__main__":
    main()
