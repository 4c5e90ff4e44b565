"""SPZ: byte layout, round trips within one quantisation step, hostile input, third-party readers."""

from __future__ import annotations

import gzip
import math
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import numpy as np
import pytest
import zstandard
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from plyfile import PlyData

from bridge.formats.ply import decode_ply
from bridge.formats.splats import MAX_DECODE_BYTES, SH_C0, SplatCloud, identity_rotations
from bridge.formats.spz import (
    COLOR_SCALE,
    DEFAULT_MAX_POINTS,
    MAGIC,
    PEAK_BYTES_PER_POINT,
    clipped_colour_values,
    decode_spz,
    encode_spz,
    pack_smallest_three,
    read_spz,
    unpack_smallest_three,
)
from bridge.world.keys import TileKey
from tests.formats.refusal_support import refused_peak
from tests.sample_tiles import PHOTOS, ground_tile, load_photo

JS = Path(__file__).parents[1] / "js"
NODE = shutil.which("node")
needs_node = pytest.mark.skipif(
    NODE is None or not (JS / "node_modules").is_dir(),
    reason="third-party JS readers absent: run `npm ci --prefix tests/js` (needs node)",
)

# Half a quantisation step of each SPZ field, in our units (+ float32 slack).
COLOR_HALF_STEP = SH_C0 / (0.15 * 255) / 2 + 1e-6
OPACITY_HALF_STEP = 0.5 / 255 + 1e-6
LOG_SCALE_HALF_STEP = 0.5 / 16 + 1e-5


def random_cloud(rng: np.random.Generator, n: int, extent: float = 100.0) -> SplatCloud:
    q = rng.normal(size=(n, 4))
    return SplatCloud.from_arrays(
        rng.uniform(-extent, extent, (n, 3)),
        np.exp(rng.uniform(-6.0, 3.0, (n, 3))),
        q / np.linalg.norm(q, axis=1, keepdims=True),
        rng.uniform(0, 1, n),
        rng.uniform(-0.2, 1.2, (n, 3)),
    )


def assert_close_to(decoded: SplatCloud, original: SplatCloud, fractional_bits: int, version: int) -> None:
    assert len(decoded) == len(original)
    pos_tol = 0.5 / (1 << fractional_bits) + 1e-6 * float(np.abs(original.positions).max(initial=1.0))
    np.testing.assert_allclose(decoded.positions, original.positions, atol=pos_tol, rtol=0)
    np.testing.assert_allclose(decoded.opacities, original.opacities, atol=OPACITY_HALF_STEP, rtol=0)
    np.testing.assert_allclose(decoded.colors, original.colors, atol=COLOR_HALF_STEP, rtol=0)
    log_err = np.abs(np.log(decoded.scales) - np.log(original.scales))
    assert log_err.max(initial=0) <= LOG_SCALE_HALF_STEP
    q0 = original.rotations / np.linalg.norm(original.rotations, axis=1, keepdims=True)
    dot = np.abs(np.sum(decoded.rotations.astype(np.float64) * q0, axis=1))
    # v3: 9 bits + sign per small component; v2: 8 bits on x, y, z with w rebuilt (coarse near w=0).
    assert dot.min(initial=1) >= (0.99999 if version >= 3 else 0.97)


# -- byte layout ---------------------------------------------------------------------------------


def test_v3_bytes_follow_the_spec_layout() -> None:
    cloud = SplatCloud.from_arrays(
        np.array([[1.0, -2.0, 0.5]]),
        np.array([[1.0, math.exp(-10.0), 2.0]]),
        identity_rotations(1),
        np.array([1.0]),
        np.array([[0.5, 0.5 + SH_C0 / 0.15 * 0.5, 0.0]]),
    )
    raw = gzip.decompress(encode_spz(cloud, version=3))
    assert struct.unpack_from("<IIIBBBB", raw) == (MAGIC, 3, 1, 0, 12, 0, 0)
    assert raw[:4] == b"NGSP"
    body = raw[16:]
    assert len(body) == 9 + 1 + 3 + 3 + 4
    # x = 1 m -> 4096 = 0x001000; y = -2 m -> -8192 = 0xffe000 (24-bit two's complement).
    assert body[0:9] == bytes([0x00, 0x10, 0x00, 0x00, 0xE0, 0xFF, 0x00, 0x08, 0x00])
    assert body[9] == 255  # opacity 1
    # f_dc 0 -> 127.5 rounds away from zero; f_dc = 0.5/0.15 -> 0.5*255 + 127.5 = 255; colour 0 clamps.
    assert body[10] == 128 and body[11] == 255
    assert body[13:16] == bytes([160, 0, round((math.log(2.0) + 10) * 16)])
    # identity (x, y, z, w) = (0, 0, 0, 1): largest is w (index 3), the three others are 0.
    assert body[16:20] == (3 << 30).to_bytes(4, "little")


def test_smallest_three_matches_the_reference_bit_order() -> None:
    # (x, y, z, w) with y largest: index 1 in the top bits, then x, z, w from high to low bits.
    q = np.array([[0.1, -0.9, 0.3, 0.2]])
    q /= np.linalg.norm(q)
    word = int.from_bytes(pack_smallest_three(q)[0].tobytes(), "little")
    assert word >> 30 == 1
    # y is negative, so the whole quaternion is negated: x -> negative, z -> negative, w -> negative.
    fields = [(word >> shift) & 0x3FF for shift in (20, 10, 0)]
    for field, value in zip(fields, (q[0, 0], q[0, 2], q[0, 3]), strict=True):
        assert field >> 9 == 1  # sign bit set (negated)
        assert field & 0x1FF == math.floor(511 * abs(value) / math.sqrt(0.5) + 0.5)
    back = unpack_smallest_three(pack_smallest_three(q))
    assert abs(abs(float(back[0] @ q[0])) - 1) < 1e-5


def test_v4_layout_header_toc_and_zstd_streams() -> None:
    cloud = random_cloud(np.random.default_rng(1), 50)
    data = encode_spz(cloud, version=4)
    magic, version, n, sh, bits, flags, streams, toc = struct.unpack_from("<IIIBBBBI", data)
    assert (magic, version, n, sh, flags, streams, toc) == (MAGIC, 4, 50, 0, 0, 5, 32)
    assert data[20:32] == bytes(12)
    offset = toc + streams * 16
    sizes = []
    for i in range(streams):
        compressed, size = struct.unpack_from("<QQ", data, toc + 16 * i)
        assert len(zstandard.ZstdDecompressor().decompress(data[offset : offset + compressed])) == size
        sizes.append(size)
        offset += compressed
    assert offset == len(data)
    assert sizes == [9 * 50, 50, 150, 150, 200]
    assert bits == 12


def test_frame_is_rub_with_no_flip() -> None:
    # Our world frame is already SPZ's RUB: a point above the ground stays above in the file.
    cloud = SplatCloud.from_arrays(
        np.array([[0.0, 3.0, -4.0]]), np.full((1, 3), 0.1), identity_rotations(1), np.ones(1), np.zeros((1, 3))
    )
    raw = gzip.decompress(encode_spz(cloud))
    y = int.from_bytes(raw[16 + 3 : 16 + 6] + b"\x00", "little")
    z = int.from_bytes(raw[16 + 6 : 16 + 9] + b"\xff", "little", signed=True)
    assert y == 3 * 4096 and z == -4 * 4096


def test_far_positions_get_fewer_fraction_bits() -> None:
    cloud = random_cloud(np.random.default_rng(2), 20)
    far = SplatCloud.from_arrays(
        cloud.positions + np.float32(12_000.0), cloud.scales, cloud.rotations, cloud.opacities, cloud.colors
    )
    info, decoded = read_spz(encode_spz(far))
    assert info.fractional_bits == 9  # 12 km * 2**9 < 2**23 <= 12 km * 2**10
    assert_close_to(decoded, far, info.fractional_bits, 3)
    with pytest.raises(ValueError, match="24-bit"):
        encode_spz(
            SplatCloud.from_arrays(
                np.full((1, 3), 1e7), np.ones((1, 3)), identity_rotations(1), np.ones(1), np.zeros((1, 3))
            )
        )


def with_rdf_extension(rub: bytes) -> bytes:
    """A v4 file re-labelled as RDF (y down, z forward) with Adobe's coordinate-system record."""
    ext = struct.pack("<III", 0xADBE0003, 4, 6)  # 6 = RDF in Adobe's enum
    header = bytearray(rub[:32])
    header[14] |= 0x2  # has extensions
    struct.pack_into("<I", header, 16, 32 + len(ext))
    return bytes(header) + ext + rub[32:]


def test_adobe_coordinate_system_extension_is_honoured() -> None:
    # Reading an RDF-labelled file must flip y and z back into RUB.
    cloud = random_cloud(np.random.default_rng(3), 30)
    rub = encode_spz(cloud, version=4)
    info, decoded = read_spz(with_rdf_extension(rub))
    assert info.coordinate_system == "RDF"
    plain = decode_spz(rub)
    np.testing.assert_allclose(decoded.positions, plain.positions * np.array([1, -1, -1]), atol=1e-6)
    # The same turn (180 degrees about x) on the rotations: w x y z -> w x -y -z, up to sign.
    flipped = plain.rotations * np.array([1, 1, -1, -1])
    dot = np.abs(np.sum(decoded.rotations * flipped, axis=1))
    assert dot.min() > 0.99999


# -- round trips ---------------------------------------------------------------------------------


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    seed=st.integers(0, 2**32 - 1),
    n=st.integers(0, 300),
    version=st.sampled_from([2, 3, 4]),
    extent=st.sampled_from([1.0, 100.0, 2000.0, 30_000.0]),
)
def test_round_trip_within_quantisation(seed: int, n: int, version: int, extent: float) -> None:
    cloud = random_cloud(np.random.default_rng(seed), n, extent)
    data = encode_spz(cloud, version=version)
    info, decoded = read_spz(data)
    assert info.version == version and info.num_points == n
    assert_close_to(decoded, cloud, info.fractional_bits, version)
    # Quantisation is idempotent: a decoded cloud survives another trip unchanged (rotations up
    # to the tie where two components are equally large and the other one gets dropped).
    again = decode_spz(encode_spz(decoded, version=version, fractional_bits=info.fractional_bits))
    for name in ("positions", "scales", "opacities", "colors"):
        np.testing.assert_array_equal(getattr(again, name), getattr(decoded, name))
    dot = np.abs(np.sum(again.rotations * decoded.rotations.astype(np.float64), axis=1))
    assert dot.min(initial=1) > (0.99999 if version >= 3 else 0.999)


def test_encoding_is_deterministic() -> None:
    cloud = random_cloud(np.random.default_rng(4), 100)
    for version in (2, 3, 4):
        assert encode_spz(cloud, version=version) == encode_spz(cloud, version=version)


# -- hostile input -------------------------------------------------------------------------------


def _legacy(header: bytes, body: bytes = b"") -> bytes:
    return gzip.compress(header + body, mtime=0)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "not an SPZ"),
        (b"PK\x03\x04junk", "not an SPZ"),
        (_legacy(struct.pack("<IIIBBBB", 0x12345678, 3, 1, 0, 12, 0, 0)), "magic"),
        (_legacy(struct.pack("<IIIBBBB", MAGIC, 9, 1, 0, 12, 0, 0)), "version 9"),
        (_legacy(struct.pack("<IIIBBBB", MAGIC, 3, 1, 7, 12, 0, 0)), "SH degree"),
        (_legacy(struct.pack("<IIIBBBB", MAGIC, 3, 1 << 30, 0, 12, 0, 0)), "limit"),
        (_legacy(struct.pack("<IIIBBBB", MAGIC, 3, 1 << 20, 0, 12, 0, 0)), "impossible"),
        (_legacy(struct.pack("<IIIBBBB", MAGIC, 3, 2, 0, 12, 0, 0), bytes(20)), "header implies"),
        (_legacy(b"NGSP\x03\x00"), "16-byte header"),
        (b"NGSP" + bytes(10), "32-byte header"),
    ],
)
def test_malformed_input_is_a_value_error(data: bytes, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        decode_spz(data)


def test_truncated_and_bloated_files_are_rejected() -> None:
    cloud = random_cloud(np.random.default_rng(5), 200)
    for version in (3, 4):
        data = encode_spz(cloud, version=version)
        for cut in (len(data) // 2, len(data) - 1):
            with pytest.raises(ValueError):
                decode_spz(data[:cut])
    # v4 accounts for every byte; gzip (v2/v3) stops at the end of its member, as the reference
    # reader does, so only v4 can reject trailing bytes.
    with pytest.raises(ValueError, match="trailing"):
        decode_spz(encode_spz(cloud, version=4) + b"\x00" * 8)


def _claiming(frame: bytes, content_size: int) -> bytes:
    """The same zstd frame with its header rewritten to claim ``content_size`` bytes."""
    fhd = frame[4]
    single = (fhd >> 5) & 1
    fcs_size = [single, 2, 4, 8][fhd >> 6]
    start = 5 + (0 if single else 1) + [0, 1, 2, 4][fhd & 3] + fcs_size  # first block
    return frame[:4] + bytes([0xE0 | (fhd & 0x04)]) + struct.pack("<Q", content_size) + frame[start:]


def test_v4_stream_claiming_a_huge_size_is_refused_before_allocating() -> None:
    data = bytearray(encode_spz(random_cloud(np.random.default_rng(12), 100), version=4))
    compressed, _ = struct.unpack_from("<QQ", data, 32)
    first = 32 + 5 * 16
    frame = _claiming(bytes(data[first : first + compressed]), 1 << 62)
    struct.pack_into("<Q", data, 32, len(frame))
    hostile = bytes(data[:first]) + frame + bytes(data[first + compressed :])
    with pytest.raises(ValueError, match="declares"):
        decode_spz(hostile)


# -- third-party readers -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def photo_tile() -> SplatCloud:
    if not PHOTOS.is_dir():
        pytest.skip(f"sample photos absent at {PHOTOS}")
    return ground_tile(load_photo(PHOTOS / "lyra2_06.png", max_width=320), TileKey(0, 2, -1), per_side=24).splats


def _node(*args: str) -> str:
    done = subprocess.run([NODE or "node", *args], cwd=JS, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, f"node {' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _raw_ply_y(path: Path) -> np.ndarray:
    return np.asarray(PlyData.read(str(path))["vertex"].data["y"], dtype=np.float64)


@needs_node
@pytest.mark.parametrize("version", [2, 3, 4])
def test_splat_transform_reads_our_spz_upright(photo_tile: SplatCloud, version: int, tmp_path: Path) -> None:
    spz_path, ply_path = tmp_path / "tile.spz", tmp_path / "tile.ply"
    spz_path.write_bytes(encode_spz(photo_tile, version=version))
    _node("node_modules/@playcanvas/splat-transform/bin/cli.mjs", "-q", "-w", str(spz_path), str(ply_path))
    theirs = decode_ply(ply_path.read_bytes())  # their PLY is RDF; decode_ply turns it back to RUB
    ours = decode_spz(spz_path.read_bytes())
    assert len(theirs) == len(photo_tile)
    assert_close_to(theirs, photo_tile, 12, version)
    np.testing.assert_allclose(theirs.positions, ours.positions, atol=1e-5)
    np.testing.assert_allclose(theirs.colors, ours.colors, atol=1e-5)
    np.testing.assert_allclose(theirs.opacities, ours.opacities, atol=1e-5)
    np.testing.assert_allclose(theirs.scales, ours.scales, rtol=1e-5)
    # Upright: their file is y-down (the trainers' frame PLY viewers expect), so our highest
    # point must be their lowest y, and the y ordering of all points must be reversed.
    raw_y = _raw_ply_y(ply_path)
    world_y = photo_tile.positions[:, 1].astype(np.float64)
    assert int(np.argmin(raw_y)) == int(np.argmax(world_y))
    assert np.corrcoef(raw_y, world_y)[0, 1] < -0.999


@needs_node
def test_splat_transform_agrees_on_the_coordinate_system_extension(tmp_path: Path) -> None:
    spz_path, ply_path = tmp_path / "rdf.spz", tmp_path / "rdf.ply"
    spz_path.write_bytes(with_rdf_extension(encode_spz(random_cloud(np.random.default_rng(6), 40), version=4)))
    _node("node_modules/@playcanvas/splat-transform/bin/cli.mjs", "-q", "-w", str(spz_path), str(ply_path))
    theirs, ours = decode_ply(ply_path.read_bytes()), decode_spz(spz_path.read_bytes())
    np.testing.assert_allclose(theirs.positions, ours.positions, atol=1e-6)
    assert np.abs(np.sum(theirs.rotations * ours.rotations, axis=1)).min() > 0.99999


@needs_node
def test_spz_js_reads_our_v2(photo_tile: SplatCloud, tmp_path: Path) -> None:
    # spz-js (npm) reads versions 1-2 only, and converts no axes: its PLY stays in SPZ's RUB.
    spz_path, ply_path = tmp_path / "tile.spz", tmp_path / "tile.ply"
    spz_path.write_bytes(encode_spz(photo_tile, version=2))
    _node("spzjs_to_ply.mjs", str(spz_path), str(ply_path))
    raw = PlyData.read(str(ply_path))["vertex"].data
    assert len(raw) == len(photo_tile)
    np.testing.assert_allclose(
        np.stack([raw["x"], raw["y"], raw["z"]], axis=1), photo_tile.positions, atol=0.5 / 4096 + 1e-5
    )
    # Upright as written: y up, the same ordering as the world.
    assert int(np.argmax(raw["y"])) == int(np.argmax(photo_tile.positions[:, 1]))
    colors = 0.5 + SH_C0 * np.stack([raw[f"f_dc_{i}"] for i in range(3)], axis=1)
    np.testing.assert_allclose(colors, photo_tile.colors, atol=COLOR_HALF_STEP)
    scales = np.exp(np.stack([raw[f"scale_{i}"] for i in range(3)], axis=1))
    assert np.abs(np.log(scales / photo_tile.scales)).max() <= LOG_SCALE_HALF_STEP
    with np.errstate(over="ignore"):
        opacity = 1 / (1 + np.exp(-raw["opacity"].astype(np.float64)))
    np.testing.assert_allclose(opacity, photo_tile.opacities, atol=OPACITY_HALF_STEP)
    quat = np.stack([raw[f"rot_{i}"] for i in range(4)], axis=1).astype(np.float64)  # w x y z
    assert np.abs(np.sum(quat * photo_tile.rotations, axis=1)).min() > 0.97


def test_colours_beyond_the_byte_range_are_clamped_and_counted() -> None:
    colours = np.array([[0.5, 0.5, 0.5], [-1.0, 0.5, 2.0], [1.4, -0.4, 0.0], [3.0, 3.0, 3.0]])
    n = len(colours)
    cloud = SplatCloud.from_arrays(
        np.zeros((n, 3)), np.full((n, 3), 0.1), identity_rotations(n), np.full(n, 0.5), colours
    )
    assert clipped_colour_values(cloud) == 5  # -1.0 and 2.0, then three 3.0s; 1.4 and -0.4 fit
    decoded = decode_spz(encode_spz(cloud, version=2)).colors
    lowest, highest = 0.5 + SH_C0 * (-0.5 / COLOR_SCALE), 0.5 + SH_C0 * (0.5 / COLOR_SCALE)
    np.testing.assert_allclose(decoded[1, [0, 2]], [lowest, highest], atol=COLOR_HALF_STEP * 2)
    np.testing.assert_allclose(decoded[2], colours[2], atol=COLOR_HALF_STEP)


def _zero_spz(points: int) -> bytes:
    """A v3 SPZ whose gzip body truly holds ``points`` points (all bytes zero): deflate packs it
    about 1000 to 1, so the file is small and every size check but the count cap passes."""
    deflate = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    parts = [deflate.compress(struct.pack("<IIIBBBB", MAGIC, 3, points, 0, 12, 0, 0))]
    parts += [deflate.compress(bytes(20 * points)), deflate.flush()]
    return b"".join(parts)


def test_a_claim_past_the_memory_cap_is_refused_before_inflating() -> None:
    """A 2 M-point file of 40 KB decoded before the fix (16.8 M points, 4.7 GB, were allowed);
    now its count is past the cap that keeps a decode within its memory budget: refused from
    the header, with nothing inflated."""
    points = 2_000_000
    hostile = _zero_spz(points)
    assert len(hostile) < 64 * 1024 and points > DEFAULT_MAX_POINTS
    assert DEFAULT_MAX_POINTS * PEAK_BYTES_PER_POINT <= MAX_DECODE_BYTES
    claim = rf"claims {points} points, more than the limit of {DEFAULT_MAX_POINTS}"
    assert refused_peak(lambda: decode_spz(hostile), claim) < 1 << 20
    # The 16.8 M-point claim meets the same refusal, from its header alone.
    with pytest.raises(ValueError, match=r"claims 16777216 points, more than the limit .* MiB"):
        decode_spz(gzip.compress(struct.pack("<IIIBBBB", MAGIC, 3, 1 << 24, 0, 12, 0, 0)))
