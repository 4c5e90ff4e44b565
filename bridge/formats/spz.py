"""Niantic's SPZ splat format: write versions 2, 3 and 4, read versions 2 to 4.

SPZ is what World Labs Marble exports, what Spark and the Unreal / Unity SPZ importers read, and
what ``KHR_gaussian_splatting_compression_spz_2`` wraps in glTF. Facts below are from the format's
README and reference implementation (github.com/nianticlabs/spz); the code is ours.

Frame of the file: **RUB** (x right, y up, z back), SPZ's spec'd default. Our world frame (glTF) is
RUB too, so positions and rotations are written as they are, with no flip. Readers that want the
trainer/PLY frame (RDF) flip y and z themselves (the reference library does, on request). On
read we honour Adobe's ``SPZ_ADOBE_coordinate_system`` extension (type 0xADBE0003) when present
and convert to RUB; files without it are RUB by definition.

Quaternions: SPZ stores x, y, z, w; ``SplatCloud`` holds w, x, y, z. We convert at the boundary.

Versions 2 and 3 ("legacy", one gzip stream)::

    gzip( header(16) | positions | alphas | colors | scales | rotations | sh | extensions )

    header, little-endian:
      0  u32  magic 0x5053474e ("NGSP" in file order)
      4  u32  version (2 or 3)
      8  u32  numPoints
     12  u8   shDegree (0..4; we write 0)
     13  u8   fractionalBits (positions are fixed point with this many fraction bits)
     14  u8   flags (0x1 antialiased, 0x2 extension records follow the SH block)
     15  u8   reserved, 0

Version 4 (plain 32-byte header, a table of contents, one zstd frame per non-empty attribute)::

      0  u32  magic, 4 u32 version = 4, 8 u32 numPoints
     12  u8   shDegree, 13 u8 fractionalBits, 14 u8 flags, 15 u8 numStreams
     16  u32  tocByteOffset (32 + extension bytes)
     20  u8[12] reserved, 0
     32  extension records [u32 type][u32 byteLength][payload] ... up to tocByteOffset
    tbo  numStreams x (u64 compressedSize, u64 uncompressedSize)
         then the zstd frames back to back, in attribute order; empty attributes have no stream.

Attributes, per point, in file order (each attribute is one contiguous block):
- positions, 9 bytes: x, y, z as 24-bit little-endian two's complement, value * 2**fractionalBits.
  The reference writer uses 12 bits (0.25 mm, +-2048 m). Our world reaches further from the
  origin, so we pick the most fraction bits that still fit the largest coordinate.
- alphas, 1 byte: round(opacity * 255), opacity after the sigmoid.
- colors, 3 bytes: the degree-0 SH coefficient ``f_dc`` stored as round(f_dc * 0.15 * 255 + 127.5)
  -- SPZ's own 0.15 scale, *not* SH_C0; colour = 0.5 + SH_C0 * f_dc.
- scales, 3 bytes: round((ln(scale) + 10) * 16).
- rotations: v3/v4 "smallest three", 4 bytes = one little-endian u32: bits 31-30 index of the
  largest |component| (x=0 .. w=3, made positive), then for the other three in index order,
  10 bits each from the top: a sign bit and a 9-bit magnitude round(|c| / sqrt(1/2) * 511).
  v2: 3 bytes, x, y, z of the quaternion with w made non-negative, round(c * 127.5 + 127.5).
- sh, 3 * dim(shDegree) bytes (dim 0, 3, 8, 15, 24): we write degree 0 (nothing); on read we
  skip higher bands because ``SplatCloud`` carries the degree-0 colour only.
"""

from __future__ import annotations

import gzip
import struct
import zlib
from dataclasses import dataclass

import numpy as np
import zstandard

from bridge.formats._quat import matrix_from_xyzw, normalised_xyzw, xyzw_from_matrix
from bridge.formats.splats import SH_C0, SplatCloud, max_splats_within

MAGIC = 0x5053474E
HEADER_LEGACY = struct.Struct("<IIIBBBB")  # 16 bytes
HEADER_V4 = struct.Struct("<IIIBBBBI12s")  # 32 bytes
TOC_ENTRY = struct.Struct("<QQ")
COLOR_SCALE = 0.15  # SPZ's own scale of f_dc into a byte
FLAG_ANTIALIASED = 0x1
FLAG_EXTENSIONS = 0x2
EXT_COORDINATE_SYSTEM = 0xADBE0003
READ_VERSIONS = (2, 3, 4)
WRITE_VERSIONS = (2, 3, 4)
DEFAULT_FRACTIONAL_BITS = 12  # the reference writer's 0.25 mm grid
# Decoding takes at most this much memory a point: 166 bytes traced (tracemalloc, 100k random
# points, v3 and v4), 185 bytes of resident memory decoding 1.5M points in a fresh process.
PEAK_BYTES_PER_POINT = 192
# Ceiling for a decoder facing untrusted bytes: one decode within MAX_DECODE_BYTES (256 MiB:
# 1.40M points); callers importing a huge scene pass more, knowing what it costs.
DEFAULT_MAX_POINTS = max_splats_within(PEAK_BYTES_PER_POINT)
# Deflate cannot expand more than ~1032x, so a legacy file claiming more points than that ratio
# allows is lying; v4 uses the reference reader's own bound (1024x). Both stop a tiny file that
# claims millions of points before anything is allocated for them.
_MAX_GZIP_RATIO = 1100
_MAX_ZSTD_RATIO = 1024
_MAX_EXTENSION_BYTES = 1 << 20
_SH_DIM = (0, 3, 8, 15, 24)
_SQRT1_2 = 0.7071067811865476
_INT24_MAX = (1 << 23) - 1

# Adobe coordinate-system enum -> the world (RUB) direction of the file's x, y, z axes.
_AXIS = {
    "R": (1, 0, 0),
    "L": (-1, 0, 0),
    "U": (0, 1, 0),
    "D": (0, -1, 0),
    "B": (0, 0, 1),
    "F": (0, 0, -1),
}
_COORDINATE_SYSTEMS = (
    "UNSPECIFIED", "LDB", "RDB", "LUB", "RUB", "LDF", "RDF", "LUF", "RUF",
    "LBD", "RBD", "LBU", "RBU", "LFD", "RFD", "LFU", "RFU",
)  # fmt: skip


@dataclass(frozen=True)
class SpzInfo:
    version: int
    num_points: int
    sh_degree: int
    fractional_bits: int
    antialiased: bool
    coordinate_system: str  # "RUB" unless an Adobe coordinate-system extension says otherwise


def _round_half_away(x: np.ndarray) -> np.ndarray:
    """C's ``round``: the reference writer's rounding, so our bytes match its bytes."""
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _to_u8(x: np.ndarray) -> np.ndarray:
    return np.clip(_round_half_away(x), 0, 255).astype(np.uint8)


def choose_fractional_bits(positions: np.ndarray) -> int:
    """The most fraction bits (<= 12) that keep every coordinate inside a signed 24-bit integer."""
    if positions.size == 0:
        return DEFAULT_FRACTIONAL_BITS
    largest = float(np.max(np.abs(positions.astype(np.float64))))
    if not np.isfinite(largest):
        raise ValueError("SPZ cannot store non-finite positions")
    for bits in range(DEFAULT_FRACTIONAL_BITS, -1, -1):
        if largest * (1 << bits) + 0.5 <= _INT24_MAX:
            return bits
    raise ValueError(f"a coordinate of {largest:.0f} m is beyond SPZ's 24-bit range; recentre the cloud")


def pack_smallest_three(q_xyzw: np.ndarray) -> np.ndarray:
    """[N, 4] unit quaternions (x, y, z, w) -> [N, 4] uint8, SPZ v3's 32-bit packing."""
    n = q_xyzw.shape[0]
    largest = np.argmax(np.abs(q_xyzw), axis=1)
    negate = q_xyzw[np.arange(n), largest] < 0
    comp = largest.astype(np.uint32)
    for i in range(4):
        c = q_xyzw[:, i]
        negbit = ((c < 0) ^ negate).astype(np.uint32)
        mag = np.minimum(np.floor(511.0 * np.abs(c) / _SQRT1_2 + 0.5), 511).astype(np.uint32)
        packed = (comp << np.uint32(10)) | (negbit << np.uint32(9)) | mag
        comp = np.where(largest == i, comp, packed)
    return comp.astype("<u4").view(np.uint8).reshape(n, 4)


def unpack_smallest_three(data: np.ndarray) -> np.ndarray:
    """[N, 4] uint8 -> [N, 4] float64 quaternions (x, y, z, w), largest component positive."""
    comp = np.ascontiguousarray(data).view("<u4").reshape(-1).astype(np.uint64)
    n = comp.shape[0]
    largest = (comp >> np.uint64(30)).astype(np.int64)
    q = np.zeros((n, 4))
    for i in range(3, -1, -1):  # the last stored component sits in the lowest bits
        here = largest != i
        mag = (comp & np.uint64(511)).astype(np.float64)
        neg = ((comp >> np.uint64(9)) & np.uint64(1)).astype(bool)
        value = _SQRT1_2 * mag / 511.0
        q[:, i] = np.where(here, np.where(neg, -value, value), 0.0)
        comp = np.where(here, comp >> np.uint64(10), comp)
    rest = np.sum(q * q, axis=1)
    q[np.arange(n), largest] = np.sqrt(np.maximum(0.0, 1.0 - rest))
    return q


def _pack_first_three(q_xyzw: np.ndarray) -> np.ndarray:
    q = np.where(q_xyzw[:, 3:4] < 0, -q_xyzw, q_xyzw)
    return _to_u8(q[:, :3] * 127.5 + 127.5)


def _unpack_first_three(data: np.ndarray) -> np.ndarray:
    xyz = data.astype(np.float64) / 127.5 - 1.0
    w = np.sqrt(np.maximum(0.0, 1.0 - np.sum(xyz * xyz, axis=1, keepdims=True)))
    return np.concatenate([xyz, w], axis=1)


def _colour_bytes(colors: np.ndarray) -> np.ndarray:
    """Unrounded colour bytes: sRGB colour -> f_dc -> SPZ's 0.15-scaled byte."""
    f_dc = (colors.astype(np.float64) - 0.5) / SH_C0
    return f_dc * (COLOR_SCALE * 255.0) + 0.5 * 255.0


def clipped_colour_values(splats: SplatCloud) -> int:
    """How many colour channel values SPZ clamps to its byte range (colours outside about
    -0.44..1.44, which a 3DGS colour may be): writers report it instead of clipping silently."""
    raw = _round_half_away(_colour_bytes(splats.colors))
    return int(np.count_nonzero((raw < 0) | (raw > 255)))


def _attributes(splats: SplatCloud, version: int, fractional_bits: int) -> list[bytes]:
    """The six attribute blocks, in file order: positions alphas colors scales rotations sh."""
    n = len(splats)
    fixed = _round_half_away(splats.positions.astype(np.float64) * (1 << fractional_bits))
    if n and np.max(np.abs(fixed)) > _INT24_MAX:
        raise ValueError(f"positions overflow 24 bits at {fractional_bits} fractional bits")
    positions = fixed.astype("<i4").reshape(-1, 1).view(np.uint8)[:, :3]  # low 3 bytes, LE
    alphas = _to_u8(splats.opacities.astype(np.float64) * 255.0)
    colors = _to_u8(_colour_bytes(splats.colors))
    log_scales = np.log(np.maximum(splats.scales.astype(np.float64), 1e-30))
    scales = _to_u8((log_scales + 10.0) * 16.0)
    q = normalised_xyzw(splats.rotations)
    rotations = pack_smallest_three(q) if version >= 3 else _pack_first_three(q)
    return [a.tobytes() for a in (positions, alphas, colors, scales, rotations)] + [b""]


def encode_spz(
    splats: SplatCloud,
    *,
    version: int = 3,
    fractional_bits: int | None = None,
    antialiased: bool = False,
) -> bytes:
    """Write ``splats`` (world frame, RUB) as SPZ. Version 3 is what every current reader takes;
    version 2 is for older readers (npm ``spz-js``); version 4 is the newest (zstd streams)."""
    if version not in WRITE_VERSIONS:
        raise ValueError(f"SPZ version {version} cannot be written; use one of {WRITE_VERSIONS}")
    if not splats.is_finite():
        raise ValueError("SPZ cannot store non-finite splat values")
    bits = choose_fractional_bits(splats.positions) if fractional_bits is None else fractional_bits
    if not 0 <= bits <= 23:
        raise ValueError(f"fractional bits {bits} outside [0, 23]")
    blocks = _attributes(splats, version, bits)
    flags = FLAG_ANTIALIASED if antialiased else 0
    n = len(splats)
    if version < 4:
        header = HEADER_LEGACY.pack(MAGIC, version, n, 0, bits, flags, 0)
        # mtime=0 keeps the bytes a pure function of the splats (content-addressed blobs).
        return gzip.compress(header + b"".join(blocks), compresslevel=6, mtime=0)
    compressor = zstandard.ZstdCompressor(level=12)
    streams = [(compressor.compress(b), len(b)) for b in blocks if b]
    header = HEADER_V4.pack(MAGIC, 4, n, 0, bits, flags, len(streams), HEADER_V4.size, bytes(12))
    toc = b"".join(TOC_ENTRY.pack(len(c), size) for c, size in streams)
    return header + toc + b"".join(c for c, _ in streams)


def _coordinate_matrix(name: str) -> np.ndarray:
    """[3, 3] matrix taking a vector in the named file frame to our world frame (RUB)."""
    return np.array([_AXIS[letter] for letter in name], dtype=np.float64).T


def _parse_extensions(data: bytes) -> str:
    """Walk [type, length, payload] records; return the coordinate system they declare."""
    system = "RUB"
    offset = 0
    while offset + 8 <= len(data):
        kind, length = struct.unpack_from("<II", data, offset)
        offset += 8
        if length > len(data) - offset:
            raise ValueError("SPZ extension record runs past the end of its block")
        if kind == EXT_COORDINATE_SYSTEM:
            if length < 4:
                raise ValueError("SPZ coordinate-system extension is too short")
            (value,) = struct.unpack_from("<I", data, offset)
            if value >= len(_COORDINATE_SYSTEMS):
                raise ValueError(f"SPZ coordinate-system extension has unknown value {value}")
            system = "RUB" if value == 0 else _COORDINATE_SYSTEMS[value]
        offset += length
    return system


def _sizes(n: int, sh_degree: int, version: int) -> list[int]:
    rotation_bytes = 4 if version >= 3 else 3
    return [9 * n, n, 3 * n, 3 * n, rotation_bytes * n, 3 * _SH_DIM[sh_degree] * n]


def _check_header(version: int, n: int, sh_degree: int, bits: int, max_points: int) -> None:
    if version not in READ_VERSIONS:
        raise ValueError(f"SPZ version {version} is not supported (reads {READ_VERSIONS})")
    if n > max_points:
        raise ValueError(
            f"SPZ claims {n} points, more than the limit of {max_points} (decoding takes about "
            f"{PEAK_BYTES_PER_POINT} bytes a point: {n * PEAK_BYTES_PER_POINT >> 20} MiB)"
        )
    if sh_degree >= len(_SH_DIM):
        raise ValueError(f"SPZ SH degree {sh_degree} is not in 0..4")
    if bits > 23:
        raise ValueError(f"SPZ fractional bits {bits} exceed the 24-bit position field")


def _gunzip_limited(data: bytes, limit: int) -> bytes:
    """Inflate at most ``limit`` bytes; anything beyond is a lie about the size (or a bomb)."""
    inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
    try:
        out = inflater.decompress(data, limit + 1)
    except zlib.error as exc:
        raise ValueError(f"SPZ gzip stream is corrupt: {exc}") from exc
    if len(out) > limit:
        raise ValueError("SPZ gzip stream inflates past the size its header implies")
    if not inflater.eof:
        raise ValueError("SPZ gzip stream is truncated")
    return out


def _read_legacy(data: bytes, max_points: int) -> tuple[SpzInfo, list[bytes]]:
    try:
        head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data, HEADER_LEGACY.size)
    except zlib.error as exc:
        raise ValueError(f"SPZ gzip stream is corrupt: {exc}") from exc
    if len(head) < HEADER_LEGACY.size:
        raise ValueError("SPZ stream ends inside its 16-byte header")
    magic, version, n, sh_degree, bits, flags, _ = HEADER_LEGACY.unpack(head)
    if magic != MAGIC:
        raise ValueError(f"not an SPZ file: magic {magic:#010x}, expected {MAGIC:#010x}")
    if version == 4:
        raise ValueError("SPZ version 4 must not be gzip-wrapped")
    _check_header(version, n, sh_degree, bits, max_points)
    if n > len(data) * _MAX_GZIP_RATIO // 9 + 1:
        raise ValueError(f"SPZ claims {n} points, impossible in {len(data)} compressed bytes")
    sizes = _sizes(n, sh_degree, version)
    body_size = HEADER_LEGACY.size + sum(sizes)
    has_ext = bool(flags & FLAG_EXTENSIONS)
    raw = _gunzip_limited(data, body_size + (_MAX_EXTENSION_BYTES if has_ext else 0))
    if len(raw) < body_size or (len(raw) != body_size and not has_ext):
        raise ValueError(f"SPZ payload has {len(raw)} bytes, its header implies {body_size}")
    blocks, offset = [], HEADER_LEGACY.size
    for size in sizes:
        blocks.append(raw[offset : offset + size])
        offset += size
    system = _parse_extensions(raw[offset:]) if has_ext else "RUB"
    return SpzInfo(version, n, sh_degree, bits, bool(flags & FLAG_ANTIALIASED), system), blocks


def _read_v4(data: bytes, max_points: int) -> tuple[SpzInfo, list[bytes]]:
    if len(data) < HEADER_V4.size:
        raise ValueError("SPZ v4 file ends inside its 32-byte header")
    magic, version, n, sh_degree, bits, flags, num_streams, toc_offset, _ = HEADER_V4.unpack_from(data)
    if magic != MAGIC:
        raise ValueError(f"not an SPZ file: magic {magic:#010x}")
    if version != 4:
        raise ValueError(f"SPZ with a plain header must be version 4, not {version}")
    _check_header(version, n, sh_degree, bits, max_points)
    if n > len(data) * _MAX_ZSTD_RATIO // 9 + 1:
        raise ValueError(f"SPZ claims {n} points, impossible in {len(data)} bytes")
    if not HEADER_V4.size <= toc_offset <= len(data):
        raise ValueError(f"SPZ v4 table of contents offset {toc_offset} is out of range")
    system = _parse_extensions(data[HEADER_V4.size : toc_offset]) if flags & FLAG_EXTENSIONS else "RUB"
    sizes = _sizes(n, sh_degree, version)
    expected = [s for s in sizes if s]
    if num_streams != len(expected):
        raise ValueError(f"SPZ v4 has {num_streams} streams, expected {len(expected)}")
    offset = toc_offset + num_streams * TOC_ENTRY.size
    if offset > len(data):
        raise ValueError("SPZ v4 table of contents is truncated")
    decompressor = zstandard.ZstdDecompressor()
    streams = []
    for i, size in enumerate(expected):
        compressed, uncompressed = TOC_ENTRY.unpack_from(data, toc_offset + i * TOC_ENTRY.size)
        if uncompressed != size:
            raise ValueError(f"SPZ v4 stream {i} holds {uncompressed} bytes, expected {size}")
        if compressed > len(data) - offset:
            raise ValueError(f"SPZ v4 stream {i} runs past the end of the file")
        frame = data[offset : offset + compressed]
        try:
            # python-zstandard sizes its output by the frame's own claim when there is one, so a
            # claim other than the table's is refused before it can allocate (a bomb).
            declared = zstandard.frame_content_size(frame)
            if declared not in (-1, size):
                raise ValueError(f"SPZ v4 stream {i} declares {declared} bytes, expected {size}")
            out = decompressor.decompress(frame, max_output_size=size)
        except zstandard.ZstdError as exc:
            raise ValueError(f"SPZ v4 stream {i} is corrupt: {exc}") from exc
        if len(out) != size:
            raise ValueError(f"SPZ v4 stream {i} inflates to {len(out)} bytes, expected {size}")
        streams.append(out)
        offset += compressed
    if offset != len(data):
        raise ValueError("SPZ v4 file has trailing bytes after its streams")
    it = iter(streams)
    blocks = [next(it) if s else b"" for s in sizes]
    return SpzInfo(4, n, sh_degree, bits, bool(flags & FLAG_ANTIALIASED), system), blocks


def read_spz(data: bytes, *, max_points: int = DEFAULT_MAX_POINTS) -> tuple[SpzInfo, SplatCloud]:
    """Decode SPZ bytes of any version 2-4 to (header facts, cloud in our world frame)."""
    data = bytes(data)
    if data[:2] == b"\x1f\x8b":
        info, blocks = _read_legacy(data, max_points)
    elif data[:4] == struct.pack("<I", MAGIC):
        info, blocks = _read_v4(data, max_points)
    else:
        raise ValueError("not an SPZ file: neither a gzip stream nor an NGSP header")
    n = info.num_points
    # Each attribute is made float32 as soon as it is computed, so decoding holds one or two
    # attributes' float64 temporaries at a time (PEAK_BYTES_PER_POINT).
    pos_bytes = np.frombuffer(blocks[0], dtype=np.uint8).reshape(n * 3, 3).astype(np.int32)
    fixed = pos_bytes[:, 0] | (pos_bytes[:, 1] << 8) | (pos_bytes[:, 2] << 16)
    del pos_bytes
    fixed = np.where(fixed & 0x800000, fixed - (1 << 24), fixed)
    positions = fixed.reshape(n, 3).astype(np.float64) / (1 << info.fractional_bits)
    del fixed
    m = _coordinate_matrix(info.coordinate_system) if info.coordinate_system != "RUB" else None
    if m is not None:
        positions = positions @ m.T
    positions = positions.astype(np.float32)
    opacities = (np.frombuffer(blocks[1], dtype=np.uint8).astype(np.float64) / 255.0).astype(np.float32)
    raw_colors = np.frombuffer(blocks[2], dtype=np.uint8).reshape(n, 3).astype(np.float64)
    colors = (0.5 + SH_C0 * ((raw_colors / 255.0 - 0.5) / COLOR_SCALE)).astype(np.float32)
    del raw_colors
    scales = np.exp(np.frombuffer(blocks[3], dtype=np.uint8).reshape(n, 3) / 16.0 - 10.0).astype(np.float32)
    rot = np.frombuffer(blocks[4], dtype=np.uint8)
    smallest_three = info.version >= 3
    q = unpack_smallest_three(rot.reshape(n, 4)) if smallest_three else _unpack_first_three(rot.reshape(n, 3))
    if m is not None and n:
        q = xyzw_from_matrix(m @ matrix_from_xyzw(q) @ m.T)
    cloud = SplatCloud.from_arrays(positions, scales, q[:, [3, 0, 1, 2]], opacities, colors)
    return info, cloud


def decode_spz(data: bytes, *, max_points: int = DEFAULT_MAX_POINTS) -> SplatCloud:
    """SPZ bytes -> ``SplatCloud`` in our world frame; ValueError on anything malformed."""
    return read_spz(data, max_points=max_points)[1]
