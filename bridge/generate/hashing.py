"""Deterministic integer hashing for procedural placement: same inputs, same numbers, anywhere.

SplitMix64's finaliser over numpy uint64 (wrapping arithmetic is exact and platform-independent),
so every machine derives identical offsets, jitters and placements from world coordinates.
"""

from __future__ import annotations

import numpy as np

_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)


def _mix(h: np.ndarray) -> np.ndarray:
    h = h ^ (h >> np.uint64(30))
    h = h * _M1
    h = h ^ (h >> np.uint64(27))
    h = h * _M2
    return h ^ (h >> np.uint64(31))


def hash_u64(*values: np.ndarray | int) -> np.ndarray:
    """Hash integer arrays (broadcast together) to uint64."""
    with np.errstate(over="ignore"):
        h = np.uint64(0x853C49E6748FEA9B)
        for v in values:
            h = _mix(h ^ (np.asarray(v).astype(np.int64).astype(np.uint64) + _GOLDEN))
        return np.asarray(h, dtype=np.uint64)


def hash_to_unit(*values: np.ndarray | int) -> np.ndarray:
    """Hash to float64 uniform in [0, 1), 53 bits."""
    return (hash_u64(*values) >> np.uint64(11)).astype(np.float64) / float(1 << 53)
