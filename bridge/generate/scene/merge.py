"""Coarser levels of detail by merging splats, never by dropping them.

All splats whose centres share a cell of a regular grid become one Gaussian that matches their
opacity-weighted mean and covariance (moment matching, as the hierarchical 3DGS of Kerbl et al.
2024 merges its interior nodes): the merged splat covers what they covered, in their mean colour.
Its opacity keeps the coverage: the members' summed opacity-area over the merged area, never
more than they reached together (1 - prod(1 - alpha)).
"""

from __future__ import annotations

import numpy as np

from bridge.formats._quat import matrix_from_xyzw, normalised_xyzw, wxyz_from_matrix
from bridge.formats.splats import SplatCloud

_MIN_VARIANCE = 1e-12
_MAX_ALPHA = 0.999  # keeps log1p(-alpha) finite


def merge_cells(cloud: SplatCloud, cell_m: float) -> SplatCloud:
    """One splat per occupied ``cell_m`` cube, in the cells' (x, y, z) index order."""
    if len(cloud) == 0:
        return cloud
    cells = np.floor(cloud.positions.astype(np.float64) / cell_m).astype(np.int64)
    order = np.lexsort((cells[:, 2], cells[:, 1], cells[:, 0]))
    cells = cells[order]
    starts = np.flatnonzero(np.r_[True, np.any(cells[1:] != cells[:-1], axis=1)])
    if len(starts) == len(cloud):  # every splat alone in its cell: nothing to merge
        return cloud.subset(order)

    pos = cloud.positions[order].astype(np.float64)
    scales = np.maximum(cloud.scales[order].astype(np.float64), 1e-9)
    alpha = np.clip(cloud.opacities[order].astype(np.float64), 0.0, _MAX_ALPHA)
    rot = matrix_from_xyzw(normalised_xyzw(cloud.rotations[order]))
    area = np.prod(scales, axis=1) ** (2.0 / 3.0)
    weight = np.maximum(alpha * area, 1e-30)

    def total(values: np.ndarray) -> np.ndarray:
        return np.add.reduceat(values, starts, axis=0)

    weight_sum = total(weight)
    counts = np.diff(np.r_[starts, len(cloud)])
    mean = total(pos * weight[:, None]) / weight_sum[:, None]
    offset = pos - np.repeat(mean, counts, axis=0)
    own = np.einsum("nij,nj,nkj->nik", rot, scales**2, rot)  # R diag(s^2) R^T
    spread = own + offset[:, :, None] * offset[:, None, :]
    covariance = total(spread * weight[:, None, None]) / weight_sum[:, None, None]
    variances, axes = np.linalg.eigh(covariance)
    # eigh's axes may form a reflection; a rotation needs det +1 (flip one axis, same ellipsoid).
    axes[:, :, 0] *= np.sign(np.linalg.det(axes))[:, None]
    merged_scales = np.sqrt(np.maximum(variances, _MIN_VARIANCE))
    merged_area = np.prod(merged_scales, axis=1) ** (2.0 / 3.0)
    together = -np.expm1(total(np.log1p(-alpha)))
    opacity = np.minimum(weight_sum / merged_area, together)
    colour = total(cloud.colors[order].astype(np.float64) * weight[:, None]) / weight_sum[:, None]
    return SplatCloud.from_arrays(mean, merged_scales, wxyz_from_matrix(axes), opacity, colour)
