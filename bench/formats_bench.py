"""Format benchmark: bytes per splat and encode / decode throughput, on tiles from real photos.

Prints one JSON object. Tiles come from the photo generator (``bridge.generate.photo``) run on
the sample photos, every LOD-0 tile within ``--radius`` metres of the spawn plus a ring of
coarser ones; if the generator cannot run, from ``tests/sample_tiles.py`` instead (the
``source`` field says which). It also measures what the tile codec costs in picture quality:
the spawn view rendered from the photo's camera with exact and with coded splats, each against
the photo (``loss_db`` is the difference), and the two renders against each other.

    .venv/bin/python bench/formats_bench.py [--photos lyra2_06,lyra2_00] [--radius 64]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from collections.abc import Callable

import numpy as np
from PIL import Image

from bridge.formats import decode_splats, encode_tile
from bridge.formats.splats import SplatCloud, TileContent
from bridge.formats.spz import decode_spz, encode_spz
from bridge.formats.tilecodec import decode_tile
from bridge.formats.tilecodec import encode_tile as encode_stream
from bridge.render.rasterize import render
from bridge.world.keys import TileKey, tiles_in_radius
from tests.sample_tiles import PHOTOS, ground_camera, ground_tile, lifted_photo, load_photo

BASE = 32.0


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    return float(10 * np.log10(1.0 / max(float(np.mean((a - b) ** 2)), 1e-12)))


def generator_tiles(photo_name: str, radius: float) -> tuple[list[TileContent], Callable[[], dict] | None]:
    """Tiles around the spawn, and a function measuring the codec's loss on the spawn view."""
    from bridge.generate.base import GeneratorOptions
    from bridge.generate.photo.generator import PhotoGenerator
    from bridge.render.sky import sky_background

    pixels = np.asarray(Image.open(PHOTOS / f"{photo_name}.png").convert("RGB"))
    generator = PhotoGenerator()
    world = generator.prepare(pixels, GeneratorOptions(base_tile_m=BASE))
    x, z = float(world.spawn.position[0]), float(world.spawn.position[2])
    keys = list(tiles_in_radius(x, z, radius, 0, BASE)) + list(tiles_in_radius(x, z, radius * 4, 2, BASE))
    tiles = [generator.generate(world, key) for key in keys]

    def spawn_loss() -> dict:
        k = world.spawn.intrinsics
        camera = world.spawn.with_intrinsics(k.scaled(320, round(320 * k.height / k.width)))
        size = (camera.intrinsics.width, camera.intrinsics.height)
        picture = np.asarray(Image.fromarray(pixels).resize(size, Image.Resampling.LANCZOS), dtype=np.float32) / 255.0
        background = sky_background(world.sky.panorama, camera)
        lod0 = [t for t in tiles if t.key.lod == 0]
        exact = SplatCloud.concat([t.splats for t in lod0])
        coded = SplatCloud.concat([decode_tile(encode_stream(t.splats)) for t in lod0])
        gpu = "splat-textures"
        textures = SplatCloud.concat([decode_splats(encode_tile(t, gpu, BASE), gpu) for t in lod0])
        return _loss(exact, coded, camera, background, picture) | {
            "splat_textures": _loss(exact, textures, camera, background, picture)
        }

    return tiles, spawn_loss


def _loss(exact: SplatCloud, coded: SplatCloud, camera, background, picture: np.ndarray | None) -> dict:
    a = render(exact, camera, background).image
    b = render(coded, camera, background).image
    out = {"coded_vs_exact_db": round(psnr(a, b), 2)}
    if picture is not None:
        out |= {"exact_db": round(psnr(a, picture), 3), "coded_db": round(psnr(b, picture), 3)}
        out["loss_db"] = round(out["exact_db"] - out["coded_db"], 3)
    return out


def sample_tiles(photo_name: str, radius: float) -> tuple[list[TileContent], Callable[[], dict] | None]:
    photo = load_photo(PHOTOS / f"{photo_name}.png")
    keys = list(tiles_in_radius(0.0, 0.0, radius, 0, BASE))
    return [ground_tile(photo, key, BASE, per_side=128, seed=i) for i, key in enumerate(keys)], None


def timed(fn: Callable[[], object], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default="lyra2_06,lyra2_00,lyra2_08")
    parser.add_argument("--radius", type=float, default=64.0, help="LOD-0 tiles within this many metres")
    parser.add_argument("--repeat", type=int, default=2)
    args = parser.parse_args()
    started = time.perf_counter()

    tiles: list[TileContent] = []
    quality: dict[str, dict] = {}
    source = "bridge.generate.photo.PhotoGenerator"
    for name in args.photos.split(","):
        try:
            got, spawn_loss = generator_tiles(name, args.radius)
        except Exception as exc:  # the generator is optional here: fall back to sample tiles
            source = f"tests/sample_tiles.py (generator unavailable: {exc!r})"
            got, spawn_loss = sample_tiles(name, args.radius)
        tiles += got
        if spawn_loss is not None:
            quality[f"spawn_view_{name}"] = spawn_loss()
    tiles = [t for t in tiles if len(t.splats)]

    # Picture cost on a deliberately noisy tile and on a photo lifted from its own camera.
    photo = load_photo(PHOTOS / f"{args.photos.split(',')[0]}.png")
    key = TileKey(0, 0, -1)
    noisy = ground_tile(photo, key, BASE).splats
    quality["noisy_ground_tile"] = _loss(noisy, decode_tile(encode_stream(noisy)), ground_camera(key), (0, 0, 0), None)
    quality["noisy_ground_tile"]["bytes_per_splat"] = round(len(encode_stream(noisy)) / len(noisy), 3)
    lifted, camera, picture = lifted_photo(photo)
    quality["lifted_photo"] = _loss(lifted, decode_tile(encode_stream(lifted)), camera, (0, 0, 0), picture)

    splats = sum(len(t.splats) for t in tiles)
    codecs: dict[str, tuple[Callable[[TileContent], bytes], Callable[[bytes], SplatCloud]]] = {
        fmt: (lambda t, f=fmt: encode_tile(t, f, BASE), lambda d, f=fmt: decode_splats(d, f))
        for fmt in ("ply", "spz", "stream", "gltf-splats", "splat-textures")
    }
    codecs["spz_v2"] = (lambda t: encode_spz(t.splats, version=2), decode_spz)
    codecs["spz_v4"] = (lambda t: encode_spz(t.splats, version=4), decode_spz)
    sizes: dict[str, float] = {}
    speed: dict[str, dict[str, float]] = {}
    decode_seconds: dict[str, float] = {}
    for name, (encode, decode) in codecs.items():
        encoded = [encode(t) for t in tiles]
        sizes[name] = round(sum(map(len, encoded)) / splats, 3)
        encode_s = timed(lambda enc=encode: [enc(t) for t in tiles], args.repeat)
        decode_s = timed(lambda dec=decode, data=encoded: [dec(d) for d in data], args.repeat)
        speed[name] = {"encode": round(splats / encode_s), "decode": round(splats / decode_s)}
        decode_seconds[name] = decode_s
    # The GPU-ready format against the wire codec and SPZ, measured in this run: its bytes, and
    # its decode in Python (numpy only) against the stream codec's.
    textures_vs = {
        "bytes_over_stream": round(sizes["splat-textures"] / sizes["stream"], 3),
        "bytes_over_spz": round(sizes["splat-textures"] / sizes["spz"], 3),
        "decode_time_over_stream": round(decode_seconds["splat-textures"] / decode_seconds["stream"], 3),
        "decode_ms_per_100k_splats": round(decode_seconds["splat-textures"] / splats * 1e8, 2),
        "stream_decode_ms_per_100k_splats": round(decode_seconds["stream"] / splats * 1e8, 2),
    }
    per_tile = [len(encode_stream(t.splats)) / len(t.splats) for t in tiles if len(t.splats) >= 1000]
    meshes = [len(encode_tile(t, "glb", BASE)) for t in tiles]

    print(
        json.dumps(
            {
                "source": source,
                "photos": args.photos.split(","),
                "tiles": len(tiles),
                "splats": splats,
                "bytes_per_splat": sizes,
                "stream_bytes_per_splat_per_tile": {
                    "min": round(min(per_tile), 3),
                    "median": round(statistics.median(per_tile), 3),
                    "max": round(max(per_tile), 3),
                },
                "glb_mesh_bytes_per_tile_median": int(statistics.median(meshes)),
                "throughput_splats_per_s": speed,
                "splat_textures_vs": textures_vs,
                "quality": quality,
                "seconds": round(time.perf_counter() - started, 1),
            }
        )
    )


if __name__ == "__main__":
    main()
