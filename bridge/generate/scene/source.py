"""Reading a splat scene file (3DGS PLY or SPZ) with limits, and telling one from a photo.

A scene is what a trainer or a world model wrote: Lyra 2's exported 3DGS PLY (INRIA layout, any
SH degree; the degree-0 colour is kept), World Labs Marble's SPZ, or any other tool's. The
formats' own modules do the decoding; this module bounds the work before any of it is done.
"""

from __future__ import annotations

import re
import struct
import zlib

from bridge.formats.ply import decode_ply
from bridge.formats.splats import SplatCloud
from bridge.formats.spz import MAGIC as SPZ_MAGIC
from bridge.formats.spz import decode_spz

MAX_SCENE_BYTES = 1 << 30  # a 4M-splat PLY at SH degree 3 is about 1 GB
MAX_SCENE_SPLATS = 4_000_000  # ~56 bytes a splat kept per world, ~1 KB transient while reading
_PLY_HEADER_MAX = 64 * 1024
_SPZ_MAGIC = struct.pack("<I", SPZ_MAGIC)


class SceneError(ValueError):
    """A scene file we cannot or will not read; the message says why."""


def scene_kind(data: bytes) -> str | None:
    """ "ply" or "spz" when ``data`` starts like a splat scene, else None (a photo, or anything else)."""
    if data[:4] == b"ply\n" or data[:5] == b"ply\r\n":
        return "ply"
    if data[:4] == _SPZ_MAGIC:  # SPZ version 4: a plain header
        return "spz"
    if data[:2] == b"\x1f\x8b":  # versions 2 and 3: one gzip stream whose first bytes are the header
        try:
            head = zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data[:4096], 4)
        except zlib.error:
            return None
        return "spz" if head == _SPZ_MAGIC else None
    return None


def check_scene(data: bytes) -> str:
    """The scene's kind, after the checks that need no decoding: size and declared splat count."""
    if len(data) > MAX_SCENE_BYTES:
        raise SceneError(f"the scene is {len(data)} bytes; at most {MAX_SCENE_BYTES} are accepted")
    kind = scene_kind(data)
    if kind is None:
        raise SceneError(f"not a splat scene: a 3DGS .ply or an .spz was expected, the data starts {data[:8]!r}")
    if kind == "ply":
        count = _ply_vertex_count(data)
        if count == 0:
            raise SceneError("the PLY scene holds no splats")
        if count > MAX_SCENE_SPLATS:
            raise SceneError(f"the PLY scene holds {count} splats; at most {MAX_SCENE_SPLATS} are accepted")
    return kind


def read_scene(data: bytes) -> SplatCloud:
    """The scene's splats in its own frame converted to ours (glTF: y up, -z forward), finite.

    Raises SceneError, saying why, on anything broken, huge or empty."""
    kind = check_scene(data)
    try:
        cloud = decode_ply(data) if kind == "ply" else decode_spz(data, max_points=MAX_SCENE_SPLATS)
    except (ValueError, EOFError, OSError, zlib.error) as exc:
        raise SceneError(f"the {kind.upper()} scene cannot be read: {exc}") from exc
    if len(cloud) == 0:
        raise SceneError(f"the {kind.upper()} scene holds no splats")
    if not cloud.is_finite():
        raise SceneError(f"the {kind.upper()} scene holds non-finite values (NaN or infinity)")
    return cloud


def _ply_vertex_count(data: bytes) -> int:
    end = data.find(b"end_header", 0, _PLY_HEADER_MAX)
    if end < 0:
        raise SceneError(f"the PLY header does not end within {_PLY_HEADER_MAX} bytes")
    header = data[:end].decode("ascii", errors="replace")
    if "format binary_little_endian" not in header and "format ascii" not in header:
        raise SceneError("the PLY scene is neither binary little-endian nor ASCII")
    found = re.search(r"^element vertex (\d+)\s*$", header, re.MULTILINE)
    if not found:
        raise SceneError("the PLY header declares no 'element vertex'")
    return int(found.group(1))
