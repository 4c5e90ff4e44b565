"""Mesh tile benchmark: encode time and bytes of the GLB mesh tiles with the blocks of what stands
on the ground (revision 2) against the ground alone (revision 1, ``standing=False``), measured
in the same run on the same tiles; and how the mesh's view agrees with the splats' from eye height.

Tiles: lyra2_06's town, the 3 x 3 LOD-2 tiles round (2, -2, -3) (32 m each, houses along streets),
and LOD 0-1 tiles of its square and lifted photo. Prints one JSON object; ``--image`` also writes
the splats / ground only / with blocks picture, from a street at eye height and from above.

    .venv/bin/python bench/mesh_tiles.py [--image docs/mesh_tiles.png]
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import numpy as np
from PIL import Image

from bridge.formats.glb_mesh import encode_glb_mesh
from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.render.rasterize import render
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey
from bridge.world.photos import decode_photo
from tests.formats.test_mesh_standing import TOWN, _street_eye
from tests.mesh_render import render_glbs
from tests.sample_tiles import PHOTOS

BASE = 8.0
SKY = (0.62, 0.74, 0.9)


def _timed(encode, runs: int) -> tuple[bytes, float]:
    times, data = [], b""
    for _ in range(runs):
        start = time.perf_counter()
        data = encode()
        times.append(time.perf_counter() - start)
    return data, statistics.median(times) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="encodes per tile; the median counts")
    parser.add_argument("--image", default="", help="write the comparison picture here (PNG)")
    args = parser.parse_args()
    generator = PhotoGenerator()
    world = generator.prepare(decode_photo((PHOTOS / "lyra2_06.png").read_bytes()), GeneratorOptions(base_tile_m=BASE))
    town_keys = [TileKey(2, TOWN.ix + a, TOWN.iz + b) for b in (-1, 0, 1) for a in (-1, 0, 1)]
    square_keys = [TileKey(0, 0, -2), TileKey(0, -1, -2), TileKey(1, 0, -2), TileKey(1, -1, -1)]
    tiles = {key: generator.generate(world, key) for key in town_keys + square_keys}
    rows, after, before = [], {}, {}
    for key, content in tiles.items():
        before[key], ms_before = _timed(lambda c=content: encode_glb_mesh(c, BASE, standing=False), args.runs)
        after[key], ms_after = _timed(lambda c=content: encode_glb_mesh(c, BASE), args.runs)
        rows.append(
            {
                "key": str(key),
                "splats": len(content.splats),
                "ground_only": [len(before[key]), ms_before],
                "with_blocks": [len(after[key]), ms_after],
            }
        )
    # The eye-height views of the town tests/formats/test_mesh_standing.py checks, four headings.
    eye = _street_eye(tiles[TOWN])
    town_splats = SplatCloud.concat([tiles[k].splats for k in town_keys])
    agreement, pictures = [], []
    for heading in ((0.0, 1.0), (1.0, 0.0), (0.0, -1.0), (-1.0, 0.0)):
        camera = Camera.looking(eye, (heading[0], 0.0, heading[1]), Intrinsics.from_vertical_fov(60.0, 320, 180))
        splats = render(town_splats, camera, SKY)
        mesh = render_glbs([after[k] for k in town_keys], camera, SKY)
        above = camera.pixel_rays()[..., 1] > 0
        s_cov, m_cov = (splats.alpha > 0.5) & above, mesh.covered & above
        both = s_cov & m_cov
        agreement.append(
            {
                "heading": heading,
                "splat_cover_above_horizon": round(float(s_cov.mean() / above.mean()), 3),
                "mesh_cover_above_horizon": round(float(m_cov.mean() / above.mean()), 3),
                "iou": round(float(both.sum() / (s_cov | m_cov).sum()), 3),
                "mean_abs_colour": round(float(np.abs(mesh.image - splats.image)[both].mean()), 3),
            }
        )
        if args.image and heading == (0.0, 1.0):
            bare = render_glbs([before[k] for k in town_keys], camera, SKY)
            pictures.append(np.concatenate([splats.image, bare.image, mesh.image], 1))
    if args.image:
        x0, _, x1, z1 = TOWN.bounds(BASE)
        high = Camera.looking(
            ((x0 + x1) / 2, 38.0, z1 + 22.0), (0.0, -0.9, -1.0), Intrinsics.from_vertical_fov(60.0, 320, 180)
        )
        pictures.append(
            np.concatenate(
                [
                    render(town_splats, high, SKY).image,
                    render_glbs([before[k] for k in town_keys], high, SKY).image,
                    render_glbs([after[k] for k in town_keys], high, SKY).image,
                ],
                1,
            )
        )
        Image.fromarray((np.clip(np.concatenate(pictures, 0), 0, 1) * 255).astype(np.uint8)).save(args.image)
    total = {name: sum(r[name][0] for r in rows) for name in ("ground_only", "with_blocks")}
    print(
        json.dumps(
            {
                "tiles": rows,
                "bytes_total": total,
                "encode_ms_median": {
                    name: round(statistics.median(r[name][1] for r in rows), 1)
                    for name in ("ground_only", "with_blocks")
                },
                "eye_height": agreement,
            }
        )
    )


if __name__ == "__main__":
    main()
