"""The lifted photo's colours: solved so that the spawn view renders the photo back.

The lift (:mod:`bridge.generate.photo.lift`) fixes every splat's geometry; with geometry fixed a
render is linear in the colours, so the colours that reproduce the photo are a least-squares solve.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import numpy as np
from scipy.sparse import csr_matrix

from bridge.formats.splats import SplatCloud
from bridge.generate.photo.analysis import KIND_SKY, PhotoAnalysis
from bridge.render.stencil import stencil_weights

SOLVE_ITERATIONS = 20  # Jacobi-scaled CGLS steps, the three channels together (see _cgls)
SOLVE_DAMPING = 0.02  # keeps colours the spawn cannot see near the photo's
SOLVE_PRUNE = 1e-3  # compositing weights below this are left out of the solve's matrix


def solve_colours(analysis: PhotoAnalysis, cloud: SplatCloud) -> np.ndarray:
    """[h, w, 3] splat colours whose render from the spawn camera reproduces the photo.

    ``cloud`` is the photo lifted at full resolution (lift.lift with k = 1 and the extension): the
    frame's splats first, one per non-sky pixel in row-major order, then the apron's; only its
    geometry and the apron's colours are used. A render is linear in the splat colours once the
    geometry is fixed, ``render = W c + T bg``, so the colours are a sparse least-squares solve
    against the photo: it undoes the blur of each splat's footprint, the renderer's dilation and
    the depth-sorted overlap of nearer splats onto farther pixels. We solve for the change from the
    photo's own colours, damped, so a splat the spawn view cannot see (hidden behind nearer ones)
    keeps its photo colour.
    """
    image = analysis.image
    lifted = analysis.kind != KIND_SKY
    n = int(lifted.sum())  # frame splat i <-> lifted pixel i
    if n == 0:
        return image.astype(np.float32)
    # Fit the lifted pixels only (the sky is drawn by the panorama); equation i is pixel rows[i].
    rows, indptr, splat, weight = stencil_weights(cloud, analysis.camera, np.flatnonzero(lifted.ravel()))
    start = image[lifted]  # [n, 3]: the photo's colours, the solve's origin
    everything = csr_matrix((weight, splat, indptr), shape=(n, len(cloud)))
    # Where the splats do not fully cover a pixel the background shows; fit what they add.
    coverage = everything @ np.ones(len(cloud), dtype=np.float32)
    given = np.concatenate([start, cloud.colors[n:]]).T  # the render of the photo's own colours
    residual = np.stack([start[rows, c] * coverage - everything @ given[c] for c in range(3)])
    # Pairs behind a pixel's own nearly opaque splat, or from the apron (whose colours are given),
    # are about half the pairs and ~0.1 % of the weight: they stay out of the solve's matrix.
    fitted = np.where((splat < n) & (weight >= SOLVE_PRUNE), weight, np.float32(0.0))
    frame = csr_matrix((fitted, splat, indptr), shape=(n, len(cloud)))
    frame.eliminate_zeros()  # in place: ``splat`` is compacted too (``everything`` is done with)
    if frame.nnz == 0:  # the spawn sees none of the frame: nothing to fit
        return image.astype(np.float32)
    frame = csr_matrix((frame.data, frame.indices, frame.indptr), shape=(n, n))
    delta = _cgls(frame, residual, SOLVE_DAMPING, SOLVE_ITERATIONS)
    colours = image.copy()
    colours[lifted] = np.clip(start + delta.T, -0.5, 1.5)
    return colours.astype(np.float32)


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

    damp2 = np.float32(damp * damp)
    norms = np.bincount(matrix.indices, np.square(matrix.data, dtype=np.float64), matrix.shape[1])
    scale = (1.0 / np.sqrt(norms + damp * damp)).astype(np.float32)
    transpose = matrix.T
    # In place, into arrays made once: a fresh [k, n] array per operation costs as much again.
    x = np.zeros_like(rhs)  # x = S y: the iteration runs on y, x is kept alongside
    r = rhs.copy()
    s, step, q, scratch = (np.empty_like(rhs) for _ in range(4))
    # The channels' sparse products (most of the time; scipy releases the GIL in them) run on
    # threads of their own, each product whole: the same sums on any number of cores.
    with ThreadPoolExecutor(max_workers=rhs.shape[0]) as pool:

        def times(m: csr_matrix, v: np.ndarray, out: np.ndarray) -> None:
            for c, product in enumerate(pool.map(m.__matmul__, v)):
                out[c] = product

        times(transpose, r, s)
        s *= scale
        p = s.copy()
        gamma = dot(s, s)
        for _ in range(iterations):
            np.multiply(scale, p, out=step)
            times(matrix, step, q)
            denom = dot(q, q) + damp2 * dot(step, step)
            alpha = np.divide(gamma, denom, out=np.zeros_like(gamma), where=denom > 0)[:, None]
            x += np.multiply(alpha, step, out=scratch)
            r -= np.multiply(alpha, q, out=scratch)
            times(transpose, r, s)
            s -= np.multiply(damp2, x, out=scratch)
            s *= scale
            gamma_next = dot(s, s)
            beta = np.divide(gamma_next, gamma, out=np.zeros_like(gamma), where=gamma > 0)[:, None]
            p *= beta
            p += s
            gamma = gamma_next
    return x
