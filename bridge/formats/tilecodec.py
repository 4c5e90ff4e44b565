"""The tile codec: WorldBridge's compact wire format for one tile's splats ("stream" format).

Goal: about 10 bytes per splat or fewer at SH degree 0, visually lossless (under 0.5 dB PSNR loss
against the unquantised tile, same camera). Each attribute is quantised on a grid chosen for the
tile (positions to the tile's own bounds), turned into byte planes that an entropy coder can
model (deltas along the splat order for the spatially smooth attributes), then zstd-compressed
as one frame. The JavaScript decoder ``web/src/tilecodec.js`` implements the same layout; the
vectors in ``tests/vectors/`` pin both to the same float32 output, bit for bit.

Frame: our world frame, glTF's (x right, y up, z back; metres). Quaternions w, x, y, z as in
``SplatCloud``. Splats keep their order unless the encoder is asked to reorder them (flag bit 0).

Layout, little-endian. Header, 96 bytes::

    off size type    field
      0    4 bytes   magic "WBTC"
      4    1 u8      version = 1
      5    1 u8      flags: bit 0 = the encoder reordered the splats (Morton order); others 0
      6    1 u8      SH degree = 0
      7    1 u8      rotation levels L (1..127): a small quaternion component c is stored as
                     round(c / sqrt(1/2) * L)
      8    4 u32     count N
     12    4 u32     payload length P (bytes after the header; the file is exactly 96 + P)
     16   12 f32x3   position origin (metres): the tile-local quantisation grid's corner
     28   12 f32x3   position step per axis (metres; 0 on an axis where all splats agree)
     40   12 f32x3   log2-scale origin per axis
     52   12 f32x3   log2-scale step per axis
     64    4 f32     colour origin (sRGB units, shared by the three channels)
     68    4 f32     colour step
     72   20         reserved, zero
     92    4 u32     CRC-32 (IEEE, zlib's) of header bytes 0..91 followed by the payload

Payload: one zstd frame (content size recorded in its header) holding 17 N bytes, as planes of
N bytes each, in this order:

- positions, 6 planes: per axis x, y, z, the low then high byte of zigzag(d), where d is the
  difference of the 16-bit grid index from the previous splat's (mod 2**16; the first splat's
  predecessor is 0) and zigzag(d) = (d << 1) ^ (d >> 15) on d as a signed 16-bit integer.
- colours, 3 planes: grid indices r, g, b (0..255) recombined as g, r - g, b - g (mod 256) --
  a cheap decorrelation -- each then differenced from the previous splat's (mod 256).
- opacity, 1 plane: round(opacity * 255).
- scales, 3 planes: per axis the index on its log2 grid (0..255).
- rotations, 4 planes: the index (0..3, w x y z) of the largest |component|, made positive,
  then the other three in w x y z order as signed bytes (two's complement) on the L grid.

Decoding, in float64 then rounded once to float32 (so any IEEE-754 language gets the same bits):
position = origin + index * step; colour = origin + index * step; opacity = index / 255;
scale = 2 ** (origin + index * step); rotation: c = index / L * sqrt(1/2) for the three small
components, the largest = sqrt(max(0, 1 - sum c**2)), then the quaternion divided by its norm.
Every step but the power of two is exact IEEE-754 arithmetic; ``2 ** x`` may differ in its last
float64 bit between libraries, which the rounding to float32 hides except within one float64
ulp of a float32 midpoint (odds ~2**-29 per value; a tile has at most 768 distinct powers).
A decoded value beyond float32's range (a hostile header) is refused.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass

import numpy as np
import zstandard

from bridge.formats._quat import normalised_xyzw
from bridge.formats.splats import MAX_DECODE_BYTES, SplatCloud, max_splats_within

MAGIC = b"WBTC"
VERSION = 1
HEADER = struct.Struct("<4sBBBBII3f3f3f3fff20sI")
HEADER_SIZE = HEADER.size  # 96
FLAG_REORDERED = 0x1
KNOWN_FLAGS = FLAG_REORDERED
BYTES_PER_SPLAT_RAW = 17
# Decoding takes at most this much memory a splat: 147 bytes traced (tracemalloc, 100k random
# splats, bytes in and float32 cloud out included), 139 bytes of resident memory decoding 1.68M.
PEAK_BYTES_PER_SPLAT = 160
# A tile has tens of thousands of splats (the densest seen ~120k); the decoder refuses more than
# this from untrusted bytes, which keeps one decode within MAX_DECODE_BYTES (256 MiB: 1.68M splats).
DEFAULT_MAX_SPLATS = max_splats_within(PEAK_BYTES_PER_SPLAT)
DEFAULT_LEVEL = 9  # zstd: level 9 is within ~3 % of level 19's size at several times the speed

_SQRT1_2 = 0.7071067811865476  # == Math.SQRT1_2 == math.sqrt(0.5): one double in both decoders
_WXYZ_FROM_XYZW = [3, 0, 1, 2]


@dataclass(frozen=True)
class Quantisation:
    """Encoder knobs. The defaults are tuned for LOD tiles seen from a walker's height."""

    position_step_fraction: float = 1 / 16  # grid step as a fraction of the median splat size
    min_scale_step: float = 1 / 48  # log2 units: 1.5 % size steps, finer buys nothing visible
    color_step: float = 1 / 255  # sRGB units; widened when a tile's colours span more than 1
    rotation_levels: int = 63  # 0.64 degrees worst-case per small component

    def __post_init__(self) -> None:
        if not 1 <= self.rotation_levels <= 127:
            raise ValueError(f"rotation levels {self.rotation_levels} outside 1..127")
        for name in ("position_step_fraction", "min_scale_step", "color_step"):
            value = getattr(self, name)
            if not (np.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, not {value}")


@dataclass(frozen=True)
class TileHeader:
    version: int
    flags: int
    count: int
    payload_length: int
    rotation_levels: int
    position_origin: tuple[float, float, float]
    position_step: tuple[float, float, float]
    scale_origin: tuple[float, float, float]
    scale_step: tuple[float, float, float]
    color_origin: float
    color_step: float


def _f32(x: float | np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32)


def _grid(values: np.ndarray, max_index: int, min_step: np.ndarray | float) -> tuple[np.ndarray, np.ndarray]:
    """Per-column (origin, step), both float32, so every value fits indices 0..max_index.

    The step is the larger of ``min_step`` and what the column's range needs; it is rounded up in
    float32 so the decoder's grid (built from the float32 header values) still covers the range.
    """
    lo = _f32(values.min(axis=0)) if values.size else _f32(np.zeros(values.shape[1:]))
    hi = values.max(axis=0) if values.size else lo.astype(np.float64)
    need = (hi - lo.astype(np.float64)) / max_index
    step = _f32(np.maximum(need, min_step))
    step = np.where(step.astype(np.float64) * max_index < hi - lo, np.nextafter(step, np.float32(np.inf)), step)
    step = np.where(hi > lo, step, _f32(0.0))
    return lo, _f32(step)


def _index(values: np.ndarray, origin: np.ndarray, step: np.ndarray, max_index: int) -> np.ndarray:
    safe = np.where(step > 0, step, 1.0).astype(np.float64)
    q = np.rint((values - origin.astype(np.float64)) / safe)
    return np.clip(np.where(step > 0, q, 0), 0, max_index).astype(np.int64)


def morton_order(positions: np.ndarray) -> np.ndarray:
    """A permutation putting splats in Z-order of their 10-bit grid cell (for unordered clouds)."""
    if positions.shape[0] == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = positions.min(axis=0), positions.max(axis=0)
    cell = np.clip(((positions - lo) / np.maximum(hi - lo, 1e-30) * 1023).astype(np.int64), 0, 1023)
    code = np.zeros(positions.shape[0], dtype=np.int64)
    for bit in range(10):
        for axis in range(3):
            code |= ((cell[:, axis] >> bit) & 1) << (3 * bit + axis)
    return np.argsort(code, kind="stable")


def _zigzag16(d: np.ndarray) -> np.ndarray:
    s = ((d + 0x8000) & 0xFFFF) - 0x8000  # as signed 16-bit
    return ((s << 1) ^ (s >> 15)) & 0xFFFF


def _f32_rows(values: np.ndarray) -> np.ndarray:
    """[K, N] float64 -> contiguous [N, K] float32, as ``SplatCloud.from_arrays`` would cast it."""
    with np.errstate(over="ignore"):
        return np.ascontiguousarray(values.T, dtype=np.float32)


def _unzigzag16(z: np.ndarray) -> np.ndarray:
    return (z >> 1) ^ -(z & 1)


def encode_tile(
    splats: SplatCloud,
    *,
    quantisation: Quantisation | None = None,
    reorder: bool = False,
    level: int = DEFAULT_LEVEL,
) -> bytes:
    """Encode one tile's splats. ``reorder`` sorts them in Morton order first, which helps a
    cloud in random order (an imported scene) and hurts one already in a spatial order (ours)."""
    quant = quantisation or Quantisation()
    if not splats.is_finite():
        raise ValueError("the tile codec cannot store non-finite splat values")
    if np.any(splats.scales <= 0):
        raise ValueError("splat scales must be positive")
    n = len(splats)
    if n > DEFAULT_MAX_SPLATS:
        raise ValueError(f"{n} splats exceed the codec's limit of {DEFAULT_MAX_SPLATS} per tile")
    if reorder:
        splats = splats.subset(morton_order(splats.positions))

    positions = splats.positions.astype(np.float64)
    log_scales = np.log2(splats.scales.astype(np.float64))
    size = np.median(np.exp2(log_scales.mean(axis=1))) if n else 1.0
    pos_origin, pos_step = _grid(positions, 0xFFFF, float(size) * quant.position_step_fraction)
    scale_origin, scale_step = _grid(log_scales, 255, quant.min_scale_step)
    colors = splats.colors.astype(np.float64).reshape(-1, 1)
    color_origin, color_step = _grid(colors, 255, quant.color_step)

    planes: list[np.ndarray] = []
    qp = _index(positions, pos_origin, pos_step, 0xFFFF)
    z = _zigzag16(np.diff(qp, axis=0, prepend=np.zeros((1, 3), dtype=np.int64)))
    for axis in range(3):
        planes += [z[:, axis] & 0xFF, z[:, axis] >> 8]
    qc = _index(colors, color_origin, color_step, 255).reshape(n, 3)
    g = qc[:, 1]
    decorrelated = np.stack([g, qc[:, 0] - g, qc[:, 2] - g], axis=1)
    planes += list(np.diff(decorrelated, axis=0, prepend=np.zeros((1, 3), dtype=np.int64)).T)
    planes.append(np.rint(np.clip(splats.opacities.astype(np.float64), 0, 1) * 255).astype(np.int64))
    planes += list(_index(log_scales, scale_origin, scale_step, 255).T)
    q = normalised_xyzw(splats.rotations)[:, _WXYZ_FROM_XYZW]
    largest = np.argmax(np.abs(q), axis=1)
    q = np.where(q[np.arange(n), largest][:, None] < 0, -q, q)
    levels = quant.rotation_levels
    small = np.rint(q / _SQRT1_2 * levels).clip(-levels, levels).astype(np.int64)
    keep = np.ones((n, 4), dtype=bool)
    keep[np.arange(n), largest] = False
    planes.append(largest)
    planes += list(small[keep].reshape(n, 3).T)
    raw = b"".join((p.astype(np.int64) & 0xFF).astype(np.uint8).tobytes() for p in planes)
    assert len(raw) == BYTES_PER_SPLAT_RAW * n
    payload = zstandard.ZstdCompressor(level=level, write_content_size=True).compress(raw)

    head = HEADER.pack(
        MAGIC,
        VERSION,
        FLAG_REORDERED if reorder else 0,
        0,
        levels,
        n,
        len(payload),
        *pos_origin.tolist(),
        *pos_step.tolist(),
        *scale_origin.tolist(),
        *scale_step.tolist(),
        float(color_origin[0]),
        float(color_step[0]),
        bytes(20),
        0,
    )
    crc = zlib.crc32(payload, zlib.crc32(head[: HEADER_SIZE - 4]))
    return head[: HEADER_SIZE - 4] + struct.pack("<I", crc) + payload


def read_header(data: bytes, *, max_splats: int = DEFAULT_MAX_SPLATS) -> TileHeader:
    """Parse and sanity-check the header alone (no decompression): ValueError if malformed."""
    if len(data) < HEADER_SIZE:
        raise ValueError(f"tile codec data has {len(data)} bytes, shorter than the {HEADER_SIZE}-byte header")
    fields = HEADER.unpack_from(data)
    magic, version, flags, sh_degree, levels, count, length = fields[:7]
    floats = fields[7:21]
    if magic != MAGIC:
        raise ValueError(f"not a WorldBridge tile: magic {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise ValueError(f"tile codec version {version} is not supported (this decoder reads {VERSION})")
    if flags & ~KNOWN_FLAGS:
        raise ValueError(f"tile codec flags {flags:#04x} set unknown bits")
    if sh_degree != 0:
        raise ValueError(f"tile codec SH degree {sh_degree} is not supported (0 only)")
    if not 1 <= levels <= 127:
        raise ValueError(f"tile codec rotation levels {levels} outside 1..127")
    if count > max_splats:
        raise ValueError(
            f"tile claims {count} splats, more than the limit of {max_splats} (decoding takes about "
            f"{PEAK_BYTES_PER_SPLAT} bytes a splat; the limit keeps a decode within {MAX_DECODE_BYTES >> 20} MiB)"
        )
    if length != len(data) - HEADER_SIZE:
        raise ValueError(f"tile payload length {length} disagrees with the {len(data) - HEADER_SIZE} bytes present")
    if fields[21] != bytes(20):
        raise ValueError("tile codec reserved header bytes are not zero")
    arr = np.asarray(floats, dtype=np.float64)
    if not np.isfinite(arr).all():
        raise ValueError("tile codec header holds a non-finite number")
    steps = np.concatenate([arr[3:6], arr[9:12], arr[13:14]])
    if np.any(steps < 0):
        raise ValueError("tile codec header holds a negative quantisation step")
    return TileHeader(
        version, flags, count, length, levels,
        tuple(floats[0:3]), tuple(floats[3:6]), tuple(floats[6:9]), tuple(floats[9:12]),
        floats[12], floats[13],
    )  # fmt: skip


def decode_tile(data: bytes, *, max_splats: int = DEFAULT_MAX_SPLATS) -> SplatCloud:
    """Decode one tile; ValueError with the reason on any malformed, truncated or hostile input."""
    data = bytes(data)
    head = read_header(data, max_splats=max_splats)
    (stored_crc,) = struct.unpack_from("<I", data, HEADER_SIZE - 4)
    crc = zlib.crc32(data[HEADER_SIZE:], zlib.crc32(data[: HEADER_SIZE - 4]))
    if crc != stored_crc:
        raise ValueError(f"tile checksum mismatch: stored {stored_crc:#010x}, computed {crc:#010x}")
    n = head.count
    expected = BYTES_PER_SPLAT_RAW * n
    payload = data[HEADER_SIZE:]
    try:
        declared = zstandard.frame_content_size(payload)
    except zstandard.ZstdError as exc:
        raise ValueError(f"tile payload is not a zstd frame: {exc}") from exc
    if declared != expected:
        raise ValueError(f"tile payload declares {declared} bytes, {n} splats need {expected}")
    try:
        # The output cap is what makes a decompression bomb harmless.
        raw = zstandard.ZstdDecompressor().decompress(payload, max_output_size=expected)
    except zstandard.ZstdError as exc:
        raise ValueError(f"tile payload is corrupt: {exc}") from exc
    if len(raw) != expected:
        raise ValueError(f"tile payload inflates to {len(raw)} bytes, expected {expected}")
    # Each attribute is widened from its byte planes (views of ``raw``) and made float32 at once,
    # so decoding holds a few attributes' temporaries at a time, not all of them (PEAK_BYTES_PER_SPLAT).
    planes = np.frombuffer(raw, dtype=np.uint8).reshape(BYTES_PER_SPLAT_RAW, n)
    z = planes[0:6:2].astype(np.int64) | (planes[1:6:2].astype(np.int64) << 8)  # [3, N] zigzagged deltas
    qp = np.cumsum(_unzigzag16(z), axis=1) & 0xFFFF
    del z
    positions = _f32_rows(np.asarray(head.position_origin)[:, None] + qp * np.asarray(head.position_step)[:, None])
    del qp
    d = np.cumsum(planes[6:9], axis=1, dtype=np.int64) & 0xFF
    g = d[0]
    qc = np.stack([(d[1] + g) & 0xFF, g, (d[2] + g) & 0xFF])
    del d, g
    colors = _f32_rows(head.color_origin + qc * head.color_step)
    del qc
    opacities = (planes[9] / 255.0).astype(np.float32)
    log_scales = np.asarray(head.scale_origin)[:, None] + planes[10:13] * np.asarray(head.scale_step)[:, None]
    with np.errstate(over="ignore"):
        scales = _f32_rows(np.exp2(log_scales))
    del log_scales
    largest = planes[13]
    if n and largest.max() > 3:
        raise ValueError("tile rotation data names a quaternion component beyond the fourth")
    small = planes[14:17].view(np.int8)  # two's complement bytes, as the encoder wrote them
    if n and np.abs(small.astype(np.int16)).max() > head.rotation_levels:
        raise ValueError("tile rotation data exceeds its declared levels")
    c = small / head.rotation_levels * _SQRT1_2
    big = np.sqrt(np.maximum(0.0, 1.0 - (c[0] * c[0] + c[1] * c[1] + c[2] * c[2])))
    q = np.zeros((4, n))
    slots = np.array([[j for j in range(4) if j != i] for i in range(4)], dtype=np.int8)[largest]  # [N, 3]
    splat = np.arange(n)
    for k in range(3):
        q[slots[:, k], splat] = c[k]
    q[largest, splat] = big
    del c, big, slots, splat
    norm = np.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3])
    q = q / norm
    with np.errstate(over="ignore"):
        cloud = SplatCloud.from_arrays(positions, scales, q.T, opacities, colors)
    if not cloud.is_finite():  # finite header numbers can still reach past float32's range
        raise ValueError("tile decodes to values beyond float32's range")
    return cloud


def decoded_bytes(cloud: SplatCloud) -> bytes:
    """The decoded float32 values as one little-endian blob: positions, scales, rotations (w x y z),
    opacities, colours -- the form the cross-language test vectors compare byte for byte."""
    parts = (cloud.positions, cloud.scales, cloud.rotations, cloud.opacities, cloud.colors)
    return b"".join(np.ascontiguousarray(p, dtype="<f4").tobytes() for p in parts)
