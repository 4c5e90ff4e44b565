"""The lifted photo's colours: solved so that the spawn view renders the photo back.

The lift (:mod:`bridge.generate.photo.lift`) fixes every splat's geometry; with geometry fixed a
render is linear in the colours, so the colours that reproduce the photo are a least-squares solve.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
from scipy.sparse import csr_matrix

from bridge.formats.splats import SplatCloud
from bridge.generate.photo.analysis import KIND_SKY, PhotoAnalysis
from bridge.render.stencil import stencil_weights

# Jacobi-scaled CGLS steps, the three channels together, in runs between which the colours are
# projected into [0, 1] (see _cgls): 20 steps, as the unbounded solve took.
SOLVE_PHASES = (10, 6, 4)
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
    keeps its photo colour. The colours are bounded to [0, 1]: renderers and 8-bit formats clip
    them, and an unbounded solve's overshoot (3-24 % of the colours on the sample photos) lost
    4-10 dB of spawn PSNR there.
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
    lower, upper = np.ascontiguousarray(-start.T), np.ascontiguousarray(1.0 - start.T)
    delta = _cgls(frame, residual, lower, upper, SOLVE_DAMPING, SOLVE_PHASES)
    colours = image.copy()
    colours[lifted] = np.clip(start + delta.T, 0.0, 1.0)  # only float32 rounding to clip
    return colours.astype(np.float32)


def _cgls(
    matrix: csr_matrix, rhs: np.ndarray, lower: np.ndarray, upper: np.ndarray, damp: float, phases: tuple[int, ...]
) -> np.ndarray:
    """[k, n]: argmin_x |A x - b|^2 + damp^2 |x|^2 subject to lower <= x <= upper, for each row b
    of ``rhs`` (a channel, its bounds the same row of ``lower`` and ``upper``), approximately: runs
    of CGLS steps (conjugate gradients on the normal equations, Björck's form) on the column-scaled
    problem, from x = 0, of ``phases[i]`` steps each.

    Between runs x is projected onto the bounds and CGLS restarts on the free colours, those not
    at a bound the gradient pushes them past (chosen afresh each time, so a colour can leave its
    bound). This is a projected restart scheme: CG's speed on the free set for one extra step's
    products per restart. An exact active-set CG would restart every step (some of the ~250k
    colours meet a bound at every step) and projected gradient descent converges far slower than
    CG. On the ten sample photos, 10 + 6 + 4 steps fit the lifted pixels 0.1-1.0 dB below 40 runs
    of 3 steps (six times the products); the other splits of 20-22 steps into three to six runs
    tried came within 0.1 dB of it, two runs (12 + 8) fell 0.2 dB behind.

    Runs are short, the last shortest: within a run the free colours can travel past their bounds,
    and the projection after it undoes part of the fit (three runs of 20 steps fit worse than these
    20 steps). Jacobi scaling (each column of A S of unit norm, damping included) evens out splats
    seen over few pixels and many. float32 and one contiguous vector per channel: a step is six
    single-vector sparse products, with no BLAS call (whose threads contend on a shared core).
    """
    damp2 = np.float32(damp * damp)
    norms = np.bincount(matrix.indices, np.square(matrix.data, dtype=np.float64), matrix.shape[1])
    scale = (1.0 / np.sqrt(norms + damp * damp)).astype(np.float32)
    x = np.zeros_like(rhs)
    r = rhs.copy()
    gradient, change = np.empty_like(rhs), np.empty_like(rhs)
    with ThreadPoolExecutor(max_workers=rhs.shape[0]) as pool:
        products = _Products(matrix, pool)
        for phase, steps in enumerate(phases):
            if phase:  # onto the bounds; the residual follows
                clipped = np.clip(x, lower, upper)
                products.forward(clipped - x, change)
                r -= change
                x = clipped
            products.back(r, gradient)
            gradient -= damp2 * x  # minus the objective's gradient
            held = ((x <= lower) & (gradient < 0)) | ((x >= upper) & (gradient > 0))
            _descend(products, x, r, gradient, np.where(held, np.float32(0.0), scale), damp2, steps)
    return np.clip(x, lower, upper)


@dataclass
class _Products:
    """A v and Aᵀ v for each channel's vector v. The channels' sparse products (most of the time;
    scipy releases the GIL in them) run on threads of their own, each product whole: the same sums
    on any number of cores."""

    matrix: csr_matrix
    pool: ThreadPoolExecutor
    transpose: csr_matrix = field(init=False)

    def __post_init__(self) -> None:
        self.transpose = self.matrix.T

    def forward(self, v: np.ndarray, out: np.ndarray) -> None:
        self._times(self.matrix, v, out)

    def back(self, v: np.ndarray, out: np.ndarray) -> None:
        self._times(self.transpose, v, out)

    def _times(self, m: csr_matrix, v: np.ndarray, out: np.ndarray) -> None:
        for c, product in enumerate(self.pool.map(m.__matmul__, v)):
            out[c] = product


def _descend(
    products: _Products, x: np.ndarray, r: np.ndarray, s: np.ndarray, scale: np.ndarray, damp2: np.float32, steps: int
) -> None:
    """``steps`` CGLS steps in place on x and its residual r = b - A x, in the variables y of
    x = S y with S = diag(``scale``) per channel (0 holds a colour where it is), from the
    steepest descent direction; ``s`` is minus the gradient in x on entry, scratch after."""

    def dot(a: np.ndarray, b: np.ndarray) -> np.ndarray:  # per-channel inner products
        return np.einsum("ij,ij->i", a, b)

    s *= scale
    p = s.copy()
    gamma = dot(s, s)
    # In place, into arrays made once: a fresh [k, n] array per operation costs as much again.
    step, q, scratch = (np.empty_like(x) for _ in range(3))
    for _ in range(steps):
        np.multiply(scale, p, out=step)
        products.forward(step, q)
        denom = dot(q, q) + damp2 * dot(step, step)
        alpha = np.divide(gamma, denom, out=np.zeros_like(gamma), where=denom > 0)[:, None]
        x += np.multiply(alpha, step, out=scratch)
        r -= np.multiply(alpha, q, out=scratch)
        products.back(r, s)
        s -= np.multiply(damp2, x, out=scratch)
        s *= scale
        gamma_next = dot(s, s)
        beta = np.divide(gamma_next, gamma, out=np.zeros_like(gamma), where=gamma > 0)[:, None]
        p *= beta
        p += s
        gamma = gamma_next
