"""Smooth world-anchored noise: hashed values on a square lattice, interpolated with a quintic fade.

The one noise behind the photo generator's fields (terrain relief, where each ground material
lies). Any point's value depends on its coordinates and the salt only, so tiles sampling it at
any resolution agree exactly where they meet.
"""

from __future__ import annotations

import math

import numpy as np

from bridge.generate.hashing import hash_to_unit


def _fade(t: np.ndarray) -> np.ndarray:
    """Quintic: continuous slope and curvature across lattice lines."""
    return t * t * t * (t * (t * 6 - 15) + 10)


def value_noise(x: np.ndarray, z: np.ndarray, cell_m: float, *salt: int, angle: float = 0.0) -> np.ndarray:
    """Noise in [0, 1] at world (x, z), on a lattice of ``cell_m`` turned by ``angle`` radians
    (turning each octave's lattice keeps their grids from lining up)."""
    u, v = np.asarray(x, dtype=np.float64), np.asarray(z, dtype=np.float64)
    if angle:
        c, s = math.cos(angle), math.sin(angle)
        u, v = u * c + v * s, v * c - u * s
    u, v = u / cell_m, v / cell_m
    i, j = np.floor(u), np.floor(v)
    su, sv = _fade(u - i), _fade(v - j)
    i, j = i.astype(np.int64), j.astype(np.int64)
    if i.size == 0:
        return np.zeros(i.shape)
    i_lo, j_lo = int(i.min()), int(j.min())
    box = (int(i.max()) - i_lo + 2, int(j.max()) - j_lo + 2)
    if box[0] * box[1] <= 4 * i.size:
        # Points close together (a tile's): hash each lattice point they touch once, not four times a point.
        lattice = hash_to_unit(*np.meshgrid(np.arange(box[0]) + i_lo, np.arange(box[1]) + j_lo, indexing="ij"), *salt)
        i, j = i - i_lo, j - j_lo

        def corner(di: int, dj: int) -> np.ndarray:
            return lattice[i + di, j + dj]

    else:

        def corner(di: int, dj: int) -> np.ndarray:
            return hash_to_unit(i + di, j + dj, *salt)

    top = corner(0, 0) * (1 - su) + corner(1, 0) * su
    bottom = corner(0, 1) * (1 - su) + corner(1, 1) * su
    return top * (1 - sv) + bottom * sv
