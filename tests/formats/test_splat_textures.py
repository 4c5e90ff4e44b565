"""The splat-textures format: layout, precision on real tiles, hostile input, the vectors, the JS decoder."""

from __future__ import annotations

import hashlib
import json
import struct
from pathlib import Path

import numpy as np
import pytest
import zstandard

from bridge.formats import decode_splats, encode_tile
from bridge.formats.splat_textures import (
    HEADER_SIZE,
    MAX_BODY_BYTES,
    WIDTH,
    decode_splat_textures,
    encode_splat_textures,
    read_header,
)
from bridge.formats.splats import SplatCloud, identity_rotations
from bridge.formats.tilecodec import decoded_bytes
from bridge.world.keys import TileKey
from tests.sample_tiles import PHOTOS, ground_tile, lifted_photo, load_photo
from tests.vectors.make_splat_textures_vectors import tiles as vector_tiles
from tests.vectors.make_splat_textures_vectors import write_vectors
from tests.vectors.vector_tools import needs_node, node_check

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "splat_textures"
needs_photos = pytest.mark.skipif(not PHOTOS.is_dir(), reason=f"sample photos absent at {PHOTOS}")


def tile_centre(key: TileKey) -> tuple[float, float, float]:
    cx, cz = key.center(32.0)
    return (cx, 0.0, cz)


def half_step(values: np.ndarray) -> np.ndarray:
    """Half the gap between half floats at |values| (2**-11 relative; 2**-25 among the subnormals)."""
    return np.maximum(np.abs(values) * 2.0**-11, 2.0**-25)


def assert_within_precision(decoded: SplatCloud, original: SplatCloud, origin: tuple[float, float, float]) -> None:
    """The precision the format states, computed from the original values alone."""
    assert len(decoded) == len(original)
    relative = original.positions.astype(np.float64) - np.asarray(origin)
    # The offset is rounded to float32 once, the world position once more.
    tolerance = np.spacing(np.abs(relative).astype(np.float32)) / 2 + np.spacing(np.abs(decoded.positions)) / 2
    assert np.all(np.abs(decoded.positions - original.positions.astype(np.float64)) <= tolerance)
    scales = original.scales.astype(np.float64)
    assert np.all(np.abs(decoded.scales - scales) <= half_step(scales))
    q = original.rotations.astype(np.float64)
    norm = np.linalg.norm(q, axis=1, keepdims=True)
    q = np.where(norm > 0, q / np.where(norm > 0, norm, 1), [1.0, 0.0, 0.0, 0.0])  # zero: the identity
    assert np.all(np.abs(decoded.rotations - q) <= half_step(q) + 1e-7)
    colors = np.clip(original.colors.astype(np.float64), 0, 1)
    assert np.all(np.abs(decoded.colors - colors) <= 0.5 / 255 + 1e-6)
    assert np.all(np.abs(decoded.opacities - original.opacities.astype(np.float64)) <= 0.5 / 255 + 1e-6)


# -- layout --------------------------------------------------------------------------------------


def test_header_and_texture_layout() -> None:
    origin = (1000.0, 2.0, -3000.0)
    half = np.sqrt(0.5)
    cloud = SplatCloud.from_arrays(
        np.array([[1001.5, 2.25, -2999.0], [999.0, 0.0, -3000.5]]),
        np.array([[0.5, 0.25, 2.0], [1.0, 1.0, 1.0]]),
        np.array([[1.0, 0.0, 0.0, 0.0], [half, 0.0, half, 0.0]]),  # w x y z
        np.array([1.0, 0.0]),
        np.array([[1.0, 0.5, 0.0], [0.0, 0.2, 1.0]]),
    )
    data = encode_splat_textures(cloud, origin)
    assert data[:4] == b"WBTX"
    assert struct.unpack_from("<HHIIIII", data, 4) == (1, 0, 2, WIDTH, 1, 36 * WIDTH, len(data) - 96)
    assert struct.unpack_from("<3d", data, 32) == origin
    assert data[28:32] == bytes(4) and data[56:64] == bytes(8)
    assert data[64:96] == hashlib.sha256(data[:64] + data[96:]).digest()
    body = zstandard.ZstdDecompressor().decompress(data[96:])
    assert len(body) == 36 * WIDTH
    positions = np.frombuffer(body, "<f4", 8, 0).reshape(2, 4)
    assert positions.tolist() == [[1.5, 0.25, 1.0, 0.0], [-1.0, -2.0, -0.5, 0.0]]
    rotations = np.frombuffer(body, "<f2", 8, 16 * WIDTH).reshape(2, 4)  # x y z w
    assert rotations[0].tolist() == [0.0, 0.0, 0.0, 1.0]
    np.testing.assert_allclose(rotations[1], [0.0, half, 0.0, half], atol=2**-12)
    scales = np.frombuffer(body, "<f2", 8, 24 * WIDTH).reshape(2, 4)
    assert scales.tolist() == [[0.5, 0.25, 2.0, 0.0], [1.0, 1.0, 1.0, 0.0]]
    colours = np.frombuffer(body, "u1", 8, 32 * WIDTH).reshape(2, 4)
    assert colours.tolist() == [[255, 128, 0, 255], [0, 51, 255, 0]]
    assert not any(body[16 * 2 : 16 * WIDTH]), "the padding texels of a row are zero"


def test_rows_are_full_textures_of_the_fixed_width() -> None:
    for n, rows in ((0, 0), (1, 1), (WIDTH, 1), (WIDTH + 1, 2)):
        cloud = SplatCloud.from_arrays(
            np.zeros((n, 3)), np.ones((n, 3)), identity_rotations(n), np.ones(n), np.zeros((n, 3))
        )
        head = read_header(encode_splat_textures(cloud))
        assert (head.count, head.width, head.rows, head.body_size) == (n, WIDTH, rows, 36 * WIDTH * rows)


def test_the_server_encodes_relative_to_the_tile_centre() -> None:
    photo = np.random.default_rng(3).uniform(0, 1, (16, 16, 3)).astype(np.float32)
    key = TileKey(2, 3000, -1250)  # 384 km out: absolute float32 positions step by 3 cm there
    content = ground_tile(photo, key, per_side=12)
    data = encode_tile(content, "splat-textures", 32.0)
    head = read_header(data)
    assert head.origin == (3000.5 * 128, 0.0, -1249.5 * 128)
    assert_within_precision(decode_splats(data, "splat-textures"), content.splats, head.origin)
    assert encode_tile(content, "splat-textures", 32.0) == data  # same tile, same bytes


# -- precision on real tiles ---------------------------------------------------------------------


@pytest.fixture(scope="module")
def photo() -> np.ndarray:
    if not PHOTOS.is_dir():
        pytest.skip(f"sample photos absent at {PHOTOS}")
    return load_photo(PHOTOS / "lyra2_06.png", max_width=640)


@needs_photos
@pytest.mark.parametrize("key", [TileKey(0, 0, -1), TileKey(3, -40, 17), TileKey(0, 3125, 3125)])
def test_ground_tiles_round_trip_within_the_stated_precision(photo: np.ndarray, key: TileKey) -> None:
    content = ground_tile(photo, key, per_side=96)
    data = encode_tile(content, "splat-textures", 32.0)
    assert_within_precision(decode_splats(data, "splat-textures"), content.splats, read_header(data).origin)


@needs_photos
def test_lifted_photo_round_trips_within_the_stated_precision(photo: np.ndarray) -> None:
    splats, _, _ = lifted_photo(photo, width=256)  # splats from 1 m to 60 m away, sized to a pixel
    origin = (0.0, 1.6, -30.0)
    assert_within_precision(decode_splat_textures(encode_splat_textures(splats, origin)), splats, origin)


def test_committed_vectors_decode_and_re_encode_to_their_bytes() -> None:
    manifest = json.loads((VECTORS / "manifest.json").read_text())
    sources = vector_tiles() if PHOTOS.is_dir() else {}
    assert len(manifest["vectors"]) >= 5
    for entry in manifest["vectors"]:
        encoded = (VECTORS / entry["encoded"]).read_bytes()
        decoded = decode_splat_textures(encoded)
        assert decoded_bytes(decoded) == (VECTORS / entry["decoded"]).read_bytes(), entry["name"]
        if entry["name"] in sources:  # the encoder still writes the committed bytes
            splats, origin = sources[entry["name"]]
            assert encode_splat_textures(splats, origin) == encoded, entry["name"]
            assert_within_precision(decoded, splats, origin)


# -- what the encoder refuses --------------------------------------------------------------------


def test_encoder_refuses_what_it_cannot_store() -> None:
    base = SplatCloud.from_arrays(
        np.zeros((2, 3)), np.ones((2, 3)), identity_rotations(2), np.ones(2), np.zeros((2, 3))
    )

    def with_scales(scales: np.ndarray) -> SplatCloud:
        return SplatCloud.from_arrays(base.positions, scales, base.rotations, base.opacities, base.colors)

    with pytest.raises(ValueError, match="non-finite"):
        encode_splat_textures(with_scales(np.array([[1.0, np.inf, 1.0], [1.0, 1.0, 1.0]])))
    with pytest.raises(ValueError, match="half floats"):
        encode_splat_textures(with_scales(np.array([[1.0, 70000.0, 1.0], [1.0, 1.0, 1.0]])))
    with pytest.raises(ValueError, match="half floats"):
        encode_splat_textures(with_scales(-np.ones((2, 3))))
    with pytest.raises(ValueError, match="origin"):
        encode_splat_textures(base, (0.0, float("nan"), 0.0))
    with pytest.raises(ValueError, match="float32's range"):
        encode_splat_textures(base, (1e300, 0.0, 0.0))
    with pytest.raises(ValueError, match="power of two"):
        encode_splat_textures(base, width=1000)


# -- hostile input -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def good() -> bytes:
    rng = np.random.default_rng(10)
    n = 64
    q = rng.normal(size=(n, 4))
    cloud = SplatCloud.from_arrays(
        rng.uniform(-16, 16, (n, 3)), rng.uniform(0.01, 2, (n, 3)), q, rng.uniform(0, 1, n), rng.uniform(0, 1, (n, 3))
    )
    return encode_splat_textures(cloud, (16.0, 0.0, -16.0))


def _signed(data: bytes | bytearray) -> bytes:
    """``data`` with its SHA-256 made right again, so a test reaches the checks behind it."""
    out = bytearray(data)
    out[64:96] = hashlib.sha256(bytes(out[:64]) + bytes(out[96:])).digest()
    return bytes(out)


def _patched(data: bytes, offset: int, fmt: str, *values: object) -> bytes:
    out = bytearray(data)
    struct.pack_into(fmt, out, offset, *values)
    return _signed(out)


def _with_compressed(data: bytes, payload: bytes) -> bytes:
    return _patched(data[:HEADER_SIZE] + payload, 24, "<I", len(payload))


def _with_body(data: bytes, body: bytes, **kwargs: bool) -> bytes:
    return _with_compressed(data, zstandard.ZstdCompressor(**kwargs).compress(body))


def _body(data: bytes) -> bytearray:
    return bytearray(zstandard.ZstdDecompressor().decompress(data[HEADER_SIZE:]))


def _texel_patched(data: bytes, offset: int, fmt: str, value: float) -> bytes:
    body = _body(data)
    struct.pack_into(fmt, body, offset, value)
    return _with_body(data, bytes(body))


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: b"", "shorter than"),
        (lambda d: d[:40], "shorter than"),
        (lambda d: b"WBTC" + d[4:], "magic"),
        (lambda d: _patched(d, 4, "<H", 2), "version 2"),
        (lambda d: _patched(d, 6, "<H", 1), "flags"),
        (lambda d: _patched(d, 28, "<B", 1), "reserved"),
        (lambda d: _patched(d, 60, "<B", 1), "reserved"),
        (lambda d: _patched(d, 8, "<I", 0xFFFFFFFF), "limit"),
        (lambda d: _patched(d, 12, "<I", 1000), "power of two"),
        (lambda d: _patched(d, 12, "<I", 0), "power of two"),
        (lambda d: _patched(d, 16, "<I", 2), "rows disagree"),
        (lambda d: _patched(d, 8, "<I", 2000), "rows disagree"),  # two rows' worth in one row
        (lambda d: _patched(d, 20, "<I", 36 * 1024 + 4), "body size"),
        (lambda d: d[:-1], "compressed length"),
        (lambda d: d + b"\0", "compressed length"),
        (lambda d: _patched(d, 40, "<d", float("inf")), "origin"),
        (lambda d: d[:-1] + bytes([d[-1] ^ 1]), "checksum"),
        (lambda d: d[:110] + bytes([d[110] ^ 0xFF]) + d[111:], "checksum"),
        (lambda d: d[:70] + bytes([d[70] ^ 0xFF]) + d[71:], "checksum"),  # the digest itself
        (lambda d: _with_compressed(d, d[HEADER_SIZE:-10]), "corrupt"),  # a truncated frame, signed
        (lambda d: _with_body(d, bytes(36 * 1024), write_content_size=False), "declares"),
        (lambda d: _with_body(d, bytes(36 * 1024 - 1)), "declares"),
        (lambda d: _with_body(d, bytes(36 * 1024 + 1)), "declares"),
        (lambda d: _with_compressed(d, b"not a zstd frame at all"), "zstd"),
        (lambda d: _texel_patched(d, 4, "<f", float("nan")), "non-finite"),
        (lambda d: _texel_patched(d, 16 * 1024 + 2, "<e", float("inf")), "non-finite"),
        (lambda d: _texel_patched(d, 24 * 1024, "<e", -0.5), "negative"),
        (lambda d: _patched(_texel_patched(d, 0, "<f", 3e38), 32, "<d", 3e38), "float32's range"),
    ],
)
def test_malformed_input_is_a_value_error(good: bytes, mutate, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_splat_textures(mutate(good))


def test_decompression_bomb_is_refused_before_inflating(good: bytes) -> None:
    # A 64 MiB body of zeros zstd-compresses to a few kilobytes.
    body = bytes(64 << 20)
    huge = _with_body(_patched(good, 20, "<I", len(body)), body)
    assert len(huge) < 20_000
    with pytest.raises(ValueError, match="body size"):  # 64 MiB is under the limit but lies about the count
        decode_splat_textures(huge)
    # Header fields consistent with an over-limit body: refused on the header alone.
    count = MAX_BODY_BYTES // 36 + 1024
    bomb = _patched(huge, 8, "<IIII", count, 1024, count // 1024, count * 36)
    with pytest.raises(ValueError, match="decompression bomb"):
        decode_splat_textures(bomb)
    with pytest.raises(ValueError, match="decompression bomb"):
        decode_splat_textures(_patched(good, 20, "<I", 0xFFFFFFFF))
    # A caller's own lower limit holds too.
    with pytest.raises(ValueError, match="decompression bomb"):
        decode_splat_textures(good, max_splats=16)


# -- the JavaScript decoder agrees bit for bit ---------------------------------------------------


def _node_check(directory: Path) -> dict[str, object]:
    return node_check("check_splat_textures.mjs", directory)


@needs_node
def test_js_decoder_matches_committed_vectors() -> None:
    report = _node_check(VECTORS)
    assert report["matched"] == report["within_precision"] == report["vectors"] >= 5
    assert report["refused"] == report["malformed"] > 0


@needs_node
@needs_photos
def test_js_decoder_matches_fresh_tiles(tmp_path: Path, photo: np.ndarray) -> None:
    keys = [TileKey(0, 5, -7), TileKey(4, -300, 12), TileKey(1, 40000, 0)]
    tiles = {
        f"ground_{i}": (ground_tile(photo, key, per_side=40 + 9 * i, seed=i).splats, tile_centre(key))
        for i, key in enumerate(keys)
    }
    tiles["lifted"] = (lifted_photo(photo, width=96)[0], (0.0, 0.0, 0.0))
    write_vectors(tmp_path, tiles)
    report = _node_check(tmp_path)
    assert report["matched"] == report["within_precision"] == report["vectors"] == len(tiles)
