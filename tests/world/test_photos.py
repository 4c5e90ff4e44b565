"""Photo checks that read headers only, and the full decode that checks the upright shape again."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from bridge.world.photos import PhotoError, decode_photo, inspect_photo

_ORIENTATION_ROTATE_90 = 6  # EXIF orientation: the picture is stored turned a quarter


def png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.linear_gradient("L").resize((width, height)).convert("RGB").save(out, format="PNG")
    return out.getvalue()


def chunk(kind: bytes, body: bytes) -> bytes:
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))


def with_exif_after_pixels(data: bytes, orientation: int) -> bytes:
    """The PNG with an eXIf chunk just before IEND (after IDAT), as some tools write it."""
    exif = Image.Exif()
    exif[0x0112] = orientation
    end = data.rindex(b"IEND") - 4
    return data[:end] + chunk(b"eXIf", exif.tobytes()) + data[end:]


def test_inspecting_a_png_reads_no_pixels() -> None:
    """Pixel data cut short passes the header check (nothing decoded); the decode refuses it."""
    whole = png(640, 480)
    cut = whole[: whole.index(b"IDAT") + 200] + chunk(b"IEND", b"")
    header = inspect_photo(cut)
    assert (header.format, header.width, header.height) == ("PNG", 640, 480)
    with pytest.raises(PhotoError, match="damaged or truncated"):
        decode_photo(cut)


def test_an_exif_turn_kept_after_the_pixels_is_checked_at_decode() -> None:
    """400x220 stored, 220x400 upright: taller than 16:9 allows only once turned."""
    data = with_exif_after_pixels(png(400, 220), _ORIENTATION_ROTATE_90)
    assert inspect_photo(data).width == 400  # the headers alone show the stored shape
    with pytest.raises(PhotoError, match=r"220x400; height/width may be at most 16/9"):
        decode_photo(data)
    assert decode_photo(with_exif_after_pixels(png(400, 300), 1)).shape == (300, 400, 3)
