"""Hypothesis fuzz of every decoder, and round trips of every splat codec through the registry.

A decoder facing any bytes may return a cloud or raise ValueError -- never another exception,
never a hang (pytest-timeout bounds the run). Inputs: noise, noise behind each format's magic,
byte-level mutations of valid files, and mutations *inside* the containers (re-wrapped with a
valid checksum / gzip / zstd) so the fuzz gets past the integrity checks to the parsers.
"""

from __future__ import annotations

import gzip
import json
import struct
import zlib
from collections.abc import Callable

import numpy as np
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bridge.formats import SPLAT_FORMATS, decode_splats, encode_tile
from bridge.formats._gltf import GlbBuilder, read_glb
from bridge.formats.gltf_splat_check import check_gaussian_splatting
from bridge.formats.gltf_spz import decode_gltf_spz, encode_tile_gltf_spz
from bridge.formats.splat_textures import HASHED_HEADER, digest
from bridge.formats.splat_textures import HEADER_SIZE as TEXTURES_HEADER_SIZE
from bridge.formats.splats import SplatCloud, TileContent
from bridge.formats.spz import encode_spz
from bridge.formats.tilecodec import HEADER_SIZE
from bridge.world.keys import TileKey
from tests.sample_tiles import ground_tile

BASE = 32.0
PHOTO = np.random.default_rng(2).uniform(0, 1, (16, 16, 3)).astype(np.float32)
CONTENT = ground_tile(PHOTO, TileKey(0, 1, -1), BASE, per_side=5, samples=4)
VALID: dict[str, list[bytes]] = {fmt: [encode_tile(CONTENT, fmt, BASE)] for fmt in SPLAT_FORMATS}
VALID["spz"] += [encode_spz(CONTENT.splats, version=v) for v in (2, 4)]
VALID["glb"] = [encode_tile(CONTENT, "glb", BASE)]
VALID["gltf-spz"] = [encode_tile_gltf_spz(CONTENT, BASE)]  # an export-only format
MAGICS = {
    "ply": b"ply\n",
    "spz": b"\x1f\x8b",
    "gltf-splats": b"glTF",
    "stream": b"WBTC",
    "splat-textures": b"WBTX",
    "glb": b"glTF",
    "gltf-spz": b"glTF",
}
FUZZ = settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def decoder(fmt: str) -> Callable[[bytes], object]:
    if fmt == "glb":  # the mesh has no splats; its hostile-input parser is the GLB checker
        return check_gaussian_splatting
    if fmt == "gltf-spz":  # the checker reads the SPZ inside too
        return lambda data: (check_gaussian_splatting(data), decode_gltf_spz(data))[1]
    return lambda data: decode_splats(data, fmt)


def survives(fmt: str, data: bytes) -> None:
    """The decoder returns or raises ValueError; anything else fails the test."""
    try:
        result = decoder(fmt)(data)
    except ValueError:
        return
    if isinstance(result, SplatCloud):
        assert result.positions.dtype == np.float32


FORMATS_FUZZED = [*SPLAT_FORMATS, "glb", "gltf-spz"]


@FUZZ
@given(fmt=st.sampled_from(FORMATS_FUZZED), noise=st.binary(max_size=2048), magic=st.booleans())
def test_noise_is_refused_cleanly(fmt: str, noise: bytes, magic: bool) -> None:
    survives(fmt, (MAGICS[fmt] if magic else b"") + noise)


@st.composite
def mutation(draw: st.DrawFn, data: bytes) -> bytes:
    out = bytearray(data)
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "set", "field", "cut", "insert", "repeat"]))
        at = draw(st.integers(0, max(len(out) - 1, 0)))
        if kind == "flip" and out:
            out[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "set" and out:
            out[at] = draw(st.integers(0, 255))
        elif kind == "field" and len(out) >= 4:
            at = min(at, 120, len(out) - 4)
            value = draw(st.sampled_from([0, 1, 0xFFFF, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFF]))
            struct.pack_into("<I", out, at, value)
        elif kind == "cut":
            del out[at:]
        elif kind == "insert":
            out[at:at] = draw(st.binary(min_size=1, max_size=32))
        else:
            out[at:at] = out[at : at + draw(st.integers(1, 512))]
    return bytes(out)


@FUZZ
@given(data=st.data(), fmt=st.sampled_from(FORMATS_FUZZED))
def test_mutated_files_are_refused_or_decoded(data: st.DataObject, fmt: str) -> None:
    original = data.draw(st.sampled_from(VALID[fmt]))
    survives(fmt, data.draw(mutation(original)))


def mutated_inside_zstd(data: st.DataObject, tile: bytes, header_size: int, length_at: int) -> bytearray:
    """The tile with its header mutated and its zstd body mutated *inside* the frame, re-wrapped
    in a valid frame whose length the header states (at ``length_at``), so the fuzz gets past the
    container to the parser."""
    raw = zstandard.ZstdDecompressor().decompress(tile[header_size:])
    payload = zstandard.ZstdCompressor().compress(data.draw(mutation(raw)))
    head = bytearray(data.draw(mutation(tile[:header_size])).ljust(header_size, b"\0")[:header_size])
    struct.pack_into("<I", head, length_at, len(payload))
    return head + payload


@FUZZ
@given(data=st.data())
def test_mutations_behind_the_tile_checksum(data: st.DataObject) -> None:
    tile = mutated_inside_zstd(data, VALID["stream"][0], HEADER_SIZE, 12)
    struct.pack_into("<I", tile, HEADER_SIZE - 4, zlib.crc32(tile[HEADER_SIZE:], zlib.crc32(tile[: HEADER_SIZE - 4])))
    survives("stream", bytes(tile))


@FUZZ
@given(data=st.data())
def test_mutations_inside_the_textures_zstd_frame(data: st.DataObject) -> None:
    tile = mutated_inside_zstd(data, VALID["splat-textures"][0], TEXTURES_HEADER_SIZE, 24)
    tile[HASHED_HEADER:TEXTURES_HEADER_SIZE] = digest(bytes(tile), bytes(tile[TEXTURES_HEADER_SIZE:]))  # re-signed
    survives("splat-textures", bytes(tile))


@FUZZ
@given(data=st.data())
def test_mutations_inside_the_spz_gzip(data: st.DataObject) -> None:
    inner = gzip.decompress(VALID["spz"][0])
    survives("spz", gzip.compress(data.draw(mutation(inner)), mtime=0))


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=6,
)


@FUZZ
@given(data=st.data(), fmt=st.sampled_from(["gltf-splats", "glb", "gltf-spz"]))
def test_hostile_gltf_json(data: st.DataObject, fmt: str) -> None:
    glb = read_glb(VALID[fmt][0])
    gltf = json.loads(json.dumps(glb.gltf))
    for _ in range(data.draw(st.integers(1, 3))):
        section = data.draw(st.sampled_from(["accessors", "bufferViews", "meshes", "nodes"]))
        items = gltf[section]
        item = items[data.draw(st.integers(0, len(items) - 1))]
        key = data.draw(st.sampled_from([*item.keys(), "byteStride", "sparse", "extensions"]))
        item[key] = data.draw(JSON_VALUES)
    builder = GlbBuilder(gltf)
    builder._blob += glb.binary
    survives(fmt, builder.to_glb())


# -- round trips through the registry ------------------------------------------------------------


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 200),
    fmt=st.sampled_from(SPLAT_FORMATS),
    key=st.builds(TileKey, st.integers(0, 6), st.integers(-5000, 5000), st.integers(-5000, 5000)),
)
def test_every_splat_codec_round_trips(seed: int, n: int, fmt: str, key: TileKey) -> None:
    rng = np.random.default_rng(seed)
    x0, z0, x1, z1 = key.bounds(BASE)
    q = rng.normal(size=(n, 4))
    splats = SplatCloud.from_arrays(
        np.stack([rng.uniform(x0, x1, n), rng.uniform(-20, 40, n), rng.uniform(z0, z1, n)], axis=1),
        np.exp(rng.uniform(-4, 1, (n, 3))),
        q / np.linalg.norm(q, axis=1, keepdims=True),
        rng.uniform(0, 1, n),
        rng.uniform(0, 1, (n, 3)),
    )
    content = TileContent(key, splats, np.zeros((3, 3), np.float32))
    if fmt == "spz" and n and np.abs(splats.positions).max() >= 2**23:
        # SPZ's 24-bit fixed point ends ~8,388 km out: refused with a reason, never wrapped.
        with pytest.raises(ValueError, match="24-bit range"):
            encode_tile(content, fmt, BASE)
        return
    decoded = decode_splats(encode_tile(content, fmt, BASE), fmt)
    assert len(decoded) == n
    if n == 0:
        return
    size = float(np.median(np.exp(np.log(splats.scales.astype(np.float64)).mean(axis=1))))
    spz_grid = 2.0 ** -min(12, int(np.floor(np.log2((2**23 - 1) / np.abs(splats.positions).max()))))
    magnitude = float(np.abs(splats.positions).max()) * 2**-22  # float32 rounding at this distance
    tolerance = {
        "ply": magnitude,
        "gltf-splats": magnitude,
        "splat-textures": magnitude,  # float32 offsets from the tile centre, then float32 again
        "spz": spz_grid / 2,
        # Half the codec's grid step: size / 16, or coarser where 65,535 steps must span the
        # tile's spread (few tiny splats far apart in a 2 km tile).
        "stream": max(size / 16, float(np.ptp(splats.positions.astype(np.float64), axis=0).max()) / 0xFFFF) / 2,
    }[fmt]
    np.testing.assert_allclose(decoded.positions, splats.positions, atol=tolerance + magnitude)
    np.testing.assert_allclose(decoded.opacities, splats.opacities, atol=0.5 / 255 + 1e-6)
    np.testing.assert_allclose(decoded.colors, splats.colors, atol=0.0075)
    np.testing.assert_allclose(np.log(decoded.scales), np.log(splats.scales), atol=0.035)
    dot = np.abs(np.sum(decoded.rotations.astype(np.float64) * splats.rotations, axis=1))
    assert dot.min() > 0.999 - (0.03 if fmt == "spz" else 0)


@pytest.mark.parametrize("fmt", SPLAT_FORMATS)
def test_empty_and_single_splat_tiles(fmt: str) -> None:
    for n in (0, 1):
        splats = CONTENT.splats.subset(np.arange(n))
        content = TileContent(CONTENT.key, splats, CONTENT.heights)
        assert len(decode_splats(encode_tile(content, fmt, BASE), fmt)) == n
