"""The layout's trees as solid splat objects: a trunk and a crown that reads as a volume from every side.

A crown is a cloud of splats over an ellipsoid (broadleaf) or a cone (conifer), each point
pushed in by a hashed amount so the silhouette is ragged, lit by a fixed sky light from above
(tops light, undersides dark) and coloured from the photo's vegetation palette by that light.
Splats grow and thin out with the LOD, keeping the crown's coverage.
"""

from __future__ import annotations

import math

import numpy as np

from bridge.formats.splats import SplatCloud, identity_rotations
from bridge.generate.hashing import hash_to_unit
from bridge.generate.photo.layout import Trees

LEAF_SIGMA_M = 0.45  # crown splat std dev at LOD 0
LEAF_OPACITY = 0.9
MIN_CROWN_SPLATS = 6
MAX_CROWN_SPLATS = 700
TRUNK_SIGMA_M = 0.18
FINEST_DETAIL = 0.5  # leaves and bark finer than half their 32 m-tile size add splats, not looks
_LIGHT = np.array([0.35, 0.85, 0.4]) / np.linalg.norm([0.35, 0.85, 0.4])
_GOLDEN_ANGLE = math.pi * (3.0 - math.sqrt(5.0))


def tree_splats(
    trees: Trees, ground_y: np.ndarray, detail: float, palette: np.ndarray, conifer_share: float
) -> SplatCloud:
    """Splats of ``trees`` standing on ``ground_y``, built at ``detail`` (see generator.detail_scale)
    from the vegetation ``palette`` ([k, 3], dark to light); ``conifer_share`` of them are cones."""
    if len(trees) == 0:
        return SplatCloud.empty()
    sigma = LEAF_SIGMA_M * max(detail, FINEST_DETAIL)
    crown_r = np.maximum(trees.crown_m, sigma)
    area = 4 * math.pi * crown_r**2
    counts = np.clip(np.round(area / (sigma * sigma * 2.5)), MIN_CROWN_SPLATS, MAX_CROWN_SPLATS).astype(np.int64)
    tree = np.repeat(np.arange(len(trees)), counts)
    local = np.arange(tree.size) - np.repeat(np.cumsum(counts) - counts, counts)
    n = counts[tree]
    # Fibonacci points on the unit sphere: even cover at any count, no two trees alike (a hashed turn).
    t = (local + 0.5) / n
    cos_polar = 1 - 2 * t
    sin_polar = np.sqrt(np.maximum(0.0, 1 - cos_polar**2))
    turn = hash_to_unit(trees.ident, 601)[tree] * 2 * math.pi
    azimuth = local * _GOLDEN_ANGLE + turn
    unit = np.stack([sin_polar * np.cos(azimuth), cos_polar, sin_polar * np.sin(azimuth)], axis=1)
    depth_in = 0.7 + 0.3 * hash_to_unit(trees.ident[tree], local, 602)
    conifer = hash_to_unit(trees.ident, 603) < conifer_share
    r = crown_r[tree]
    top = trees.height[tree]
    # Broadleaf: an ellipsoid a little taller than wide, its centre a radius below the top.
    centre_y = top - r * 1.15
    offset = unit * np.stack([r, r * 1.15, r], axis=1) * depth_in[:, None]
    # Conifer: a cone from the top down to 0.75 of the height, its radius growing downwards.
    cone_h = top * 0.75
    frac = (cos_polar + 1) / 2  # 1 at the top
    cone_radius = r * 1.3 * (1 - frac) * depth_in
    cone = np.stack(
        [np.cos(azimuth) * cone_radius, top - cone_h * (1 - frac) - (top - r * 1.15), np.sin(azimuth) * cone_radius],
        axis=1,
    )
    offset = np.where(conifer[tree][:, None], cone, offset)
    positions = np.stack([trees.x[tree], ground_y[tree] + centre_y, trees.z[tree]], axis=1) + offset
    light = np.clip(unit @ _LIGHT, -1, 1) * 0.5 + 0.5
    light = np.clip(light * 0.8 + 0.25 * hash_to_unit(trees.ident[tree], local, 604) - 0.05, 0, 1)
    colours = _palette_at(palette, light) * (0.55 + 0.55 * light)[:, None]
    crown = SplatCloud.from_arrays(
        positions,
        np.full((tree.size, 3), sigma),
        identity_rotations(tree.size),
        np.full(tree.size, LEAF_OPACITY),
        np.clip(colours, 0, 1),
    )
    return SplatCloud.concat([crown, _trunks(trees, ground_y, detail, palette)])


def _trunks(trees: Trees, ground_y: np.ndarray, detail: float, palette: np.ndarray) -> SplatCloud:
    step = TRUNK_SIGMA_M * 2 * max(detail, FINEST_DETAIL)
    trunk_h = trees.height * 0.45
    counts = np.maximum(1, np.ceil(trunk_h / step)).astype(np.int64)
    tree = np.repeat(np.arange(len(trees)), counts)
    local = np.arange(tree.size) - np.repeat(np.cumsum(counts) - counts, counts)
    y = ground_y[tree] + (local + 0.5) * trunk_h[tree] / counts[tree]
    positions = np.stack([trees.x[tree], y, trees.z[tree]], axis=1)
    bark = np.asarray(palette[0], np.float32) * 0.4 + np.array([0.16, 0.11, 0.07], np.float32)
    sigma = TRUNK_SIGMA_M * min(max(detail, FINEST_DETAIL), 4.0)
    scales = np.tile([sigma, step * 0.6, sigma], (tree.size, 1))
    return SplatCloud.from_arrays(
        positions, scales, identity_rotations(tree.size), np.ones(tree.size), np.tile(bark, (tree.size, 1))
    )


def _palette_at(palette: np.ndarray, t: np.ndarray) -> np.ndarray:
    """[N, 3] the palette (dark to light) read at t in [0, 1], linearly between its entries."""
    palette = np.asarray(palette, dtype=np.float32).reshape(-1, 3)
    if len(palette) == 1:
        return np.broadcast_to(palette[0], (t.size, 3)).astype(np.float32)
    at = t * (len(palette) - 1)
    lo = np.clip(np.floor(at).astype(np.int64), 0, len(palette) - 2)
    f = (at - lo)[:, None]
    return palette[lo] * (1 - f) + palette[lo + 1] * f
