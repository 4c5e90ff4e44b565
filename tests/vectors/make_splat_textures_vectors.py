"""Regenerate the splat-textures test vectors in tests/vectors/splat_textures/.

Run from the repository root: ``PYTHONPATH=. .venv/bin/python tests/vectors/make_splat_textures_vectors.py``.
Each vector is a small deterministic tile: ``NAME.wbtx`` (the encoded tile), ``NAME.f32`` (what
a decoder must produce, bit for bit) and ``NAME.source.f32`` (the splats before encoding, so an
independent decoder can check the stated precision without trusting the Python decoder). Both
``.f32`` files are little-endian float32: positions[N,3] scales[N,3] rotations[N,4] (w x y z)
opacities[N] colors[N,3]. The encoded bytes are committed, so a zstd or encoder change does
not silently move them; regenerate only on purpose (a new format version), and say so.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bridge.formats.splat_textures import VERSION, decode_splat_textures, encode_splat_textures, read_header
from bridge.formats.splats import SplatCloud, identity_rotations
from bridge.formats.tilecodec import decoded_bytes
from bridge.world.keys import TileKey
from tests.sample_tiles import PHOTOS, ground_tile, load_photo
from tests.vectors.vector_tools import vector_entry, write_manifest

OUT = Path(__file__).parent / "splat_textures"
Origin = tuple[float, float, float]


def write_vectors(directory: str | Path, tiles: dict[str, tuple[SplatCloud, Origin]]) -> dict[str, object]:
    """Encode each (splats, origin), write the three files per tile and ``manifest.json`` into
    ``directory``; returns the manifest."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, (splats, origin) in sorted(tiles.items()):
        encoded = encode_splat_textures(splats, origin)
        decoded = decoded_bytes(decode_splat_textures(encoded))
        files = {"encoded": f"{name}.wbtx", "decoded": f"{name}.f32", "source": f"{name}.source.f32"}
        for key, blob in (("encoded", encoded), ("decoded", decoded), ("source", decoded_bytes(splats))):
            (out / files[key]).write_bytes(blob)
        head = read_header(encoded)
        header = {"width": head.width, "rows": head.rows, "body_size": head.body_size, "origin": list(head.origin)}
        entries.append(vector_entry(name, head.count, encoded, decoded, **header, **files))
    return write_manifest(out, "WorldBridge splat-textures", VERSION, entries)


def tiles() -> dict[str, tuple[SplatCloud, Origin]]:
    rng = np.random.default_rng(20261205)
    n = 300
    q = rng.normal(size=(n, 4))
    q[0] = 0.0  # a zero quaternion: stored as the identity
    random_cloud = SplatCloud.from_arrays(
        rng.uniform(-40, 40, (n, 3)),
        np.exp2(rng.uniform(-26, 14, (n, 3))),  # half floats' subnormals up to 16 km
        q,
        np.concatenate([[0.0, 1.0], rng.uniform(0, 1, n - 2)]),
        rng.uniform(-0.3, 1.3, (n, 3)),  # colours a fit pushed outside [0, 1]: clipped
    )
    single = SplatCloud.from_arrays(
        np.array([[1.5, -2.25, 3.0]]), np.array([[0.1, 0.2, 0.3]]), identity_rotations(1), [0.5], [[0.1, 0.5, 0.9]]
    )
    # 100 km out, where absolute float32 positions step by 8 mm: the origin keeps them exact.
    m = 64
    far_origin = (100016.0, 0.0, -30016.0)
    far = SplatCloud.from_arrays(
        np.stack([1e5 + rng.uniform(0, 32, m), np.full(m, 12.5), -3e4 - rng.uniform(0, 32, m)], axis=1),
        np.full((m, 3), 0.25),
        identity_rotations(m),
        np.full(m, 1.0),
        rng.uniform(0, 1, (m, 3)),
    )
    key = TileKey(1, -2, 5)
    ground = ground_tile(load_photo(PHOTOS / "lyra2_03.png", max_width=320), key, per_side=40)  # 1600: two rows
    cx, cz = key.center(32.0)
    return {
        "empty": (SplatCloud.empty(), (0.0, 0.0, 0.0)),
        "single": (single, (0.0, 0.0, 0.0)),
        "random": (random_cloud, (-0.5, 2.0, 0.25)),
        "far": (far, far_origin),
        "photo_ground": (ground.splats, (cx, 0.0, cz)),
    }


if __name__ == "__main__":
    manifest = write_vectors(OUT, tiles())
    print(f"wrote {len(manifest['vectors'])} vectors to {OUT}")  # type: ignore[arg-type]
