"""The renderer's compositing weights, in numpy: how much each splat adds to each pixel.

A render is linear in the splat colours once the geometry is fixed,
``pixel = sum(weight * colour) + T_final * background``; :func:`blend_weights` gives that linear
map as (pixel, splat, weight) triples, for solving colours exactly, for any cloud.
It follows bridge.render.rasterize step for step (EWA projection, 16-pixel tiles, depth order,
the alpha cap and cut-offs) without torch, where importing torch alone would cost as much as a
solve. tests/render/test_rasterize.py holds it to the torch renderer's output. The photo generator's lift
(one splat per pixel) takes the faster route of :mod:`bridge.render.stencil`, which shares the
projection here (:func:`_footprint_table`) and enumerates this way only the splats that do not
fit its stencil.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from bridge.formats.splats import SplatCloud
from bridge.world.camera import Camera

_EPS2D = 0.3  # px², a one-pixel low-pass on every projected covariance
_NEAR, _FAR = 0.01, 1e10  # metres
_FOV_CLAMP_MARGIN = 0.3
_MAX_ALPHA = 0.99
_ALPHA_THRESHOLD = 1.0 / 255.0
_TRANSMITTANCE_THRESHOLD = 1e-4
_TILE = 16  # pixels
_RADIUS_SIGMAS = 3.0
_SLACK = 1e-6  # px
_CHUNK_PAIRS = 1 << 19  # candidate pairs per step: bounds the working set (~100 B a pair)


def blend_weights(cloud: SplatCloud, camera: Camera) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(flat pixel index, splat index, weight α T) of every pair the 3DGS compositing of ``cloud``
    through ``camera`` uses: render = sum(weight * colour) + T_final * background. Within each
    chunk of splats the triples are grouped by pixel, front to back. Indices int32, weights float64."""
    parts: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
    composite_weights(cloud, camera, lambda *triple: parts.append(triple))
    if not parts:
        return np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0)
    return tuple(np.concatenate(field) for field in zip(*parts, strict=True))  # type: ignore[return-value]


def composite_weights(
    cloud: SplatCloud, camera: Camera, sink: Callable[[np.ndarray, np.ndarray, np.ndarray], None]
) -> None:
    """Composite ``cloud`` through ``camera`` front to back in chunks of splats (rasterize's
    _composite loop), handing each chunk's (pixel, splat, weight) triples to ``sink``."""
    k = camera.intrinsics
    table = _in_depth_order(_footprint_table(cloud, camera))
    m = table["u"].shape[0]
    n_pix = k.width * k.height
    trans = np.ones(n_pix)
    done = np.zeros(n_pix, dtype=bool)
    tiles_x, tiles_y = -(-k.width // _TILE), -(-k.height // _TILE)
    cols = np.full(tiles_x, _TILE, dtype=np.int64)
    cols[-1] = k.width - _TILE * (tiles_x - 1)
    rows = np.full(tiles_y, _TILE, dtype=np.int64)
    rows[-1] = k.height - _TILE * (tiles_y - 1)
    open_pixels = (rows[:, None] * cols[None, :]).ravel()  # unfinished pixels per 16x16 tile
    any_done = False
    cum_cost = np.cumsum(table["cost"])
    start = 0
    while start < m:
        # A window of splats worth a few chunks, thinned to those whose box still touches a tile
        # with an unfinished pixel, then cut to one chunk's budget (rasterize._composite's loop).
        base = int(cum_cost[start - 1]) if start > 0 else 0
        end = min(max(int(np.searchsorted(cum_cost, base + 4 * _CHUNK_PAIRS, side="right")), start + 1), m)
        cand = np.arange(start, end)
        if any_done:
            cand = cand[_touches_open(table, cand, open_pixels > 0, tiles_x, tiles_y)]
        cand_cum = np.cumsum(table["cost"][cand])
        take = max(int(np.searchsorted(cand_cum, _CHUNK_PAIRS, side="right")), 1)
        if take < cand.shape[0]:
            start = int(cand[take])
            cand = cand[:take]
        else:
            start = end
        if cand.shape[0] == 0:
            continue
        pix, splat, alpha = _pairs(table, cand, done, k.width)
        if pix.shape[0] == 0:
            continue
        stopped = _blend_chunk(pix, splat, alpha, trans, done, sink, table["source"])
        if stopped.shape[0]:
            tile = (stopped // k.width // _TILE) * tiles_x + (stopped % k.width) // _TILE
            open_pixels -= np.bincount(tile, minlength=open_pixels.shape[0])
            any_done = True


def _footprint_table(cloud: SplatCloud, camera: Camera) -> dict[str, np.ndarray]:
    """EWA projection and culling (rasterize._project), then the per-splat candidate boxes
    (rasterize._SplatTable), for the splats that survive, in input order ("source": their input
    index), with "order": the entries front to back (the renderer's stable depth sort)."""
    k = camera.intrinsics
    view = camera.view_matrix_opencv()
    rot_v, t_v = view[:3, :3], view[:3, 3]
    tan_x, tan_y = 0.5 * k.width / k.fx, 0.5 * k.height / k.fy
    lim_x_pos = (k.width - k.cx) / k.fx + _FOV_CLAMP_MARGIN * tan_x
    lim_x_neg = k.cx / k.fx + _FOV_CLAMP_MARGIN * tan_x
    lim_y_pos = (k.height - k.cy) / k.fy + _FOV_CLAMP_MARGIN * tan_y
    lim_y_neg = k.cy / k.fy + _FOV_CLAMP_MARGIN * tan_y
    tiles_x, tiles_y = -(-k.width // _TILE), -(-k.height // _TILE)
    opacity = cloud.opacities.astype(np.float64)
    with np.errstate(all="ignore"):
        x, y, z = rot_v @ _rows(cloud.positions) + t_v[:, None]  # one contiguous row per coordinate
        valid = (z >= _NEAR) & (z <= _FAR)
        z_safe = np.where(valid, z, 1.0)
        rz = 1.0 / z_safe
        tx = z_safe * np.clip(x * rz, -lim_x_neg, lim_x_pos)
        ty = z_safe * np.clip(y * rz, -lim_y_neg, lim_y_pos)
        jac = (k.fx * rz, -k.fx * tx * rz * rz, k.fy * rz, -k.fy * ty * rz * rz)
        cov_xx, cov_xy, cov_yy = _covariance_2d(cloud, rot_v, jac)
        ca, cb, cc = cov_xx + _EPS2D, cov_xy, cov_yy + _EPS2D
        det = ca * cc - cb * cb
        valid &= det > 0
        det_safe = np.where(valid, det, 1.0)
        a, b, c = cc / det_safe, -cb / det_safe, ca / det_safe
        mid = 0.5 * (ca + cc)
        radius = np.ceil(_RADIUS_SIGMAS * np.sqrt(mid + np.sqrt(np.maximum(mid * mid - det, 0.01))))
        u = k.fx * x * rz + k.cx
        v = k.fy * y * rz + k.cy
        valid &= radius > 0
        valid &= (u + radius > 0) & (u - radius < k.width) & (v + radius > 0) & (v - radius < k.height)
        valid &= opacity >= _ALPHA_THRESHOLD
        valid &= np.isfinite(u) & np.isfinite(v) & np.isfinite(a) & np.isfinite(b) & np.isfinite(c)
        valid &= np.isfinite(radius) & np.isfinite(cloud.colors).all(axis=1)
        keep = np.flatnonzero(valid).astype(np.int32)
        u, v, a, b, c, ca, cc, radius, opacity = (t[keep] for t in (u, v, a, b, c, ca, cc, radius, opacity))
        # The tile rectangle [t0, t1) the splat is binned to, in pixels.
        rx0 = np.clip(np.floor((u - radius) / _TILE), 0, tiles_x) * _TILE
        rx1 = np.minimum(np.clip(np.ceil((u + radius) / _TILE), 0, tiles_x) * _TILE, k.width)
        ry0 = np.clip(np.floor((v - radius) / _TILE), 0, tiles_y) * _TILE
        ry1 = np.minimum(np.clip(np.ceil((v + radius) / _TILE), 0, tiles_y) * _TILE, k.height)
        # α >= 1/255 exactly where ½ dᵀ Σ'⁻¹ d <= ln(255 o); that ellipse's box, clipped to the tiles.
        sigma_max = np.maximum(np.log(opacity / _ALPHA_THRESHOLD), 0.0)
        half_x, half_y = np.sqrt(2.0 * sigma_max * ca), np.sqrt(2.0 * sigma_max * cc)
    x0 = np.maximum(rx0, np.ceil(u - half_x - 0.5 - _SLACK))
    x1 = np.minimum(rx1 - 1, np.floor(u + half_x - 0.5 + _SLACK))
    y0 = np.maximum(ry0, np.ceil(v - half_y - 0.5 - _SLACK))
    y1 = np.minimum(ry1 - 1, np.floor(v + half_y - 0.5 + _SLACK))
    cost = (np.maximum(y1 - y0 + 1, 0) * np.maximum(x1 - x0 + 1, 0)).astype(np.int64)
    return {
        "u": u, "v": v, "a": a, "b": b, "c": c, "opacity": opacity, "sigma_max": sigma_max,
        "x0": x0, "x1": x1, "y0": y0, "y1": y1, "cost": cost, "radius": radius, "source": keep,
        "order": np.argsort(z[keep], kind="stable"),  # front to back, depth ties in input order
    }  # fmt: skip


def _in_depth_order(table: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """The footprint table's entries in the order compositing visits them."""
    order = table["order"]
    return {name: values[order] for name, values in table.items() if name != "order"}


def _covariance_2d(
    cloud: SplatCloud, rot_v: np.ndarray, jac: tuple[np.ndarray, ...]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The projected covariance Σ' = M Mᵀ, M = J W R S (rasterize._project's factor), as its three
    distinct entries; ``jac`` is J's non-zeros (j00, j02, j11, j12). Written out per component:
    batched [N, 3, 3] matrix products cost ten times as much in numpy."""
    j00, j02, j11, j12 = jac
    q = _rows(cloud.rotations)
    w, x, y, z = q / np.maximum(np.sqrt(np.einsum("ij,ij->j", q, q)), 1e-30)
    rot = (
        (1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)),
        (2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)),
        (2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)),
    )  # rows of R, from the wxyz quaternion (any norm)
    jw = (  # J W: the two rows of the Jacobian times the view rotation
        [j00 * rot_v[0, m] + j02 * rot_v[2, m] for m in range(3)],
        [j11 * rot_v[1, m] + j12 * rot_v[2, m] for m in range(3)],
    )
    scale = _rows(cloud.scales)
    m0, m1 = ([(r[0] * rot[0][c] + r[1] * rot[1][c] + r[2] * rot[2][c]) * scale[c] for c in range(3)] for r in jw)
    return (
        m0[0] * m0[0] + m0[1] * m0[1] + m0[2] * m0[2],
        m0[0] * m1[0] + m0[1] * m1[1] + m0[2] * m1[2],
        m1[0] * m1[0] + m1[1] * m1[1] + m1[2] * m1[2],
    )


def _rows(values: np.ndarray) -> np.ndarray:
    """[N, k] -> [k, N] float64, each row contiguous (strided rows make every later step slower)."""
    return np.ascontiguousarray(values.T, dtype=np.float64)


def _touches_open(table: dict[str, np.ndarray], idx: np.ndarray, open_tile: np.ndarray, tx: int, ty: int) -> np.ndarray:
    """Mask over ``idx``: the splat's candidate box overlaps a tile with an unfinished pixel."""
    sat = np.zeros((ty + 1, tx + 1), dtype=np.int64)  # summed-area table of open tiles
    sat[1:, 1:] = open_tile.reshape(ty, tx).astype(np.int64).cumsum(0).cumsum(1)
    tx0 = np.clip(table["x0"][idx].astype(np.int64) // _TILE, 0, tx)
    ty0 = np.clip(table["y0"][idx].astype(np.int64) // _TILE, 0, ty)
    tx1 = np.clip(table["x1"][idx].astype(np.int64) // _TILE + 1, 0, tx)
    ty1 = np.clip(table["y1"][idx].astype(np.int64) // _TILE + 1, 0, ty)
    return (sat[ty1, tx1] - sat[ty0, tx1] - sat[ty1, tx0] + sat[ty0, tx0]) > 0


def _pairs(
    table: dict[str, np.ndarray], idx: np.ndarray, done: np.ndarray, width: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(pixel, splat, α) with α >= 1/255 on unfinished pixels for the splats ``idx`` (ascending),
    splat-major, so front to back for each pixel; only each row's span of the α ellipse."""
    y0 = table["y0"][idx]
    n_rows = np.maximum(table["y1"][idx] - y0 + 1, 0).astype(np.int64)
    row_first = np.cumsum(n_rows) - n_rows
    row_local = np.repeat(np.arange(idx.shape[0]), n_rows)
    gid = idx[row_local]
    row = np.arange(gid.shape[0], dtype=np.float64) + (y0 - row_first)[row_local]
    u, a, b, c = table["u"][gid], table["a"][gid], table["b"][gid], table["c"][gid]
    dy = (row + 0.5) - table["v"][gid]
    disc = np.maximum(2.0 * a * table["sigma_max"][gid] - (a * c - b * b) * dy * dy, 0.0)
    centre = u - b * dy / a
    half_w = np.sqrt(disc) / a
    col0 = np.maximum(table["x0"][gid], np.ceil(centre - half_w - 0.5 - _SLACK))
    col1 = np.minimum(table["x1"][gid], np.floor(centre + half_w - 0.5 + _SLACK))
    n_cols = np.maximum(col1 - col0 + 1, 0).astype(np.int64)
    pair_first = np.cumsum(n_cols) - n_cols
    pair_row = np.repeat(np.arange(n_cols.shape[0]), n_cols)
    step = np.arange(pair_row.shape[0], dtype=np.float64)
    dx = step + ((col0 + 0.5) - u - pair_first)[pair_row]
    sigma = dx * ((0.5 * a)[pair_row] * dx + (b * dy)[pair_row])
    sigma += (0.5 * c * dy * dy)[pair_row]
    alpha = np.minimum(table["opacity"][gid][pair_row] * np.exp(-sigma), _MAX_ALPHA)
    pix = (step + (row * width + col0 - pair_first)[pair_row]).astype(np.int64)
    hit = np.flatnonzero((sigma >= 0) & (alpha >= _ALPHA_THRESHOLD) & ~done[pix])
    return pix[hit], gid[pair_row[hit]], alpha[hit]


def stable_order(keys: np.ndarray) -> np.ndarray:
    """np.argsort(keys, kind="stable") for keys in [0, 2^32): two stable passes on 16-bit halves,
    which numpy radix-sorts (several times faster than its timsort on 32-bit keys)."""
    low = (keys & 0xFFFF).astype(np.uint16)
    high = (keys >> 16).astype(np.uint16)
    order = np.argsort(low, kind="stable")
    return order[np.argsort(high[order], kind="stable")]


def _blend_chunk(
    pix: np.ndarray,
    splat: np.ndarray,
    alpha: np.ndarray,
    trans: np.ndarray,
    done: np.ndarray,
    sink: Callable[[np.ndarray, np.ndarray, np.ndarray], None],
    source: np.ndarray,
) -> np.ndarray:
    """One chunk's pairs composited front to back per pixel (rasterize._blend's weights): appends
    its (pixel, input splat, α T) triples to ``sink``, carries the transmittance, returns finished pixels."""
    order = stable_order(pix)  # by pixel, each run front to back
    pix_sorted, alpha = pix[order], alpha[order]
    first = np.empty(pix_sorted.shape[0], dtype=bool)
    first[0] = True
    np.not_equal(pix_sorted[1:], pix_sorted[:-1], out=first[1:])
    first_idx = np.flatnonzero(first)
    run = np.cumsum(first) - 1
    run_pix = pix_sorted[first_idx]
    # T in front of each pair: the carried T times the product of (1 - α) over the run so far.
    log_keep = np.log1p(-alpha)
    before = np.cumsum(log_keep) - log_keep
    run_trans = trans[run_pix]
    t_before = np.exp(before + (np.log(run_trans) - before[first_idx])[run])
    # A pixel stops at the first splat that would take T to <= 1e-4, leaving that splat out.
    included = t_before * (1.0 - alpha) > _TRANSMITTANCE_THRESHOLD
    kept = np.flatnonzero(included)
    sink(pix_sorted[kept].astype(np.int32), source[splat[order[kept]]], (alpha * t_before)[kept])
    run_log = np.bincount(run, np.where(included, log_keep, 0.0), minlength=run_pix.shape[0])
    trans[run_pix] = run_trans * np.exp(run_log)
    run_stopped = np.zeros(run_pix.shape[0], dtype=bool)
    run_stopped[run[~included]] = True
    stopped = run_pix[run_stopped]
    done[stopped] = True
    return stopped
