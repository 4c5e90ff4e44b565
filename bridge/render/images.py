"""Small image helpers for renders and demos: conversion, PNG output, PSNR, area resize, labelled strips.

Float images are [H, W, 3] (or [H, W]) arrays with values in [0, 1]; uint8 images are 0..255.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

_LABEL_BAR = 16  # pixels of label strip above each panel
_GAP = 4  # pixels between panels


def to_uint8(img: np.ndarray) -> np.ndarray:
    """A float image in [0, 1] -> uint8 (clipped, rounded to nearest). uint8 input is returned as is."""
    array = np.asarray(img)
    if array.dtype == np.uint8:
        return array
    return (np.clip(array.astype(np.float64), 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def to_float(img: np.ndarray) -> np.ndarray:
    """A uint8 image -> float32 in [0, 1]; float input becomes float32 unchanged in value."""
    array = np.asarray(img)
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    return array.astype(np.float32)


def save_png(img: np.ndarray, path: str | Path) -> Path:
    """Write an [H, W, 3], [H, W, 4] or [H, W] image (float in [0, 1], or uint8) as PNG."""
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(to_uint8(img)).save(out, format="PNG")
    return out


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    """Peak signal-to-noise ratio in dB over the whole frame, peak 1 (uint8 input is scaled to [0, 1]).

    Identical images give ``inf``.
    """
    x, y = to_float(a).astype(np.float64), to_float(b).astype(np.float64)
    if x.shape != y.shape:
        raise ValueError(f"psnr needs images of one shape, got {x.shape} and {y.shape}")
    mse = float(np.mean((x - y) ** 2))
    if mse == 0.0:
        return math.inf
    return 10.0 * math.log10(1.0 / mse)


def resize_area(img: np.ndarray, width: int, height: int) -> np.ndarray:
    """Resize by area averaging (Pillow's box filter: each output pixel is the exact area-weighted
    mean of the input it covers), the right filter for downsampling. Returns float32 [h, w, ...]."""
    array = to_float(img)
    if array.shape[:2] == (height, width):
        return array.copy()
    # A float32 plane becomes Pillow's 32-bit float mode "F" (full precision, one channel), so go
    # channel by channel.
    planes = array[..., None] if array.ndim == 2 else array
    out = np.stack(
        [
            np.asarray(
                Image.fromarray(np.ascontiguousarray(planes[..., ch])).resize(
                    (width, height), resample=Image.Resampling.BOX
                )
            )
            for ch in range(planes.shape[2])
        ],
        axis=-1,
    )
    return out[..., 0] if array.ndim == 2 else out


def side_by_side(images: Sequence[np.ndarray], labels: Sequence[str] | None = None) -> np.ndarray:
    """Panels left to right at the first image's height, each with a small caption above it, as a
    uint8 [H, W, 3] image (e.g. "photo | render" in demos)."""
    if not images:
        raise ValueError("side_by_side needs at least one image")
    if labels is not None and len(labels) != len(images):
        raise ValueError(f"{len(images)} images but {len(labels)} labels")
    height = int(np.asarray(images[0]).shape[0])
    panels: list[np.ndarray] = []
    for img in images:
        rgb = to_float(img)
        if rgb.ndim == 2:
            rgb = np.repeat(rgb[..., None], 3, axis=-1)
        rgb = rgb[..., :3]
        if rgb.shape[0] != height:
            width = max(1, round(rgb.shape[1] * height / rgb.shape[0]))
            rgb = resize_area(rgb, width, height)
        panels.append(to_uint8(rgb))

    bar = _LABEL_BAR if labels is not None else 0
    total_width = sum(p.shape[1] for p in panels) + _GAP * (len(panels) - 1)
    canvas = Image.new("RGB", (total_width, height + bar), (32, 32, 32))
    draw = ImageDraw.Draw(canvas)
    x = 0
    for i, panel in enumerate(panels):
        canvas.paste(Image.fromarray(panel), (x, bar))
        if labels is not None:
            draw.text((x + 3, 2), labels[i], fill=(235, 235, 235))  # Pillow's built-in default font
        x += panel.shape[1] + _GAP
    return np.asarray(canvas)
