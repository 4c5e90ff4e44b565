"""sha256 of a fixed set of tiles: the check that a refactor left every tile's bytes alone.

For each photo: prepare the world once, then encode each key in each format twice, from the
generator that prepared it (what ``worldbridge tile`` does) and from a fresh generator reading the
persisted preparation (what a server's worker does). The two must agree; the printed lines are
compared before and after a change (``diff``).

    .venv/bin/python bench/tile_hashes.py > before.txt
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

from bridge.formats import encode_tile
from bridge.generate import persist
from bridge.generate.base import GeneratorOptions
from bridge.generate.registry import load_generator
from bridge.world.keys import TileKey
from bridge.world.photos import decode_photo

PHOTOS = ("lyra2_00.png", "lyra2_06.png", "lyra2_09.png")
FORMATS = ("stream", "ply", "spz", "glb")
SPAWN_KEYS = ((0, 0, -1), (0, -1, -2), (0, 0, 0), (1, 0, -1), (2, -1, -1), (3, -1, -1))
FAR_KEYS = ((0, 3, -310), (1, -40, 25), (2, 17, -60), (3, -9, -30))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def hashes(photo: Path) -> list[str]:
    options = GeneratorOptions()
    generator = load_generator("photo")
    world = generator.prepare(decode_photo(photo.read_bytes()), options)
    persisted = persist.dumps(world)
    served_by = load_generator("photo")
    served_world = persist.loads(persisted)
    lines = [f"{photo.name} prepared {_sha(persisted)}"]
    for lod, ix, iz in SPAWN_KEYS + FAR_KEYS:
        key = TileKey(lod, ix, iz)
        local = generator.generate(world, key)
        served = served_by.generate(served_world, key)
        for fmt in FORMATS:
            digest = _sha(encode_tile(local, fmt, options.base_tile_m))
            if _sha(encode_tile(served, fmt, options.base_tile_m)) != digest:
                raise SystemExit(f"{photo.name} {key} {fmt}: the persisted world gives other bytes")
            lines.append(f"{photo.name} {key} {fmt} {digest}")
    return lines


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--photos", default="../shared/photos", help="folder of the sample photos")
    args = parser.parse_args()
    lines = [line for name in PHOTOS for line in hashes(Path(args.photos) / name)]
    print("\n".join(lines))
    print(f"all {_sha(chr(10).join(lines).encode())}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
