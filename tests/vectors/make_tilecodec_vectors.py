"""Regenerate the tile-codec test vectors in tests/vectors/tilecodec/.

Run from the repository root: ``PYTHONPATH=. .venv/bin/python tests/vectors/make_tilecodec_vectors.py``.
The vectors pin the decoders (Python and web/src/tilecodec.js) to the same float32 output; the
encoded bytes are committed, so a zstd or encoder change does not silently move them. Only
regenerate on purpose (a new codec version), and say so in the commit.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from bridge.formats.splats import SplatCloud, identity_rotations
from bridge.formats.tilecodec import VERSION, Quantisation, decode_tile, decoded_bytes, encode_tile, read_header
from bridge.world.keys import TileKey
from tests.sample_tiles import PHOTOS, ground_tile, load_photo
from tests.vectors.vector_tools import vector_entry, write_manifest

OUT = Path(__file__).parent / "tilecodec"


def write_vectors(directory: str | Path, tiles: dict[str, bytes]) -> dict[str, object]:
    """Write encoded tiles and what this decoder makes of them, with a manifest, into
    ``directory`` (``NAME.wbtc``, ``NAME.f32``, ``manifest.json``); returns the manifest."""
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    entries = []
    for name, encoded in sorted(tiles.items()):
        decoded = decoded_bytes(decode_tile(encoded))
        (out / f"{name}.wbtc").write_bytes(encoded)
        (out / f"{name}.f32").write_bytes(decoded)
        entries.append(
            vector_entry(
                name, read_header(encoded).count, encoded, decoded, encoded=f"{name}.wbtc", decoded=f"{name}.f32"
            )
        )
    return write_manifest(out, "WorldBridge tile codec", VERSION, entries)


def tiles() -> dict[str, bytes]:
    rng = np.random.default_rng(20240611)
    n = 200
    q = rng.normal(size=(n, 4))
    random_cloud = SplatCloud.from_arrays(
        rng.uniform(-40, 40, (n, 3)),
        np.exp2(rng.uniform(-12, 4, (n, 3))),
        q / np.linalg.norm(q, axis=1, keepdims=True),
        rng.uniform(0, 1, n),
        rng.uniform(-0.3, 1.3, (n, 3)),  # colours a fit pushed outside [0, 1]
    )
    single = SplatCloud.from_arrays(
        np.array([[1.5, -2.25, 3.0]]), np.array([[0.1, 0.2, 0.3]]), identity_rotations(1), [0.5], [[0.1, 0.5, 0.9]]
    )
    # Far from the origin and perfectly flat (y step 0): the float32 grid must still be exact.
    m = 64
    far = SplatCloud.from_arrays(
        np.stack([1e5 + rng.uniform(0, 64, m), np.full(m, 12.5), -3e4 + rng.uniform(0, 64, m)], axis=1),
        np.full((m, 3), 0.25),
        identity_rotations(m),
        np.full(m, 1.0),
        rng.uniform(0, 1, (m, 3)),
    )
    ground = ground_tile(load_photo(PHOTOS / "lyra2_03.png", max_width=320), TileKey(1, -2, 5), per_side=32)
    return {
        "empty": encode_tile(SplatCloud.empty()),
        "single": encode_tile(single),
        "random_reordered": encode_tile(random_cloud, reorder=True),
        "far_flat": encode_tile(far),
        "photo_ground": encode_tile(ground.splats),
        "coarse": encode_tile(
            random_cloud,
            quantisation=Quantisation(
                position_step_fraction=0.5, min_scale_step=0.25, color_step=0.02, rotation_levels=5
            ),
        ),
    }


if __name__ == "__main__":
    manifest = write_vectors(OUT, tiles())
    print(f"wrote {len(manifest['vectors'])} vectors to {OUT}")  # type: ignore[arg-type]
