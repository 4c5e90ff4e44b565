"""Decoding user photos safely: every way an upload can be wrong becomes a ``PhotoError``.

Accepted: PNG, JPEG, WebP; RGB, RGBA (alpha composited over white), greyscale, palette and
16-bit images are converted to 8-bit sRGB; EXIF orientation is applied. Refused before any
pixel is decoded: more than ``MAX_PHOTO_BYTES`` or ``MAX_PHOTO_PIXELS`` (decompression bombs),
and anything Pillow cannot fully decode (truncated files).
"""

from __future__ import annotations

import hashlib
import io
import warnings

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

MAX_PHOTO_BYTES = 32 * 1024 * 1024
MAX_PHOTO_PIXELS = 40_000_000
MIN_PHOTO_SIDE = 64
ACCEPTED_FORMATS = ("PNG", "JPEG", "WEBP")


class PhotoError(ValueError):
    """The bytes are not a photo we can make a world from; the message says why."""


def photo_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def decode_photo(data: bytes) -> np.ndarray:
    """Bytes -> [H, W, 3] uint8 sRGB, or PhotoError."""
    if not data:
        raise PhotoError("the photo is empty")
    if len(data) > MAX_PHOTO_BYTES:
        raise PhotoError(f"the photo is {len(data)} bytes; at most {MAX_PHOTO_BYTES} are accepted")
    try:
        with warnings.catch_warnings():
            # Pillow warns (and past 2x, raises) on bombs; we check the size ourselves, first.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            if image.format not in ACCEPTED_FORMATS:
                raise PhotoError(f"{image.format} images are not accepted; send PNG, JPEG or WebP")
            width, height = image.size
            if width * height > MAX_PHOTO_PIXELS:
                raise PhotoError(
                    f"the photo is {width}x{height} = {width * height} pixels; at most {MAX_PHOTO_PIXELS} are accepted"
                )
            if min(width, height) < MIN_PHOTO_SIDE:
                raise PhotoError(f"the photo is {width}x{height}; both sides must be >= {MIN_PHOTO_SIDE}")
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb8(image)
    except PhotoError:
        raise
    except (UnidentifiedImageError, Image.DecompressionBombError) as exc:
        raise PhotoError(f"not a readable image: {exc}") from exc
    except (OSError, SyntaxError, ValueError) as exc:  # truncated or corrupt streams
        raise PhotoError(f"the image is damaged or truncated: {exc}") from exc


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
