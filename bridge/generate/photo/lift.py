"""The spawn: the photo's pixels lifted into splats, so the first view *is* the photo.

One splat per working pixel (per ``k x k`` block at coarser LODs), at the pixel's estimated
depth, shaped to cover its pixel as seen from the photo's camera: ground splats lie flat on the
ground, stretched along the view direction by the grazing angle; backdrop splats stand upright
facing the spawn. Their colours come from :func:`solve_colours`, which undoes the blur the
renderer's splat footprint adds, so rendering from the spawn camera gives the photo back.
"""

from __future__ import annotations

import numpy as np
from scipy.sparse import csr_matrix

from bridge.formats.splats import SplatCloud
from bridge.generate.photo.analysis import KIND_GROUND, KIND_SKY, PhotoAnalysis
from bridge.render.blend import composite_weights, stable_order

FOOTPRINT_PX = 0.5  # splat standard deviation, in pixels of the photo at the spawn
MAX_STRETCH = 24.0  # cap on how elongated a grazing ground splat may get
THICKNESS = 0.1  # splat thickness relative to its width: discs, not balls
SOLVE_ITERATIONS = 20  # Jacobi-scaled CGLS steps, the three channels together (see _cgls)
SOLVE_DAMPING = 0.02  # keeps colours the spawn cannot see near the photo's
SOLVE_PRUNE = 1e-3  # compositing weights below this are left out of the solve's matrix
APRON_PX = 256.0  # working pixels of ground lifted around the frame, so nothing else reaches into it


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


def _block_mean(values: np.ndarray, weights: np.ndarray, k: int) -> np.ndarray:
    h, w = weights.shape
    hh, ww = h // k, w // k
    v = values[: hh * k, : ww * k].reshape(hh, k, ww, k, -1)
    wt = weights[: hh * k, : ww * k].reshape(hh, k, ww, k, 1).astype(np.float64)
    return ((v * wt).sum(axis=(1, 3)) / np.maximum(wt.sum(axis=(1, 3)), 1e-9)).astype(np.float32)


def apron_pixels(width: int, height: int, k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(u, v, stride) of the apron: pixel positions left, right of and below the frame, out to
    APRON_PX, in rings whose stride doubles with the distance from the frame (>= 2 strides away),
    so no apron splat reaches back into the frame."""
    us, vs, strides = [], [], []
    stride = k
    inner = 0.0
    while inner < APRON_PX:
        outer = min(APRON_PX, max(4.0 * stride, inner + stride))
        u = np.arange(-outer, width + outer, stride) + stride / 2.0
        v = np.arange(0.0, height + outer, stride) + stride / 2.0
        uu, vv = np.meshgrid(u, v)
        out = np.hypot(np.maximum(0, -uu) + np.maximum(0, uu - width), np.maximum(0, vv - height))
        ring = (out > inner) & (out <= outer)
        us.append(uu[ring])
        vs.append(vv[ring])
        strides.append(np.full(int(ring.sum()), float(stride)))
        inner = outer
        stride *= 2
    return np.concatenate(us), np.concatenate(vs), np.concatenate(strides)


def lift(analysis: PhotoAnalysis, colours: np.ndarray, k: int, extension: np.ndarray | None = None) -> SplatCloud:
    """Splats for the whole photo at ``k x k`` pixels per splat (k = 2^lod), plus, given the
    photo's ``extension`` colours, the apron of ground splats around the frame."""
    camera = analysis.camera
    h, w = analysis.kind.shape
    hh, ww = h // k, w // k
    not_sky = analysis.kind != KIND_SKY
    block_colour = _block_mean(colours, not_sky, k)
    # The block's kind is its centre pixel's; its ray goes through the block's centre.
    centre_rows = np.arange(hh) * k + k // 2
    centre_cols = np.arange(ww) * k + k // 2
    kind = analysis.kind[np.ix_(centre_rows, centre_cols)]
    vv, uu = np.meshgrid(np.arange(hh) * k + k / 2.0, np.arange(ww) * k + k / 2.0, indexing="ij")
    keep = kind != KIND_SKY
    frame = _splats_at(analysis, uu[keep], vv[keep], kind[keep], block_colour[keep], np.full(int(keep.sum()), k))
    if extension is None:
        return frame
    au, av, stride = apron_pixels(w, h, k)
    ui = np.clip(au.astype(np.int64), 0, w - 1)
    vi = np.clip(av.astype(np.int64), 0, h - 1)
    rays = camera.rays_through(au, av)
    down = -rays[:, 1]
    with np.errstate(divide="ignore"):
        reach = np.where(down > 1e-6, camera.position[1] / down * np.hypot(rays[:, 0], rays[:, 2]), np.inf)
    on_ground = reach <= analysis.lift_radius_m
    apron = _splats_at(
        analysis, au[on_ground], av[on_ground], np.full(int(on_ground.sum()), KIND_GROUND, dtype=np.uint8),
        extension[vi[on_ground], ui[on_ground]], stride[on_ground],
    )
    return SplatCloud.concat([frame, apron])


def _splats_at(
    analysis: PhotoAnalysis, u: np.ndarray, v: np.ndarray, kind: np.ndarray, colour: np.ndarray, stride: np.ndarray
) -> SplatCloud:
    """Splats through pixel positions (u, v), each covering ``stride`` pixels of the spawn view."""
    camera = analysis.camera
    rays = camera.rays_through(u, v)
    height = camera.position[1]
    horizontal = np.hypot(rays[:, 0], rays[:, 2])
    down = np.maximum(-rays[:, 1], 1e-6)
    ground = kind == KIND_GROUND
    t = np.where(ground, height / down, analysis.lift_radius_m / np.maximum(horizontal, 1e-6))
    positions = camera.position + rays * t[:, None]
    positions[ground, 1] = 0.0  # exactly on the plane, not a rounding error above or below it

    across = FOOTPRINT_PX * stride * t / camera.intrinsics.fx  # metres covered by the footprint sideways
    # Ground: the footprint stretches along the view direction by 1 / sin(grazing angle).
    stretch = np.clip(1.0 / np.maximum(down, 1e-6), 1.0, MAX_STRETCH)
    # Backdrop: stands upright; rows stretch by 1 / cos(elevation) on a vertical surface.
    upright_stretch = np.clip(1.0 / np.maximum(horizontal, 1e-6), 1.0, MAX_STRETCH)
    scales = np.where(
        ground[:, None],
        np.stack([across, across * THICKNESS, across * stretch], axis=1),
        np.stack([across, across * upright_stretch, across * THICKNESS], axis=1),
    )
    # Yaw so the splat's local z axis points along the ray's horizontal direction.
    yaw = np.arctan2(rays[:, 0], rays[:, 2])
    rotations = np.stack([np.cos(yaw / 2), np.zeros_like(yaw), np.sin(yaw / 2), np.zeros_like(yaw)], axis=1)
    return SplatCloud.from_arrays(positions, scales, rotations, np.ones(len(t)), colour)
