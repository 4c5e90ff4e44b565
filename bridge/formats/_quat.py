"""Quaternion helpers shared by the format modules (vectorised numpy, float64).

Order is stated per function: SPZ and glTF use x, y, z, w; ``SplatCloud`` uses w, x, y, z.
Rotation matrices act on column vectors (v' = R v), as in glTF and in 3DGS.
"""

from __future__ import annotations

import numpy as np


def matrix_from_xyzw(q: np.ndarray) -> np.ndarray:
    """[N, 4] unit quaternions (x, y, z, w) -> [N, 3, 3] rotation matrices."""
    x, y, z, w = (q[:, i] for i in range(4))
    return np.stack(
        [
            np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], axis=1),
            np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], axis=1),
            np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], axis=1),
        ],
        axis=1,
    )


def xyzw_from_matrix(m: np.ndarray) -> np.ndarray:
    """[N, 3, 3] rotation matrices -> [N, 4] quaternions (x, y, z, w), by the largest-diagonal branch
    (numerically safe for every rotation, 180-degree turns included)."""
    n = m.shape[0]
    q = np.zeros((n, 4))
    trace = m[:, 0, 0] + m[:, 1, 1] + m[:, 2, 2]
    cases = np.stack([trace, m[:, 0, 0], m[:, 1, 1], m[:, 2, 2]], axis=1).argmax(axis=1)
    for case in range(4):
        sel = cases == case
        if not sel.any():
            continue
        r = m[sel]
        v = [np.zeros(int(sel.sum())) for _ in range(4)]
        if case == 0:
            s = np.sqrt(1.0 + r[:, 0, 0] + r[:, 1, 1] + r[:, 2, 2]) * 2
            v = [
                (r[:, 2, 1] - r[:, 1, 2]) / s,
                (r[:, 0, 2] - r[:, 2, 0]) / s,
                (r[:, 1, 0] - r[:, 0, 1]) / s,
                s / 4,
            ]
        else:
            i = case - 1
            j, k = (i + 1) % 3, (i + 2) % 3
            s = np.sqrt(1.0 + r[:, i, i] - r[:, j, j] - r[:, k, k]) * 2
            v[i] = s / 4
            v[j] = (r[:, j, i] + r[:, i, j]) / s
            v[k] = (r[:, k, i] + r[:, i, k]) / s
            v[3] = (r[:, k, j] - r[:, j, k]) / s
        q[sel] = np.stack(v, axis=1)
    return q


def normalised_xyzw(rotations_wxyz: np.ndarray) -> np.ndarray:
    """``SplatCloud`` rotations (w, x, y, z) -> unit (x, y, z, w); a zero quaternion becomes identity."""
    q = np.asarray(rotations_wxyz, dtype=np.float64)[:, [1, 2, 3, 0]]
    norm = np.linalg.norm(q, axis=1, keepdims=True)
    identity = np.array([0.0, 0.0, 0.0, 1.0])
    return np.where(norm > 1e-12, q / np.maximum(norm, 1e-12), identity)


def wxyz_from_matrix(m: np.ndarray) -> np.ndarray:
    return xyzw_from_matrix(m)[:, [3, 0, 1, 2]]


def frame_from_axis(axis: np.ndarray, up: np.ndarray | None = None) -> np.ndarray:
    """[N, 3] unit directions -> [N, 3, 3] rotations whose local +z is the direction and whose
    local +x is horizontal (perpendicular to ``up``, default +y)."""
    up = np.array([0.0, 1.0, 0.0]) if up is None else up
    z = axis / np.linalg.norm(axis, axis=1, keepdims=True)
    x = np.cross(up, z)
    bad = np.linalg.norm(x, axis=1) < 1e-9
    x[bad] = np.cross(np.array([1.0, 0.0, 0.0]), z[bad])
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    y = np.cross(z, x)
    return np.stack([x, y, z], axis=2)
