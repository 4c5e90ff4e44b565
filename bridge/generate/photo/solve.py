"""The lifted photo's colours: solved so that the spawn view renders the photo back.

The lift (:mod:`bridge.generate.photo.lift`) fixes every splat's geometry; with geometry fixed a
render is linear in the colours, so the colours that reproduce the photo are a least-squares solve.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from bridge.generate.photo.analysis import KIND_SKY, PhotoAnalysis
from bridge.generate.photo.lift import lift
from bridge.render.blend import composite_weights, stable_order

SOLVE_ITERATIONS = 20  # Jacobi-scaled CGLS steps, the three channels together (see _cgls)
SOLVE_DAMPING = 0.02  # keeps colours the spawn cannot see near the photo's
SOLVE_PRUNE = 1e-3  # compositing weights below this are left out of the solve's matrix


def solve_colours(analysis: PhotoAnalysis, extension: np.ndarray) -> np.ndarray:
    """[h, w, 3] splat colours whose render from the spawn camera reproduces the photo.

    A render is linear in the splat colours once the geometry is fixed, ``render = W c + T bg``,
    so the colours are a sparse least-squares solve against the photo: it undoes the blur of each
    splat's footprint, the renderer's dilation and the depth-sorted overlap of nearer splats onto
    farther pixels. We solve for the change from the photo's own colours, damped, so a splat the
    spawn view cannot see (hidden behind nearer ones) keeps its photo colour.
    """
    image = analysis.image
    lifted = analysis.kind != KIND_SKY
    n = int(lifted.sum())  # lift() keeps non-sky pixels in row-major order, frame splat i <-> lifted pixel i
    if n == 0:
        return image.astype(np.float32)
    cloud = lift(analysis, image, 1, extension)  # the frame's splats first, then the apron's
    start = image[lifted].astype(np.float64)  # [n, 3]: the photo's colours, the solve's origin
    colours_of = np.concatenate([start, cloud.colors[n:].astype(np.float64)]).T.copy()  # the apron's are given
    # Fit the lifted pixels only (the sky is drawn by the panorama): pixel -> equation row, n = none.
    row_of = np.full(lifted.size, n, dtype=np.int32)
    row_of[lifted.ravel()] = np.arange(n, dtype=np.int32)
    coverage = np.zeros(n + 1)
    rendered = np.zeros((3, n + 1))  # the render of the photo's own colours
    kept: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []

    def take(pixel: np.ndarray, splat: np.ndarray, weight: np.ndarray) -> None:
        # Each chunk of the compositing's pairs is summed into the render as it comes; only the
        # pairs the solve needs are kept: frame splats on fitted pixels, with weights of at least
        # SOLVE_PRUNE (the rest, pairs behind a pixel's own nearly opaque splat, are about half the
        # pairs and ~0.1 % of the weight, and barely move the solve).
        row = row_of[pixel]
        coverage[:] += np.bincount(row, weight, minlength=n + 1)
        for c in range(3):
            rendered[c] += np.bincount(row, weight * colours_of[c][splat], minlength=n + 1)
        keep = (row < n) & (splat < n) & (weight >= SOLVE_PRUNE)
        kept.append((row[keep], splat[keep], weight[keep].astype(np.float32)))

    composite_weights(cloud, analysis.camera, take)
    # Where the splats do not fully cover a pixel the background shows; fit what they add.
    residual = start.T * coverage[:n] - rendered[:, :n]
    if not kept:  # the spawn sees none of the frame: nothing to fit
        return image.astype(np.float32)
    row, splat, weight = (np.concatenate(field) for field in zip(*kept, strict=True))
    order = stable_order(row)  # grouped by row, each row keeping the renderer's order
    frame = _csr(row[order], splat[order], weight[order], n, n)
    delta = _cgls(frame, residual.astype(np.float32), SOLVE_DAMPING, SOLVE_ITERATIONS)
    colours = image.copy()
    colours[lifted] = np.clip(start + delta.T, -0.5, 1.5)
    return colours.astype(np.float32)


def _csr(row: np.ndarray, col: np.ndarray, value: np.ndarray, rows: int, cols: int) -> csr_matrix:
    """A CSR matrix from triples already grouped by ascending row, with unique (row, col)."""
    indptr = np.searchsorted(row, np.arange(rows + 1, dtype=row.dtype)).astype(np.int32)
    return csr_matrix((value, col, indptr), shape=(rows, cols))


def _cgls(matrix: csr_matrix, rhs: np.ndarray, damp: float, iterations: int) -> np.ndarray:
    """[k, n]: argmin_x |A x - b|^2 + damp^2 |x|^2 for each row b of ``rhs`` (a channel), by
    ``iterations`` steps of CGLS (conjugate gradients on the normal equations, Björck's form) on
    the column-scaled problem, from x = 0.

    Stopping early is part of the regularisation, as it was with the LSQR this replaces: the first
    steps fix the large, well-determined errors, later ones chase pixel noise with large colour
    swings. Jacobi scaling (each column of A S of unit norm, damping included) evens out splats
    seen over few pixels and many. On the ten sample photos 20 steps give a spawn PSNR 0.3-1.7 dB
    above 60 unscaled LSQR steps per channel on nine, 0.14 dB below on one (lyra2_05). float32 and
    one contiguous vector per channel: a step is six single-vector sparse products, with no BLAS
    call (whose threads contend on a shared core).
    """

    def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # per-channel inner products
        return np.einsum("ij,ij->i", a, b)

    def times(m: csr_matrix, v: np.ndarray) -> np.ndarray:
        return np.stack([m @ channel for channel in v])

    damp2 = np.float32(damp * damp)
    norms = np.bincount(matrix.indices, matrix.data.astype(np.float64) ** 2, matrix.shape[1])
    scale = (1.0 / np.sqrt(norms + damp * damp)).astype(np.float32)
    transpose = matrix.T
    x = np.zeros_like(rhs)  # x = S y: the iteration runs on y, x is kept alongside
    r = rhs.copy()
    s = scale * times(transpose, r)
    p = s.copy()
    gamma = dot(s, s)
    for _ in range(iterations):
        step = scale * p
        q = times(matrix, step)
        denom = dot(q, q) + damp2 * dot(step, step)
        alpha = np.divide(gamma, denom, out=np.zeros_like(gamma), where=denom > 0)[:, None]
        x += alpha * step
        r -= alpha * q
        s = scale * (times(transpose, r) - damp2 * x)
        gamma_next = dot(s, s)
        beta = np.divide(gamma_next, gamma, out=np.zeros_like(gamma), where=gamma > 0)[:, None]
        p = s + beta * p
        gamma = gamma_next
    return x
