"""Decoding user photos safely: every way an upload can be wrong becomes a ``PhotoError``.

Accepted: PNG, JPEG (and MPO, the multi-picture JPEG many phones write: its first picture),
WebP; RGB, RGBA (alpha composited over white), greyscale, palette and 16-bit images are
converted to 8-bit sRGB; EXIF orientation is applied. Refused from the headers alone, before
any pixel is decoded (:func:`inspect_photo`): more than ``MAX_PHOTO_BYTES``, a side over
``MAX_PHOTO_SIDE`` or under ``MIN_PHOTO_SIDE``, more than ``MAX_PHOTO_PIXELS`` (decompression
bombs), a shape the generator cannot bear (wider than ``MAX_WIDE_ASPECT`` : 1, taller than
``MAX_TALL_ASPECT`` : 1: its working memory grows with the rows of the working image), and a
JPEG of more than ``MAX_JPEG_SCANS`` scans (each scan is a pass over the whole image: "scan
bombs"). Then anything Pillow cannot fully decode (truncated files).
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from bridge.world.jpeg_markers import JpegStructureError, count_scans

MAX_PHOTO_BYTES = 32 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000
MAX_PHOTO_SIDE = 16_384
MIN_PHOTO_SIDE = 64
MAX_WIDE_ASPECT = Fraction(4)  # width / height: a 4:1 panorama
MAX_TALL_ASPECT = Fraction(16, 9)  # height / width: a 9:16 phone portrait
MAX_JPEG_SCANS = 100  # a progressive JPEG usually has about 10
ACCEPTED_FORMATS = ("PNG", "JPEG", "MPO", "WEBP")
_OPENERS = ("PNG", "JPEG", "WEBP")  # Pillow's JPEG opener also reads MPO files
_ORIENTATION = 0x0112  # the EXIF tag
_QUARTER_TURNS = (5, 6, 7, 8)  # orientations that swap width and height

Image.init()  # every plugin registered, so Image.open(formats=...) knows each opener's name
# Pillow's own bomb guard, as a second line behind inspect_photo: it warns past this many pixels
# (made an error below) and refuses past twice as many.
Image.MAX_IMAGE_PIXELS = MAX_PHOTO_PIXELS


class PhotoError(ValueError):
    """The bytes are not a photo we can make a world from; the message says why."""


@dataclass(frozen=True)
class PhotoHeader:
    """What the headers say, all within the limits."""

    format: str
    width: int
    height: int
    scans: int  # JPEG scans in the first picture; 1 for other formats


def photo_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def limits_text() -> str:
    return (
        f"at most {MAX_PHOTO_BYTES} bytes, {MAX_PHOTO_PIXELS} pixels, {MAX_PHOTO_SIDE} px a side, "
        f"at least {MIN_PHOTO_SIDE} px a side, width/height at most {MAX_WIDE_ASPECT}, "
        f"height/width at most {MAX_TALL_ASPECT}, JPEG scans at most {MAX_JPEG_SCANS}"
    )


def inspect_photo(data: bytes) -> PhotoHeader:
    """Check a photo against every limit from its headers alone: cheap, and the same check a
    full decode starts with. PhotoError says which limit, and its value."""
    if not data:
        raise PhotoError("the photo is empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(f"the photo is {len(data)} bytes; at most {MAX_PHOTO_BYTES} are accepted")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=_OPENERS) as image:
                fmt, (width, height) = image.format or "", image.size
                # Pillow decodes a whole PNG to find an EXIF chunk kept after its pixels (a
                # 40 MP decode in the server for every upload and re-upload): only one before
                # them is read here; decode_photo checks the upright shape again.
                if (fmt != "PNG" or "exif" in image.info) and image.getexif().get(_ORIENTATION) in _QUARTER_TURNS:
                    width, height = height, width  # the shape the generator will see, upright
    except UnidentifiedImageError as exc:
        # Pillow's message names its file object (a memory address): say what was wrong instead.
        raise PhotoError(f"not a readable image: {_what_it_starts_with(data)}; send PNG, JPEG or WebP") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError(f"the photo is too large: {exc}; accepted: {limits_text()}") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # broken headers
        raise PhotoError(f"the image is damaged or truncated: {exc}") from exc
    _check_shape(width, height)
    scans = _jpeg_scans(data) if fmt in ("JPEG", "MPO") else 1
    return PhotoHeader(fmt, width, height, scans)


def _check_shape(width: int, height: int) -> None:
    size = f"the photo is {width}x{height}"
    if max(width, height) > MAX_PHOTO_SIDE:
        raise PhotoError(f"{size}; a side may be at most {MAX_PHOTO_SIDE} px ({limits_text()})")
    if min(width, height) < MIN_PHOTO_SIDE:
        raise PhotoError(f"{size}; both sides must be >= {MIN_PHOTO_SIDE} px ({limits_text()})")
    if width * height > MAX_PHOTO_PIXELS:
        raise PhotoError(f"{size} = {width * height} pixels; at most {MAX_PHOTO_PIXELS} are accepted ({limits_text()})")
    if Fraction(width, height) > MAX_WIDE_ASPECT:
        raise PhotoError(f"{size}; width/height may be at most {MAX_WIDE_ASPECT} ({limits_text()})")
    if Fraction(height, width) > MAX_TALL_ASPECT:
        raise PhotoError(f"{size}; height/width may be at most {MAX_TALL_ASPECT} ({limits_text()})")


def _jpeg_scans(data: bytes) -> int:
    try:
        scans = count_scans(data, stop_after=MAX_JPEG_SCANS)
    except JpegStructureError as exc:
        raise PhotoError(f"the image is damaged or truncated: {exc}") from exc
    if scans > MAX_JPEG_SCANS:
        raise PhotoError(
            f"the JPEG has more than {MAX_JPEG_SCANS} scans; at most {MAX_JPEG_SCANS} are accepted "
            "(each scan is a pass over the whole image)"
        )
    return scans


def decode_photo(data: bytes) -> np.ndarray:
    """Bytes -> [H, W, 3] uint8 sRGB, or PhotoError. Checks every limit before decoding."""
    inspect_photo(data)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=_OPENERS)
            image.load()
            image = ImageOps.exif_transpose(image)
            _check_shape(image.width, image.height)  # upright, by an EXIF chunk inspect_photo did not read
            return _to_rgb8(image)
    except PhotoError:
        raise
    except UnidentifiedImageError as exc:
        raise PhotoError(f"not a readable image: {_what_it_starts_with(data)}; send PNG, JPEG or WebP") from exc
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError(f"the photo is too large: {exc}; accepted: {limits_text()}") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt streams
        raise PhotoError(f"the image is damaged or truncated: {exc}") from exc


def _what_it_starts_with(data: bytes) -> str:
    """The first bytes, for a refusal a person can act on (no file object reprs)."""
    return f"its first bytes are {data[:8].hex(' ')}"


def _to_rgb8(image: Image.Image) -> np.ndarray:
    if image.mode in ("I;16", "I;16B", "I;16L", "I"):
        # 16-bit (or 32-bit int) greyscale: scale the full range down to 8 bits.
        wide = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if image.mode != "I" or wide.max() > 255 else 255.0
        grey = np.clip(np.round(wide / peak * 255.0), 0, 255).astype(np.uint8)
        return np.ascontiguousarray(np.repeat(grey[:, :, None], 3, axis=2))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))
