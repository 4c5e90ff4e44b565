"""Pictures of the photo analysis, so a person can check what the generator believed."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from bridge.generate.photo.analysis import KIND_BACKDROP, KIND_GROUND, KIND_SKY, KIND_UPRIGHT, PhotoAnalysis

_KIND_COLOURS = {
    KIND_SKY: (70, 140, 255),
    KIND_GROUND: (90, 200, 90),
    KIND_BACKDROP: (230, 150, 60),
    KIND_UPRIGHT: (230, 60, 200),
}


def _png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", optimize=False, compress_level=1)
    return out.getvalue()


def depth_picture(analysis: PhotoAnalysis) -> np.ndarray:
    """Log depth as a warm-near, cool-far ramp; sky in black."""
    depth = analysis.depth
    finite = np.isfinite(depth)
    out = np.zeros((*depth.shape, 3), dtype=np.uint8)
    if finite.any():
        logd = np.log(depth[finite])
        t = (logd - logd.min()) / max(float(np.ptp(logd)), 1e-6)
        ramp = np.stack([1.0 - t, 0.35 + 0.3 * (1 - np.abs(t - 0.5) * 2), t], axis=1)
        out[finite] = np.round(ramp * 255).astype(np.uint8)
    return out


def segmentation_picture(analysis: PhotoAnalysis) -> np.ndarray:
    photo = np.round(analysis.image * 255).astype(np.float64)
    overlay = np.zeros_like(photo)
    for kind, colour in _KIND_COLOURS.items():
        overlay[analysis.kind == kind] = colour
    return np.round(photo * 0.45 + overlay * 0.55).astype(np.uint8)


def horizon_picture(analysis: PhotoAnalysis) -> np.ndarray:
    image = Image.fromarray(np.round(analysis.image * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    y = analysis.horizon_v
    draw.line([(0, y), (image.width, y)], fill=(255, 40, 40), width=2)
    draw.text(
        (6, max(2, y - 14)),
        f"horizon, camera {analysis.camera_height_m:.1f} m up",
        fill=(255, 255, 255),
    )
    return np.asarray(image)


def analysis_pictures(analysis: PhotoAnalysis) -> dict[str, bytes]:
    return {
        "depth": _png(depth_picture(analysis)),
        "segmentation": _png(segmentation_picture(analysis)),
        "horizon": _png(horizon_picture(analysis)),
    }
