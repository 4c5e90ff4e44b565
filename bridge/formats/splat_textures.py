"""The GPU-ready tile format ("splat-textures"): a tile's splats as texture images, zstd-compressed.

Goal: an engine decodes a tile with one zstd decompress and one texture upload per attribute, no
per-splat loop in a script. Godot: ``body = data.slice(96).decompress(body_size,
FileAccess.COMPRESSION_ZSTD)``, then ``Image.create_from_data(width, rows, false, FORMAT, slice)``
for each texture; Unreal or any C++ client: ``ZSTD_decompress`` (libzstd), then the slices are
the texel data of ``PF_A32B32G32R32F`` / ``PF_FloatRGBA`` / ``PF_R8G8B8A8`` textures; a browser:
``fzstd`` and ``texImage2D`` with ``RGBA32F`` / ``RGBA16F`` / ``RGBA8``. The bytes are larger than
the ``stream`` codec's (float texels compress poorly): this format trades bandwidth for decode
cost on the engine side.

Integrity comes before decompression: Godot 4.6's ``PackedByteArray.decompress`` does not survive
a corrupt zstd frame (it aborts the engine, or returns a buffer of the requested size holding
garbage), so the header carries the SHA-256 of the header and body, which every engine can check
natively first (Godot: ``HashingContext``). A hostile server can still hand a Godot client a
corrupt frame with a matching hash; a client trusts its server.

Frame: our world frame, glTF's -- right-handed, **Y up, metres**, -Z forward (Godot's own axes).
A splat's world position is ``origin + position``: the origin is float64 in the header (the
tile's centre on the y = 0 plane for the tiles the server sends), the texel is float32 relative
to it, so a client far from the world origin keeps millimetres (place the tile's node at the
origin, relative to the client's own floating origin).

Layout, little-endian. Header, 96 bytes, uncompressed::

    off size type    field
      0    4 bytes   magic "WBTX"
      4    2 u16     version = 1
      6    2 u16     flags = 0 (reserved; a decoder refuses bits it does not know)
      8    4 u32     count N (splats)
     12    4 u32     width W: texels per texture row, a power of two (every tile this version
                     writes uses 1024; read it, do not assume it)
     16    4 u32     rows H = ceil(N / W) (0 for an empty tile)
     20    4 u32     body size S = 36 * W * H: the decompressed size, what ``decompress(S)`` takes
     24    4 u32     compressed length P: the bytes after the header (the file is exactly 96 + P)
     28    4         reserved, zero
     32   24 f64x3   origin x, y, z (metres, world frame)
     56    8         reserved, zero
     64   32 bytes   SHA-256 of header bytes 0..63 followed by the P bytes of the body

Body: one zstd frame (its content size in its frame header; no content checksum, the SHA-256
covers it) holding S bytes: four texture images of W x H texels one after another, each
row-major from row 0 (texel ``i`` of an image is splat ``i``, at column ``i % W``, row ``i // W``;
the last row is padded with zero texels, which draw nothing: zero scale, zero opacity). An empty
tile (N = 0) has no rows and an empty frame: skip the decompress (Godot's refuses a size of 0)::

    offset     format    texel (R, G, B, A)
    0          RGBA32F   position x, y, z relative to the origin (metres, float32); A = 0
    16 W H     RGBA16F   rotation: the unit quaternion x, y, z, w (in that order, as Godot's
                         ``Quaternion(x, y, z, w)``, glTF and GLSL's vec4 have it), half floats
    24 W H     RGBA16F   scale: per-axis standard deviation along the splat's local x, y, z
                         axes in metres, **linear, not log** (half floats; 0.06 mm to 65 km);
                         A = 0
    32 W H     RGBA8     colour R, G, B: the degree-0 colour in **sRGB**, round(c * 255) with c
                         clipped to [0, 1]; A: opacity, **linear**, round(o * 255)

Decoding: position = float32(origin + float64(texel)); rotation, scale: the half floats widened;
colour = byte / 255; opacity = byte / 255 (all rounded once to float32). Precision against the
encoder's input: positions within half a float32 step of their offset from the origin,
rotations and scales within half a half-float step, colours and opacity within half of 1/255
(after clipping colours to [0, 1]).

The zstd frame is made at a fixed level with no worker threads, so one library version gives one
output for one input (the test vectors pin it). A decoder must cap the output at S and refuse S
beyond :data:`MAX_BODY_BYTES` (72 MiB, the body of :data:`MAX_SPLATS` splats): a small file
claiming a huge body is a decompression bomb.
"""

from __future__ import annotations

import hashlib
import math
import struct
from dataclasses import dataclass

import numpy as np
import zstandard

from bridge.formats._quat import normalised_xyzw
from bridge.formats.splats import SplatCloud, TileContent

MAGIC = b"WBTX"
VERSION = 1
HEADER = struct.Struct("<4sHHIIIII4s3d8s32s")
HEADER_SIZE = HEADER.size  # 96
HASHED_HEADER = 64  # the header's bytes the SHA-256 covers (all but the digest itself)
WIDTH = 1024  # texels per row: within every GPU's texture limits, and a shift in a shader
MAX_WIDTH = 16384
BYTES_PER_TEXEL = {"positions": 16, "rotations": 8, "scales": 8, "colors": 4}
BYTES_PER_SPLAT = sum(BYTES_PER_TEXEL.values())  # 36
# The densest tile seen holds ~120k splats; this leaves 17x headroom and bounds what a hostile
# header can make a decoder allocate.
MAX_SPLATS = 1 << 21
MAX_BODY_BYTES = BYTES_PER_SPLAT * MAX_SPLATS  # 75,497,472 bytes = 72 MiB
LEVEL = 3  # zstd: fixed, so the bytes are a function of the splats; 9 and 19 save 1 % at 6x and 50x the time
HALF_MAX = float(np.finfo(np.float16).max)  # 65504


@dataclass(frozen=True)
class TexturesHeader:
    version: int
    count: int
    width: int
    rows: int
    body_size: int
    compressed_length: int
    origin: tuple[float, float, float]

    def offsets(self) -> dict[str, tuple[int, int]]:
        """(start, end) of each texture image in the body."""
        out: dict[str, tuple[int, int]] = {}
        start = 0
        for name, size in BYTES_PER_TEXEL.items():
            end = start + size * self.width * self.rows
            out[name] = (start, end)
            start = end
        return out


def rows_for(count: int, width: int = WIDTH) -> int:
    return -(-count // width)


def encode_splat_textures(
    splats: SplatCloud, origin: tuple[float, float, float] = (0.0, 0.0, 0.0), *, width: int = WIDTH
) -> bytes:
    """One tile's splats as textures relative to ``origin`` (world metres); ValueError for what
    the format cannot hold (non-finite values, negative scales, scales past the half float's
    65504 m, more than :data:`MAX_SPLATS` splats)."""
    n = len(splats)
    origin64 = np.asarray(origin, dtype=np.float64)
    if origin64.shape != (3,) or not np.isfinite(origin64).all():
        raise ValueError(f"the tile origin must be three finite numbers, not {origin!r}")
    if width < 1 or width > MAX_WIDTH or width & (width - 1):
        raise ValueError(f"texture width {width} is not a power of two up to {MAX_WIDTH}")
    if n > MAX_SPLATS:
        raise ValueError(f"{n} splats exceed the format's limit of {MAX_SPLATS} per tile")
    if not splats.is_finite():
        raise ValueError("splat-textures cannot store non-finite splat values")
    if np.any(splats.scales < 0) or np.any(splats.scales > HALF_MAX):
        raise ValueError(f"splat scales must lie in [0, {HALF_MAX:g}] m to fit half floats")
    texels = width * rows_for(n, width)

    def image(values: np.ndarray, dtype: str) -> bytes:
        out = np.zeros((texels, 4), dtype=dtype)
        out[:n, : values.shape[1]] = values
        return out.tobytes()

    with np.errstate(over="ignore"):
        relative = (splats.positions.astype(np.float64) - origin64).astype(np.float32)
    if not np.isfinite(relative).all():
        raise ValueError("splat positions lie beyond float32's range of the tile origin")
    colors = np.rint(np.clip(splats.colors.astype(np.float64), 0.0, 1.0) * 255)
    opacity = np.rint(np.clip(splats.opacities.astype(np.float64), 0.0, 1.0) * 255)
    body = b"".join(
        (
            image(relative, "<f4"),
            image(normalised_xyzw(splats.rotations), "<f2"),
            image(splats.scales, "<f2"),
            image(np.concatenate([colors, opacity[:, None]], axis=1), "u1"),
        )
    )
    compressor = zstandard.ZstdCompressor(level=LEVEL, write_content_size=True, write_checksum=False, threads=0)
    payload = compressor.compress(body)
    head = HEADER.pack(
        MAGIC, VERSION, 0, n, width, texels // width, len(body), len(payload), bytes(4), *origin64.tolist(), bytes(8),
        bytes(32),
    )[:HASHED_HEADER]  # fmt: skip
    return head + digest(head, payload) + payload


def digest(hashed_header: bytes, payload: bytes) -> bytes:
    """The SHA-256 a tile's header carries: of its first 64 bytes, then the body's."""
    return hashlib.sha256(hashed_header[:HASHED_HEADER] + payload).digest()


def tile_origin(content: TileContent, base_tile_m: float) -> tuple[float, float, float]:
    """The origin the server's tiles use: the tile's centre on the y = 0 plane."""
    cx, cz = content.key.center(base_tile_m)
    return (float(cx), 0.0, float(cz))


def encode_tile_textures(content: TileContent, base_tile_m: float) -> bytes:
    """A tile as the server sends it: its splats relative to :func:`tile_origin`."""
    return encode_splat_textures(content.splats, tile_origin(content, base_tile_m))


def read_header(data: bytes, *, max_splats: int = MAX_SPLATS) -> TexturesHeader:
    """Parse and check the header alone (no decompression): ValueError if malformed or hostile."""
    if len(data) < HEADER_SIZE:
        raise ValueError(f"splat-textures data has {len(data)} bytes, shorter than the {HEADER_SIZE}-byte header")
    magic, version, flags, count, width, rows, body_size, length, pad1, x, y, z, pad2, _ = HEADER.unpack_from(data)
    if magic != MAGIC:
        raise ValueError(f"not a splat-textures tile: magic {magic!r}, expected {MAGIC!r}")
    if version != VERSION:
        raise ValueError(f"splat-textures version {version} is not supported (this decoder reads {VERSION})")
    if flags:
        raise ValueError(f"splat-textures flags {flags:#06x} set bits this version does not know")
    if pad1 != bytes(4) or pad2 != bytes(8):
        raise ValueError("splat-textures reserved header bytes are not zero")
    if body_size > BYTES_PER_SPLAT * max_splats:
        raise ValueError(
            f"splat-textures body claims {body_size} bytes decompressed, over the limit of "
            f"{BYTES_PER_SPLAT * max_splats} ({max_splats} splats): refused as a decompression bomb"
        )
    if count > max_splats:
        raise ValueError(f"tile claims {count} splats, more than the limit of {max_splats}")
    if width < 1 or width > MAX_WIDTH or width & (width - 1):
        raise ValueError(f"texture width {width} is not a power of two up to {MAX_WIDTH}")
    if rows != rows_for(count, width):
        raise ValueError(f"{rows} texture rows disagree with {count} splats at {width} texels a row")
    if body_size != BYTES_PER_SPLAT * width * rows:
        raise ValueError(f"body size {body_size} disagrees with {rows} rows of {width} texels")
    if length != len(data) - HEADER_SIZE:
        raise ValueError(f"compressed length {length} disagrees with the {len(data) - HEADER_SIZE} bytes present")
    if not all(math.isfinite(v) for v in (x, y, z)):
        raise ValueError("splat-textures origin is not finite")
    return TexturesHeader(version, count, width, rows, body_size, length, (x, y, z))


def decompress_body(data: bytes, head: TexturesHeader) -> bytes:
    """The body's bytes (exactly ``head.body_size``); ValueError if it is not that zstd frame."""
    payload = data[HEADER_SIZE:]
    if digest(data, payload) != data[HASHED_HEADER:HEADER_SIZE]:
        raise ValueError("splat-textures checksum mismatch: the tile is damaged (SHA-256 of header and body)")
    try:
        declared = zstandard.frame_content_size(payload)
    except zstandard.ZstdError as exc:
        raise ValueError(f"splat-textures body is not a zstd frame: {exc}") from exc
    if declared != head.body_size:
        raise ValueError(f"zstd frame declares {declared} bytes, the header {head.body_size}")
    try:
        # The output cap is what keeps a lying frame harmless.
        body = zstandard.ZstdDecompressor().decompress(payload, max_output_size=head.body_size)
    except zstandard.ZstdError as exc:
        raise ValueError(f"splat-textures body is corrupt: {exc}") from exc
    if len(body) != head.body_size:
        raise ValueError(f"splat-textures body inflates to {len(body)} bytes, expected {head.body_size}")
    return body


def decode_splat_textures(data: bytes, *, max_splats: int = MAX_SPLATS) -> SplatCloud:
    """The splats of one tile in world coordinates; ValueError on malformed, truncated or hostile
    input (a non-finite or negative value in a texture included)."""
    data = bytes(data)
    head = read_header(data, max_splats=max_splats)
    body = decompress_body(data, head)
    n = head.count
    spans = head.offsets()

    def texels(name: str, dtype: str) -> np.ndarray:
        start, end = spans[name]
        return np.frombuffer(body, dtype=dtype, count=(end - start) // np.dtype(dtype).itemsize, offset=start)

    relative = texels("positions", "<f4").reshape(-1, 4)[:n, :3]
    rotations = texels("rotations", "<f2").reshape(-1, 4)[:n].astype(np.float32)
    scales = texels("scales", "<f2").reshape(-1, 4)[:n, :3].astype(np.float32)
    rgba = texels("colors", "u1").reshape(-1, 4)[:n]
    if not (np.isfinite(relative).all() and np.isfinite(rotations).all() and np.isfinite(scales).all()):
        raise ValueError("splat-textures texels hold non-finite numbers")
    if np.signbit(scales).any():
        raise ValueError("splat-textures scales are negative")
    with np.errstate(over="ignore"):
        positions = (relative.astype(np.float64) + np.asarray(head.origin)).astype(np.float32)
    if not np.isfinite(positions).all():
        raise ValueError("splat-textures positions reach beyond float32's range")
    return SplatCloud.from_arrays(
        positions,
        scales,
        rotations[:, [3, 0, 1, 2]],  # x y z w -> SplatCloud's w x y z
        rgba[:, 3] / 255.0,
        rgba[:, :3] / 255.0,
    )
