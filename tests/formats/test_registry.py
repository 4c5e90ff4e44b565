"""The format registry: every name encodes a tile, every splat format decodes back to it."""

from __future__ import annotations

import numpy as np
import pytest

from bridge.formats import FORMATS, SPLAT_FORMATS, TILE_FORMATS, decode_splats, encode_tile
from bridge.formats.splats import TileContent
from bridge.world.keys import TileKey
from tests.sample_tiles import ground_tile

BASE = 32.0


@pytest.fixture(scope="module")
def content() -> TileContent:
    photo = np.random.default_rng(1).uniform(0, 1, (32, 32, 3)).astype(np.float32)
    return ground_tile(photo, TileKey(0, -2, 3), BASE, per_side=12, samples=8)


def test_one_record_per_format() -> None:
    assert FORMATS == ("ply", "spz", "glb", "gltf-splats", "stream", "splat-textures")
    assert all(name == record.name for name, record in TILE_FORMATS.items())
    assert TILE_FORMATS["glb"].media_type == TILE_FORMATS["gltf-splats"].media_type == "model/gltf-binary"
    assert [f.extension for f in TILE_FORMATS.values()] == [".ply", ".spz", ".glb", ".glb", ".wbtc", ".wbtx"]
    assert set(SPLAT_FORMATS) == set(FORMATS) - {"glb"}
    assert all((f.decode is None) == (f.carries == "mesh") for f in TILE_FORMATS.values())


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_encodes_deterministically(content: TileContent, fmt: str) -> None:
    data = encode_tile(content, fmt, BASE)
    assert isinstance(data, bytes) and data
    assert encode_tile(content, fmt, BASE) == data  # tiles are content-addressed: same in, same out
    magic = {
        "ply": b"ply\n",
        "spz": b"\x1f\x8b",
        "glb": b"glTF",
        "gltf-splats": b"glTF",
        "stream": b"WBTC",
        "splat-textures": b"WBTX",
    }
    assert data.startswith(magic[fmt])


@pytest.mark.parametrize("fmt", SPLAT_FORMATS)
def test_splat_formats_decode_to_the_same_tile(content: TileContent, fmt: str) -> None:
    decoded = decode_splats(encode_tile(content, fmt, BASE), fmt)
    original = content.splats
    assert len(decoded) == len(original)
    # Loosest of the lossy formats: SPZ is 1/4 mm; the tile codec's grid is 1/16 of the typical
    # splat size (here 0.9 m), so half a step is 1/32 of it.
    size = float(np.median(np.exp(np.log(original.scales.astype(np.float64)).mean(axis=1))))
    np.testing.assert_allclose(decoded.positions, original.positions, atol=max(5e-3, size / 32 + 1e-4))
    np.testing.assert_allclose(decoded.colors, original.colors, atol=0.01)
    np.testing.assert_allclose(decoded.opacities, original.opacities, atol=0.003)
    np.testing.assert_allclose(decoded.scales, original.scales, rtol=0.04)


def test_unknown_and_meshy_formats_are_refused(content: TileContent) -> None:
    with pytest.raises(ValueError, match="unknown tile format"):
        encode_tile(content, "obj", BASE)
    with pytest.raises(ValueError, match="unknown tile format"):
        decode_splats(b"", "usdz")
    with pytest.raises(ValueError, match="mesh"):
        decode_splats(encode_tile(content, "glb", BASE), "glb")
