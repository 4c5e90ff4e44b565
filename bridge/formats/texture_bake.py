"""Splats painted into a texel grid: the one bake every mesh texture (ground, tops, walls) uses.

Each splat is a point at fractional texel coordinates with a weight and a colour. Its weight is
shared bilinearly among the four texels round it, the weighted colours and the weights are each
smoothed by a Gaussian at the splats' own size (a normalised convolution: where splats are sparse
the colour still comes from them, not from black), and a texel is covered where any weight
reached it. Holes take their nearest covered texel's colour -- within a chart, when a chart map
says which texels belong together, so one facade's colour never leaks into the next.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def deposit(
    rows: np.ndarray,
    cols: np.ndarray,
    weights: np.ndarray,
    colors: np.ndarray,
    shape: tuple[int, int],
    sigma: float,
) -> tuple[np.ndarray, np.ndarray]:
    """(image [H, W, 3] float in [0, 1] where covered, covered [H, W] bool).

    ``rows``/``cols`` are fractional texel coordinates of texel *centres* (texel (i, j) spans
    [i - 0.5, i + 0.5]); points more than a texel outside the grid are dropped.
    """
    h, w = shape
    color_sum = np.zeros((h * w, 3))
    weight_sum = np.zeros(h * w)
    rows, cols = np.asarray(rows, np.float64), np.asarray(cols, np.float64)
    inside = (rows > -1) & (rows < h) & (cols > -1) & (cols < w) & (weights > 0)
    if inside.any():
        rows, cols, wts = rows[inside], cols[inside], weights[inside]
        rgb = np.clip(np.asarray(colors, np.float64)[inside], 0.0, 1.0)
        i0, j0 = np.floor(rows).astype(np.int64), np.floor(cols).astype(np.int64)
        tr, tc = rows - i0, cols - j0
        for di, dj, bw in ((0, 0, (1 - tr) * (1 - tc)), (0, 1, (1 - tr) * tc), (1, 0, tr * (1 - tc)), (1, 1, tr * tc)):
            ii, jj = i0 + di, j0 + dj
            keep = (ii >= 0) & (ii < h) & (jj >= 0) & (jj < w)
            flat, share = ii[keep] * w + jj[keep], (wts * bw)[keep]
            weight_sum += np.bincount(flat, share, h * w)
            for k in range(3):
                color_sum[:, k] += np.bincount(flat, share * rgb[keep, k], h * w)
    color_sum, weight_sum = color_sum.reshape(h, w, 3), weight_sum.reshape(h, w)
    blurred_w = ndimage.gaussian_filter(weight_sum, sigma, mode="nearest")
    blurred_c = np.stack([ndimage.gaussian_filter(color_sum[..., k], sigma, mode="nearest") for k in range(3)], -1)
    covered = blurred_w > 1e-6 * max(float(blurred_w.max()), 1e-30)
    image = np.where(covered[..., None], blurred_c / np.maximum(blurred_w, 1e-30)[..., None], 0.0)
    return image, covered


def fill_holes(image: np.ndarray, covered: np.ndarray) -> np.ndarray:
    """``image`` with every uncovered texel given its nearest covered texel's colour."""
    if covered.all() or not covered.any():
        return image
    _, (ii, jj) = ndimage.distance_transform_edt(~covered, return_indices=True)
    return image[ii, jj]


def to_srgb8(image: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(image * 255), 0, 255).astype(np.uint8)
