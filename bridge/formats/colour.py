"""Colour spaces of the splat cloud's sRGB colours: linear light (glTF's COLOR_0) and CIELAB
(what the photo generator groups ground materials in and the quality report compares views in)."""

from __future__ import annotations

import numpy as np

# D65 white, and linear sRGB -> CIE XYZ (IEC 61966-2-1).
_WHITE = np.array([0.95047, 1.0, 1.08883])
_RGB_TO_XYZ = np.array(
    [[0.4124564, 0.3575761, 0.1804375], [0.2126729, 0.7151522, 0.0721750], [0.0193339, 0.1191920, 0.9503041]]
)


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    """The sRGB transfer function's inverse (IEC 61966-2-1), on colours clipped to [0, 1]."""
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def srgb_to_lab(rgb: np.ndarray) -> np.ndarray:
    """[..., 3] sRGB (uint8, or float in [0, 1]) -> [..., 3] float64 CIELAB (D65 white)."""
    c = rgb.astype(np.float64) / 255.0 if rgb.dtype == np.uint8 else rgb.astype(np.float64)
    t = (srgb_to_linear(c) @ _RGB_TO_XYZ.T) / _WHITE
    delta = 6.0 / 29.0
    f = np.where(t > delta**3, np.cbrt(t), t / (3 * delta**2) + 4.0 / 29.0)
    return np.stack([116.0 * f[..., 1] - 16.0, 500.0 * (f[..., 0] - f[..., 1]), 200.0 * (f[..., 1] - f[..., 2])], -1)


def lab_distance(a: np.ndarray, b: np.ndarray, lightness_weight: float = 1.0) -> np.ndarray:
    """[...] Euclidean distance between CIELAB colours, lightness scaled by ``lightness_weight``."""
    d = a - b
    return np.sqrt((lightness_weight * d[..., 0]) ** 2 + d[..., 1] ** 2 + d[..., 2] ** 2)
