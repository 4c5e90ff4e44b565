"""Gaussian-splat rasterisation: standard 3D Gaussian Splatting, on the CPU in torch or through gsplat.

The maths is that of Kerbl et al., "3D Gaussian Splatting for Real-Time Radiance Field Rendering"
(SIGGRAPH 2023), with the projection of Zwicker et al., "EWA Splatting" (IEEE TVCG 2002), and the
constants and culling rules of gsplat's default ``rasterization`` (eps2d 0.3, no antialiasing):

1. Each splat's 3D covariance ``Σ = R S Sᵀ Rᵀ`` goes to the camera with the view rotation ``W`` and to
   the image with the Jacobian ``J`` of the perspective map at the splat's centre (EWA, eq. 29-31 of
   Zwicker et al.; eq. 5 of 3DGS): ``Σ' = J W Σ Wᵀ Jᵀ``. As 3DGS does, the x/z and y/z used in ``J``
   are clamped to 1.3x the field of view so splats far off-screen do not blow up.
2. ``eps2d = 0.3`` px² is added to the diagonal of ``Σ'`` (a one-pixel low-pass; gsplat's default).
3. A splat is culled when its centre is nearer than 0.01 m or beyond 1e10 m, when ``det Σ' <= 0``, or
   when its square of radius ``ceil(3 sqrt(λ_max(Σ')))`` pixels misses the image.
4. The splat is binned to the 16x16-pixel tiles that square overlaps; within a tile splats are
   composited front to back in order of view depth (ties: input order, as a stable radix sort gives).
5. At a pixel, ``α = min(0.99, o exp(-½ dᵀ Σ'⁻¹ d))``; splats with ``α < 1/255`` are skipped, and
   the pixel stops at the first splat that would take its transmittance to 1e-4 or below (that splat
   is left out), as gsplat's kernel does.

The CPU path does not loop over tiles: for each splat it enumerates exactly the pixels that can
pass the ``α >= 1/255`` test (the ellipse ``½ dᵀ Σ'⁻¹ d <= ln(255 o)``, row by row, clipped to the
splat's tile rectangle, which is what tile binning means per pixel), evaluates α there, sorts the
(pixel, splat) pairs by pixel (the pairs are made in depth order, and the sort is stable) and
composites each pixel's run with a segmented product. Splats are taken in depth order in chunks of
a bounded number of pairs, carrying each pixel's transmittance between chunks, which bounds memory
and lets splats behind finished pixels be dropped unseen.

gsplat versions differ from these rules in two small ways (checked against gsplat 1.5.3 on an
H100, where setting ``MAX_ALPHA = 0.999`` and a huge ``RADIUS_SIGMAS`` here made the two agree to
1e-6 on small scenes and to 2e-3 at worst, PSNR > 114 dB, on 0.1-1M splat scenes):
- gsplat <= 1.5 caps α at 0.999; 1.6 went back to 3DGS's 0.99, which is used here.
- gsplat >= 1.5 sizes each splat's tiles from its opacity (the box of the α = 1/255 ellipse) rather
  than 3 sigma of the major axis, so it keeps the faint tails (α < 0.011 o) that the 3-sigma square
  can cut at a tile edge. On the benchmark scenes that tail accounts for at most 0.009 at a pixel.
"""

from __future__ import annotations

import functools
import importlib
import math
import warnings
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from bridge.formats.splats import SplatCloud
from bridge.world.camera import Camera, Intrinsics

NEAR_PLANE = 0.01  # metres
FAR_PLANE = 1e10  # metres
EPS2D = 0.3  # px², added to the projected covariance's diagonal
FOV_CLAMP_MARGIN = 0.3  # the Jacobian's x/z, y/z are clamped to the image plus 30% of the half FOV
MAX_ALPHA = 0.99
ALPHA_THRESHOLD = 1.0 / 255.0
TRANSMITTANCE_THRESHOLD = 1e-4
TILE_SIZE = 16  # pixels
RADIUS_SIGMAS = 3.0  # the binning square's half-size, in standard deviations along the major axis

# Candidate (pixel, splat) pairs per chunk. About 100 bytes of transient tensors live per pair, so
# this bounds the compositing's working set near 50 MB whatever the cloud's size; per-splat data
# (~150 bytes a splat in float64) comes on top. Larger chunks were no faster (512k-1M pairs best).
DEFAULT_CHUNK_PAIRS = 1 << 19
_PROJECT_CHUNK = 1 << 18  # splats projected per step, for the same reason

_f64 = torch.float64


@dataclass(frozen=True)
class RenderResult:
    image: np.ndarray  # [H, W, 3] float32, clamped to [0, 1]
    alpha: np.ndarray  # [H, W] float32, accumulated opacity (1 - final transmittance)
    depth: np.ndarray  # [H, W] float32, alpha-weighted mean view depth, 0 where alpha == 0


# ---------------------------------------------------------------------------------------------
# Public entry points
# ---------------------------------------------------------------------------------------------


def render(
    splats: SplatCloud,
    camera: Camera,
    background: np.ndarray | tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> RenderResult:
    """Render ``splats`` through ``camera``: with gsplat on CUDA when both are there, else on the CPU.

    If gsplat fails at run time (its CUDA extension builds on first use), this warns once and
    renders on the CPU from then on.
    """
    global _gsplat_failed
    if len(splats) > 0 and not _gsplat_failed and _gsplat_available():
        try:
            return _render_gsplat(splats, camera, background)
        except (RuntimeError, OSError, ImportError) as error:  # a failed extension build, CUDA errors, OOM
            _gsplat_failed = True
            warnings.warn(f"gsplat failed ({error!r}); rendering on the CPU instead", RuntimeWarning, stacklevel=2)
    return render_torch(splats, camera, background)


def render_torch(
    splats: SplatCloud,
    camera: Camera,
    background: np.ndarray | tuple[float, float, float] = (0.0, 0.0, 0.0),
    *,
    chunk_pairs: int = DEFAULT_CHUNK_PAIRS,
) -> RenderResult:
    """The CPU rasteriser, always (the same semantics as :func:`render`'s gsplat path).

    ``chunk_pairs`` caps the candidate (pixel, splat) pairs held at once; it trades memory for
    per-chunk overhead and does not change the result beyond float rounding.
    """
    k = camera.intrinsics
    bg = _background_image(background, k.height, k.width)
    with torch.no_grad():
        proj = _project(splats, camera)
        rgb, depth_acc, transmittance = _composite(proj, k.width, k.height, chunk_pairs)
    return _finish(rgb, depth_acc, transmittance, bg)


def render_one_thread(
    splats: SplatCloud,
    camera: Camera,
    background: np.ndarray | tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> RenderResult:
    """:func:`render_torch` on one thread: the same bytes on any machine and in any process, for
    renders whose pixels become part of a world (a generator's preparation)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return render_torch(splats, camera, background)
    finally:
        torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------------
# Projection (EWA)
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Projected:
    """The splats that survive culling, sorted front to back; all float64 except the index ints."""

    mean2d: Tensor  # [M, 2] pixel coordinates (u, v) of the centre
    conic: Tensor  # [M, 3] (a, b, c) of the inverse 2D covariance [[a, b], [b, c]]
    cov_diag: Tensor  # [M, 2] the 2D covariance's diagonal, eps2d included
    depth: Tensor  # [M] view-axis depth (camera z)
    opacity: Tensor  # [M]
    color: Tensor  # [M, 3]
    rect: Tensor  # [M, 4] int64 pixel rectangle of the splat's tiles: x0, y0, x1, y1 (exclusive)
    source: Tensor  # [M] int64 index of each splat in the input cloud


def _quat_to_rotmat(q: Tensor) -> Tensor:
    """[N, 4] wxyz (any norm) -> [N, 3, 3]. A zero quaternion gives the identity."""
    q = q / q.norm(dim=-1, keepdim=True).clamp_min(1e-30)
    w, x, y, z = q.unbind(-1)
    rows = (
        1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y),
        2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x),
        2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y),
    )  # fmt: skip
    return torch.stack(rows, dim=-1).reshape(-1, 3, 3)


def _maybe_visible(splats: SplatCloud, view: np.ndarray, k: Intrinsics, limits: tuple[float, ...]) -> np.ndarray:
    """Indices of the splats that may pass the projection's culling; the others surely fail it.

    A viewer among its tiles holds splats all around it, most of them behind or beside the view.
    This drops them with a few vector operations before the projection's per-splat algebra: behind
    the near plane, or with the centre so far off screen that even an upper bound of the binning
    radius (the projected covariance bounded by the Jacobian's norm at the clamp limits times the
    largest scale) cannot reach the image. Margins leave every close call to the exact test.
    """
    p_cam = splats.positions.astype(np.float64) @ view[:3, :3].T + view[:3, 3]
    x, y, z = p_cam[:, 0], p_cam[:, 1], p_cam[:, 2]
    in_depth = z >= NEAR_PLANE - 1e-3
    z_safe = np.where(in_depth, z, 1.0)
    lim_x = max(limits[0], limits[1])
    lim_y = max(limits[2], limits[3])
    jacobian_sq = k.fx**2 * (1 + lim_x**2) + k.fy**2 * (1 + lim_y**2)
    scale = np.abs(splats.scales).max(axis=1).astype(np.float64)
    variance = jacobian_sq * scale**2 / z_safe**2 + EPS2D + 0.1
    reach = RADIUS_SIGMAS * np.sqrt(variance) + 2.0  # pixels, with room for ceil and rounding
    u = k.fx * x / z_safe + k.cx
    v = k.fy * y / z_safe + k.cy
    on_screen = (u + reach > 0) & (u - reach < k.width) & (v + reach > 0) & (v - reach < k.height)
    return np.flatnonzero(in_depth & (on_screen | ~np.isfinite(reach)))


def _project(splats: SplatCloud, camera: Camera) -> _Projected:
    k = camera.intrinsics
    view = torch.from_numpy(camera.view_matrix_opencv()).to(_f64)
    rot_v, t_v = view[:3, :3], view[:3, 3]
    # The clamp limits of gsplat's persp_proj: the image edge plus 30% of the half-FOV tangent,
    # i.e. 1.3x the FOV when the principal point is centred.
    tan_x, tan_y = 0.5 * k.width / k.fx, 0.5 * k.height / k.fy
    lim_x_pos = (k.width - k.cx) / k.fx + FOV_CLAMP_MARGIN * tan_x
    lim_x_neg = k.cx / k.fx + FOV_CLAMP_MARGIN * tan_x
    lim_y_pos = (k.height - k.cy) / k.fy + FOV_CLAMP_MARGIN * tan_y
    lim_y_neg = k.cy / k.fy + FOV_CLAMP_MARGIN * tan_y
    tiles_x = -(-k.width // TILE_SIZE)
    tiles_y = -(-k.height // TILE_SIZE)

    ahead = _maybe_visible(splats, view.numpy(), k, (lim_x_pos, lim_x_neg, lim_y_pos, lim_y_neg))

    parts: list[tuple[Tensor, ...]] = []
    for start in range(0, len(ahead), _PROJECT_CHUNK):
        rows = ahead[start : start + _PROJECT_CHUNK]
        pos = torch.from_numpy(splats.positions[rows]).to(_f64)
        scale = torch.from_numpy(splats.scales[rows]).to(_f64)
        quat = torch.from_numpy(splats.rotations[rows]).to(_f64)
        opacity = torch.from_numpy(splats.opacities[rows]).to(_f64)
        color = torch.from_numpy(splats.colors[rows]).to(_f64)

        p_cam = pos @ rot_v.T + t_v
        x, y, z = p_cam.unbind(-1)
        valid = (z >= NEAR_PLANE) & (z <= FAR_PLANE)
        z_safe = torch.where(valid, z, torch.ones_like(z))  # keeps the culled rows finite
        rz = 1.0 / z_safe
        tx = z_safe * (x * rz).clamp(-lim_x_neg, lim_x_pos)
        ty = z_safe * (y * rz).clamp(-lim_y_neg, lim_y_pos)

        # Σ' = J W R S (J W R S)ᵀ: one [2, 3] factor per splat instead of 3x3 covariances.
        zeros = torch.zeros_like(z)
        jac = torch.stack(
            [k.fx * rz, zeros, -k.fx * tx * rz * rz, zeros, k.fy * rz, -k.fy * ty * rz * rz], dim=-1
        ).reshape(-1, 2, 3)
        factor = jac @ rot_v @ (_quat_to_rotmat(quat) * scale[:, None, :])
        cov2d = factor @ factor.transpose(1, 2)
        ca = cov2d[:, 0, 0] + EPS2D
        cb = cov2d[:, 0, 1]
        cc = cov2d[:, 1, 1] + EPS2D
        det = ca * cc - cb * cb
        valid &= det > 0
        det_safe = torch.where(valid, det, torch.ones_like(det))
        conic = torch.stack([cc / det_safe, -cb / det_safe, ca / det_safe], dim=-1)

        mid = 0.5 * (ca + cc)
        lambda_max = mid + (mid * mid - det).clamp_min(0.01).sqrt()
        radius = torch.ceil(RADIUS_SIGMAS * lambda_max.sqrt())
        u = k.fx * x * rz + k.cx
        v = k.fy * y * rz + k.cy
        valid &= radius > 0
        valid &= (u + radius > 0) & (u - radius < k.width) & (v + radius > 0) & (v - radius < k.height)
        # A splat fainter than the alpha threshold can never pass it: dropping it changes nothing.
        valid &= opacity >= ALPHA_THRESHOLD
        valid &= torch.isfinite(u) & torch.isfinite(v) & torch.isfinite(conic).all(-1) & torch.isfinite(radius)
        valid &= torch.isfinite(color).all(-1)

        # Tile rectangle [t0, t1) as gsplat's isect_tiles computes it, then in pixels.
        tx0 = torch.floor((u - radius) / TILE_SIZE).clamp(0, tiles_x)
        tx1 = torch.ceil((u + radius) / TILE_SIZE).clamp(0, tiles_x)
        ty0 = torch.floor((v - radius) / TILE_SIZE).clamp(0, tiles_y)
        ty1 = torch.ceil((v + radius) / TILE_SIZE).clamp(0, tiles_y)
        rect = torch.stack(
            [
                tx0 * TILE_SIZE,
                ty0 * TILE_SIZE,
                (tx1 * TILE_SIZE).clamp_max(k.width),
                (ty1 * TILE_SIZE).clamp_max(k.height),
            ],
            dim=-1,
        )

        keep = valid.nonzero().squeeze(1)
        parts.append(
            (
                torch.stack([u, v], dim=-1)[keep],
                conic[keep],
                torch.stack([ca, cc], dim=-1)[keep],
                z[keep],
                opacity[keep],
                color[keep],
                rect[keep].to(torch.int64),
                torch.from_numpy(rows)[keep],
            )
        )

    if not parts:
        empty = torch.zeros(0, dtype=_f64)
        return _Projected(
            empty.reshape(0, 2), empty.reshape(0, 3), empty.reshape(0, 2), empty, empty,
            empty.reshape(0, 3), torch.zeros(0, 4, dtype=torch.int64), torch.zeros(0, dtype=torch.int64),
        )  # fmt: skip
    cat = [torch.cat(fields) for fields in zip(*parts, strict=True)]
    # Front to back; the stable sort breaks depth ties by input order, as gsplat's radix sort does.
    order = torch.sort(cat[3], stable=True).indices
    return _Projected(*(field[order] for field in cat))


# ---------------------------------------------------------------------------------------------
# Compositing
# ---------------------------------------------------------------------------------------------


def _composite(
    proj: _Projected,
    width: int,
    height: int,
    chunk_pairs: int,
) -> tuple[Tensor, Tensor, Tensor]:
    """Front-to-back compositing -> (rgb [HW, 3], depth sum [HW], transmittance [HW]), float64."""
    n_pix = width * height
    acc = torch.zeros(4, n_pix, dtype=_f64)  # r, g, b and depth, weighted by α T
    trans = torch.ones(n_pix, dtype=_f64)
    done = torch.zeros(n_pix, dtype=torch.bool)
    m = proj.depth.shape[0]
    if m == 0:
        return acc[:3].T, acc[3], trans

    table = _SplatTable.build(proj)
    cum_cost = torch.cumsum(table.cost, 0)
    tiles = _OpenTiles(width, height)
    start = 0
    while start < m:
        # A window of splats worth a few chunks, thinned to those whose box still touches a tile
        # with an unfinished pixel, then cut to one chunk's budget.
        base = int(cum_cost[start - 1]) if start > 0 else 0
        end = int(torch.searchsorted(cum_cost, base + 4 * chunk_pairs, right=True))
        end = min(max(end, start + 1), m)
        cand = torch.arange(start, end)
        if tiles.any_done:
            cand = cand[tiles.touches_open(table, cand)]
        cand_cum = torch.cumsum(table.cost.index_select(0, cand), 0)
        take = max(int(torch.searchsorted(cand_cum, chunk_pairs, right=True)), 1)
        if take < cand.shape[0]:
            start = int(cand[take])
            cand = cand[:take]
        else:
            start = end
        if cand.shape[0] == 0:
            continue
        pix, splat, alpha = _pairs(table, cand, done, width)
        if pix.shape[0] > 0:
            tiles.close(_blend(pix, splat, alpha, table.color_depth, acc, trans, done))

    return acc[:3].T, acc[3], trans


@dataclass(frozen=True)
class _SplatTable:
    """Per-splat quantities the pair enumeration needs, one contiguous 1D tensor each."""

    u: Tensor
    v: Tensor
    a: Tensor  # conic
    b: Tensor
    c: Tensor
    opacity: Tensor
    sigma_max: Tensor  # ln(255 o): α >= 1/255 exactly where ½ dᵀ Σ'⁻¹ d <= this
    x0: Tensor  # candidate box, inclusive pixel indices (float64 holding integers)
    x1: Tensor
    y0: Tensor
    y1: Tensor
    cost: Tensor  # int64 box area: an upper bound on the splat's pairs
    color_depth: Tensor  # [4, M]: r, g, b, view depth

    @classmethod
    def build(cls, proj: _Projected) -> _SplatTable:
        u, v = proj.mean2d.T.contiguous().unbind(0)
        a, b, c = proj.conic.T.contiguous().unbind(0)
        sigma_max = torch.log(proj.opacity / ALPHA_THRESHOLD).clamp_min(0.0)
        # The ellipse ½ dᵀ Σ'⁻¹ d <= s has the bounding box |dx| <= sqrt(2 s Σ'_xx), |dy| <= sqrt(2 s Σ'_yy).
        # Pixel centres sit at index + 0.5; _SLACK px absorbs rounding, the exact α test decides.
        half = (2.0 * sigma_max[:, None] * proj.cov_diag).sqrt()
        rect = proj.rect.to(_f64)
        x0 = torch.maximum(rect[:, 0], torch.ceil(u - half[:, 0] - 0.5 - _SLACK))
        x1 = torch.minimum(rect[:, 2] - 1, torch.floor(u + half[:, 0] - 0.5 + _SLACK))
        y0 = torch.maximum(rect[:, 1], torch.ceil(v - half[:, 1] - 0.5 - _SLACK))
        y1 = torch.minimum(rect[:, 3] - 1, torch.floor(v + half[:, 1] - 0.5 + _SLACK))
        cost = ((y1 - y0 + 1).clamp_min(0) * (x1 - x0 + 1).clamp_min(0)).to(torch.int64)
        color_depth = torch.cat([proj.color.T, proj.depth[None]], dim=0).contiguous()
        return cls(u, v, a, b, c, proj.opacity, sigma_max, x0, x1, y0, y1, cost, color_depth)


# Sub-pixel slack on the analytic spans: far above float64 rounding, far below a pixel.
_SLACK = 1e-6


class _OpenTiles:
    """How many unfinished pixels each 16x16 tile still has, kept up to date as pixels finish, so a
    chunk can drop the splats whose box lies wholly on finished tiles (they cannot change a pixel)."""

    def __init__(self, width: int, height: int) -> None:
        self.width = width
        self.tiles_x = -(-width // TILE_SIZE)
        self.tiles_y = -(-height // TILE_SIZE)
        cols = torch.full((self.tiles_x,), TILE_SIZE, dtype=torch.int32)
        cols[-1] = width - TILE_SIZE * (self.tiles_x - 1)
        rows = torch.full((self.tiles_y,), TILE_SIZE, dtype=torch.int32)
        rows[-1] = height - TILE_SIZE * (self.tiles_y - 1)
        self.open = (rows[:, None] * cols[None, :]).reshape(-1)
        self.any_done = False

    def close(self, pixels: Tensor) -> None:
        """Record newly finished pixels (flat indices, each at most once)."""
        if pixels.shape[0] == 0:
            return
        tile = (pixels // self.width // TILE_SIZE) * self.tiles_x + (pixels % self.width) // TILE_SIZE
        self.open.index_add_(0, tile, torch.full_like(tile, -1, dtype=torch.int32))
        self.any_done = True

    def touches_open(self, table: _SplatTable, idx: Tensor) -> Tensor:
        """Mask over ``idx``: the splat's candidate box overlaps a tile with an unfinished pixel."""
        grid = (self.open > 0).view(self.tiles_y, self.tiles_x).to(torch.int32)
        sat = torch.zeros(self.tiles_y + 1, self.tiles_x + 1, dtype=torch.int32)  # summed-area table
        sat[1:, 1:] = grid.cumsum(0).cumsum(1)
        tx0 = (table.x0.index_select(0, idx).long() // TILE_SIZE).clamp(0, self.tiles_x)
        ty0 = (table.y0.index_select(0, idx).long() // TILE_SIZE).clamp(0, self.tiles_y)
        tx1 = (table.x1.index_select(0, idx).long() // TILE_SIZE + 1).clamp(0, self.tiles_x)
        ty1 = (table.y1.index_select(0, idx).long() // TILE_SIZE + 1).clamp(0, self.tiles_y)
        count = sat[ty1, tx1] - sat[ty0, tx1] - sat[ty1, tx0] + sat[ty0, tx0]
        return count > 0


def _pairs(table: _SplatTable, idx: Tensor, done: Tensor, width: int) -> tuple[Tensor, Tensor, Tensor]:
    """The (pixel, splat, α) triples with α >= 1/255 on unfinished pixels for the splats ``idx``
    (ascending), in splat-major order, hence front to back for each pixel."""
    # One entry per (splat, row of its box).
    y0 = table.y0.index_select(0, idx)
    n_rows = (table.y1.index_select(0, idx) - y0 + 1).clamp_min(0).to(torch.int64)
    row_local = torch.repeat_interleave(n_rows)
    row_first = torch.cumsum(n_rows, 0) - n_rows
    gid = idx.index_select(0, row_local)  # splat id of each row, ascending
    row = torch.arange(gid.shape[0], dtype=_f64) + (y0 - row_first).index_select(0, row_local)

    def per_row(t: Tensor) -> Tensor:
        return t.index_select(0, gid)

    u, a, b, c = per_row(table.u), per_row(table.a), per_row(table.b), per_row(table.c)
    dy = (row + 0.5) - per_row(table.v)
    # On row y the ellipse a dx² + 2 b dx dy + c dy² <= 2 s spans dx in
    # (-b dy ± sqrt(2 a s - (a c - b²) dy²)) / a; enumerate only that span.
    disc = (2.0 * a * per_row(table.sigma_max) - (a * c - b * b) * dy * dy).clamp_min(0.0)
    centre = u - b * dy / a
    half_w = disc.sqrt() / a
    col0 = torch.maximum(per_row(table.x0), torch.ceil(centre - half_w - 0.5 - _SLACK))
    col1 = torch.minimum(per_row(table.x1), torch.floor(centre + half_w - 0.5 + _SLACK))
    n_cols = (col1 - col0 + 1).clamp_min(0).to(torch.int64)

    # One entry per candidate pixel. On a row, σ = ½ (a dx² + c dy²) + b dx dy is a quadratic in dx.
    pair_row = torch.repeat_interleave(n_cols)
    pair_first = (torch.cumsum(n_cols, 0) - n_cols).to(_f64)
    step = torch.arange(pair_row.shape[0], dtype=_f64)
    dx = step + ((col0 + 0.5) - u - pair_first).index_select(0, pair_row)
    sigma = dx * ((0.5 * a).index_select(0, pair_row) * dx + (b * dy).index_select(0, pair_row))
    sigma += (0.5 * c * dy * dy).index_select(0, pair_row)
    alpha = (per_row(table.opacity).index_select(0, pair_row) * torch.exp(-sigma)).clamp_max_(MAX_ALPHA)
    pix = (step + (row * width + col0 - pair_first).index_select(0, pair_row)).to(torch.int64)
    keep = (sigma >= 0) & (alpha >= ALPHA_THRESHOLD) & ~done.index_select(0, pix)
    hit = keep.nonzero().squeeze(1)
    return (
        pix.index_select(0, hit),
        gid.index_select(0, pair_row.index_select(0, hit)),
        alpha.index_select(0, hit),
    )


def _blend(
    pix: Tensor,
    splat: Tensor,
    alpha: Tensor,
    color_depth: Tensor,
    acc: Tensor,
    trans: Tensor,
    done: Tensor,
) -> Tensor:
    """Composite one chunk of pairs (front to back per pixel) into the running state, in place.
    Returns the pixels this chunk finished."""
    # Group by pixel. The pairs arrive front to back and the sort is stable, so each pixel's run
    # stays front to back. int32 keys take torch's much faster radix path.
    pix_sorted, order = torch.sort(pix.to(torch.int32), stable=True)
    alpha = alpha.index_select(0, order)
    n = pix_sorted.shape[0]
    first = torch.empty(n, dtype=torch.bool)
    first[0] = True
    torch.ne(pix_sorted[1:], pix_sorted[:-1], out=first[1:])
    first_idx = first.nonzero().squeeze(1)
    run = torch.cumsum(first, 0) - 1  # run (pixel) number of each pair
    run_pix = pix_sorted.index_select(0, first_idx).to(torch.int64)

    # Transmittance in front of each pair: the pixel's carried T times the product of (1 - α) over
    # the earlier pairs of its run, as a segmented sum of logs (float64: exact to ~1e-12 here).
    log_keep = torch.log1p(-alpha)
    before = torch.cumsum(log_keep, 0) - log_keep
    run_trans = trans.index_select(0, run_pix)
    run_base = torch.log(run_trans) - before.index_select(0, first_idx)
    t_before = torch.exp(before + run_base.index_select(0, run))
    # gsplat stops a pixel at the first splat that would take T to <= 1e-4, leaving that splat out.
    # T only falls along a run, so the pairs before the stop are exactly those with T_after above it.
    included = t_before * (1.0 - alpha) > TRANSMITTANCE_THRESHOLD
    weight = torch.where(included, alpha * t_before, 0.0)

    pix_long = pix_sorted.to(torch.int64)
    splat = splat.index_select(0, order)
    for channel in range(4):
        acc[channel].index_add_(0, pix_long, weight * color_depth[channel].index_select(0, splat))
    run_log = torch.zeros(run_pix.shape[0], dtype=_f64)
    run_log.index_add_(0, run, torch.where(included, log_keep, 0.0))
    trans.index_copy_(0, run_pix, run_trans * torch.exp(run_log))
    run_stopped = torch.zeros(run_pix.shape[0], dtype=torch.bool)
    run_stopped.index_fill_(0, run[~included], True)
    stopped = run_pix[run_stopped]
    done.index_fill_(0, stopped, True)
    return stopped


def _finish(rgb: Tensor, depth_acc: Tensor, trans: Tensor, bg: np.ndarray) -> RenderResult:
    h, w = bg.shape[:2]
    rgb = rgb.contiguous()
    t = trans.view(h, w).numpy()
    image = rgb.view(h, w, 3).numpy() + t[..., None] * bg
    alpha = 1.0 - t
    depth_sum = depth_acc.view(h, w).numpy()
    # gsplat's "ED" divides by alpha clamped at 1e-10; where nothing landed the sum is 0 anyway.
    depth = np.where(alpha > 0, depth_sum / np.maximum(alpha, 1e-10), 0.0)
    return RenderResult(
        image=np.clip(image, 0.0, 1.0).astype(np.float32),
        alpha=alpha.astype(np.float32),
        depth=depth.astype(np.float32),
    )


def _background_image(background: np.ndarray | tuple[float, float, float], height: int, width: int) -> np.ndarray:
    """An [H, W, 3] float64 background from an RGB triple or a per-pixel image."""
    bg = np.asarray(background, dtype=np.float64)
    if bg.shape == (3,):
        return np.broadcast_to(bg, (height, width, 3))
    if bg.shape == (height, width, 3):
        return bg
    raise ValueError(f"background must be an RGB triple or [{height}, {width}, 3], got shape {bg.shape}")


# ---------------------------------------------------------------------------------------------
# gsplat (CUDA)
# ---------------------------------------------------------------------------------------------


_gsplat_failed = False  # set when a gsplat call raised: the CPU path is used from then on


@functools.cache
def _gsplat_available() -> bool:
    if not torch.cuda.is_available():
        return False
    try:
        importlib.import_module("gsplat")
    except Exception:  # an ImportError, or a broken CUDA extension build
        return False
    return True


def _render_gsplat(
    splats: SplatCloud, camera: Camera, background: np.ndarray | tuple[float, float, float]
) -> RenderResult:
    gsplat = importlib.import_module("gsplat")
    k = camera.intrinsics
    bg = _background_image(background, k.height, k.width)
    device = torch.device("cuda")

    def gpu(array: np.ndarray) -> Tensor:
        return torch.as_tensor(np.ascontiguousarray(array), dtype=torch.float32, device=device)

    with torch.no_grad():
        colors, alphas, _ = gsplat.rasterization(
            means=gpu(splats.positions),
            quats=gpu(splats.rotations),
            scales=gpu(splats.scales),
            opacities=gpu(splats.opacities),
            colors=gpu(splats.colors),
            viewmats=gpu(camera.view_matrix_opencv())[None],
            Ks=gpu(k.matrix())[None],
            width=k.width,
            height=k.height,
            near_plane=NEAR_PLANE,
            far_plane=FAR_PLANE,
            eps2d=EPS2D,
            packed=False,
            tile_size=TILE_SIZE,
            render_mode="RGB+ED",
            rasterize_mode="classic",
        )
    out = colors[0].double().cpu()  # [H, W, 4]: RGB then the expected depth
    alpha = alphas[0, ..., 0].double().cpu()
    depth_acc = (out[..., 3] * alpha).reshape(-1)  # _finish divides by alpha again
    return _finish(out[..., :3].reshape(-1, 3), depth_acc, (1.0 - alpha).reshape(-1), bg)


# ---------------------------------------------------------------------------------------------
# Reference: plain loops, for tests on small scenes
# ---------------------------------------------------------------------------------------------


def _render_reference(
    splats: SplatCloud,
    camera: Camera,
    background: np.ndarray | tuple[float, float, float] = (0.0, 0.0, 0.0),
) -> RenderResult:
    """The same semantics written the plain way: a loop over splats to project, a loop over pixels
    to composite. Slow; it exists to check :func:`render_torch`."""
    k = camera.intrinsics
    bg = _background_image(background, k.height, k.width)
    view = camera.view_matrix_opencv()
    lim_x = (-(k.cx / k.fx + FOV_CLAMP_MARGIN * 0.5 * k.width / k.fx),
             (k.width - k.cx) / k.fx + FOV_CLAMP_MARGIN * 0.5 * k.width / k.fx)  # fmt: skip
    lim_y = (-(k.cy / k.fy + FOV_CLAMP_MARGIN * 0.5 * k.height / k.fy),
             (k.height - k.cy) / k.fy + FOV_CLAMP_MARGIN * 0.5 * k.height / k.fy)  # fmt: skip

    kept: list[tuple[float, int, np.ndarray, np.ndarray, float, np.ndarray, tuple[int, int, int, int]]] = []
    for i in range(len(splats)):
        p = view[:3, :3] @ splats.positions[i].astype(np.float64) + view[:3, 3]
        if not NEAR_PLANE <= p[2] <= FAR_PLANE:
            continue
        quat = splats.rotations[i].astype(np.float64)
        w, x, y, z = quat / max(float(np.linalg.norm(quat)), 1e-30)
        rot = np.array(
            [
                [1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)],
                [2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)],
                [2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)],
            ]
        )
        s = np.diag(splats.scales[i].astype(np.float64))
        cov_world = rot @ s @ s @ rot.T
        cov_cam = view[:3, :3] @ cov_world @ view[:3, :3].T
        tx = p[2] * min(max(p[0] / p[2], lim_x[0]), lim_x[1])
        ty = p[2] * min(max(p[1] / p[2], lim_y[0]), lim_y[1])
        jac = np.array(
            [
                [k.fx / p[2], 0.0, -k.fx * tx / p[2] ** 2],
                [0.0, k.fy / p[2], -k.fy * ty / p[2] ** 2],
            ]
        )
        cov2d = jac @ cov_cam @ jac.T + EPS2D * np.eye(2)
        det = np.linalg.det(cov2d)
        if det <= 0:
            continue
        eigenvalues = np.linalg.eigvalsh(cov2d)
        radius = math.ceil(RADIUS_SIGMAS * math.sqrt(eigenvalues[-1]))
        mean = np.array([k.fx * p[0] / p[2] + k.cx, k.fy * p[1] / p[2] + k.cy])
        if (
            mean[0] + radius <= 0
            or mean[0] - radius >= k.width
            or mean[1] + radius <= 0
            or mean[1] - radius >= k.height
        ):
            continue
        tiles = (
            max(0, math.floor((mean[0] - radius) / TILE_SIZE)),
            max(0, math.floor((mean[1] - radius) / TILE_SIZE)),
            math.ceil((mean[0] + radius) / TILE_SIZE),
            math.ceil((mean[1] + radius) / TILE_SIZE),
        )
        kept.append(
            (
                float(p[2]), i, mean, np.linalg.inv(cov2d), float(splats.opacities[i]),
                splats.colors[i].astype(np.float64), tiles,
            )
        )  # fmt: skip
    kept.sort(key=lambda item: (item[0], item[1]))  # depth, then input order

    image = np.zeros((k.height, k.width, 3))
    alpha_img = np.zeros((k.height, k.width))
    depth_img = np.zeros((k.height, k.width))
    if kept:
        depth_arr = np.array([item[0] for item in kept])
        means = np.stack([item[2] for item in kept])
        conics = np.stack([item[3] for item in kept])
        opacity = np.array([item[4] for item in kept])
        colors = np.stack([item[5] for item in kept])
        tiles_arr = np.array([item[6] for item in kept])
        for row in range(k.height):
            for col in range(k.width):
                tile_x, tile_y = col // TILE_SIZE, row // TILE_SIZE
                binned = np.nonzero(
                    (tiles_arr[:, 0] <= tile_x)
                    & (tile_x < tiles_arr[:, 2])
                    & (tiles_arr[:, 1] <= tile_y)
                    & (tile_y < tiles_arr[:, 3])
                )[0]
                d = means[binned] - np.array([col + 0.5, row + 0.5])
                q = conics[binned]
                sigma = 0.5 * (q[:, 0, 0] * d[:, 0] ** 2 + q[:, 1, 1] * d[:, 1] ** 2) + q[:, 0, 1] * d[:, 0] * d[:, 1]
                alphas = np.minimum(MAX_ALPHA, opacity[binned] * np.exp(-sigma))
                t = 1.0
                rgb = np.zeros(3)
                depth_sum = 0.0
                for j, a, sg in zip(binned, alphas, sigma, strict=True):
                    if sg < 0 or a < ALPHA_THRESHOLD:
                        continue
                    t_next = t * (1.0 - a)
                    if t_next <= TRANSMITTANCE_THRESHOLD:
                        break
                    rgb += a * t * colors[j]
                    depth_sum += a * t * depth_arr[j]
                    t = t_next
                image[row, col] = rgb
                alpha_img[row, col] = 1.0 - t
                depth_img[row, col] = depth_sum
    with np.errstate(divide="ignore", invalid="ignore"):
        depth = np.where(alpha_img > 0, depth_img / np.maximum(alpha_img, 1e-10), 0.0)
    return RenderResult(
        image=np.clip(image + (1.0 - alpha_img)[..., None] * bg, 0.0, 1.0).astype(np.float32),
        alpha=alpha_img.astype(np.float32),
        depth=depth.astype(np.float32),
    )
