"""Dressing from the photo: facade and roof colours for the layout's buildings.

A facade is synthesised from a facade the photo shows, rectified to its plane
(:class:`~bridge.generate.photo.scene.FacadeSample`), by whole storeys and bays: the wall is cut
into a grid of the sample's window periods (bays stretched a little so a whole number fits the
wall), and each cell copies a cell of the sample. Cells of one storey copy one storey of the
sample, and neighbouring bays copy neighbouring bays, so windows stay in rows and columns and the
ground floor stays a ground floor. Which cells is a hash of the building, so every tile agrees.
Sampling reads a box-filtered level of the sample matching the splat spacing: far walls are the
sample's average, never aliased.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from bridge.generate.hashing import hash_to_unit
from bridge.generate.photo.scene import FacadeSample

FALLBACK_CELL_M = (3.2, 3.0)  # storey and bay of a sample with no measured rhythm
TINT = 0.10  # per-building brightness and hue variation, a fraction


@dataclass(frozen=True)
class FacadeSource:
    """A facade sample prepared for synthesis: its box-filtered levels and its cell grid."""

    levels: tuple[np.ndarray, ...]  # level i: 2^i x 2^i texels averaged
    metres_per_px: float
    storey_m: float
    bay_m: float
    storeys: int  # whole storeys in the sample
    bays: int  # whole bays in the sample

    @classmethod
    def of(cls, sample: FacadeSample) -> FacadeSource:
        h, w = sample.texture.shape[:2]
        # A cell never reaches past the sample: one shorter or narrower than a storey or bay is one cell.
        storey = min(sample.storey_m if sample.storey_m > 0 else FALLBACK_CELL_M[0], h * sample.metres_per_px)
        bay = min(sample.bay_m if sample.bay_m > 0 else FALLBACK_CELL_M[1], w * sample.metres_per_px)
        levels = [np.asarray(sample.texture, dtype=np.float32)]
        while min(levels[-1].shape[:2]) >= 4:
            t = levels[-1]
            hh, ww = t.shape[0] // 2 * 2, t.shape[1] // 2 * 2
            levels.append(t[:hh, :ww].reshape(hh // 2, 2, ww // 2, 2, 3).mean(axis=(1, 3)))
        m = sample.metres_per_px
        return cls(
            levels=tuple(levels),
            metres_per_px=m,
            storey_m=storey,
            bay_m=bay,
            storeys=max(1, math.floor(h * m / storey)),
            bays=max(1, math.floor(w * m / bay)),
        )


def facade_colours(
    source: FacadeSource,
    s_m: np.ndarray,
    y_m: np.ndarray,
    wall_width_m: np.ndarray,
    ident: np.ndarray,
    wall: np.ndarray,
    spacing_m: float,
) -> np.ndarray:
    """[N, 3] colours at points of walls: ``s_m`` metres from the wall's left end (seen from the
    front), ``y_m`` above its foot; ``ident`` the building's hash, ``wall`` which of its walls."""
    bays_on_wall = np.maximum(1, np.round(wall_width_m / source.bay_m))
    bay_here = wall_width_m / bays_on_wall  # the sample's bay, stretched to fit the wall
    b = np.minimum(np.floor(s_m / bay_here), bays_on_wall - 1)
    across_bay = (s_m - b * bay_here) / bay_here * source.bay_m
    start = np.floor(hash_to_unit(ident, wall, 501) * source.bays)
    src_bay = np.mod(start + b, source.bays)

    storey = np.floor(y_m / source.storey_m)
    within = y_m - storey * source.storey_m
    if source.storeys > 1:
        # The ground floor copies the sample's; each upper storey one of its upper storeys.
        upper = 1 + np.floor(hash_to_unit(ident, storey, 502) * (source.storeys - 1))
        src_storey = np.where(storey <= 0, 0.0, upper)
    else:
        src_storey = np.zeros_like(storey)

    level = int(np.clip(math.floor(math.log2(max(spacing_m / source.metres_per_px, 1.0))), 0, len(source.levels) - 1))
    texture = source.levels[level]
    texel = source.metres_per_px * (1 << level)
    th, tw = texture.shape[:2]
    col = ((src_bay * source.bay_m + across_bay) / texel).astype(np.int64)
    row = (th - 1 - (src_storey * source.storey_m + within) / texel).astype(np.int64)
    colours = texture[np.clip(row, 0, th - 1), np.clip(col, 0, tw - 1)]
    return colours * _tint(ident)


def roof_colours(roof: np.ndarray, along_m: np.ndarray, up_slope_m: np.ndarray, ident: np.ndarray) -> np.ndarray:
    """[N, 3] a tiled roof in the photo's roof colour: courses every 0.35 m, tiles staggered."""
    course = np.floor(up_slope_m / 0.35)
    tile = np.floor(along_m / 0.3 + 0.5 * np.mod(course, 2))
    shade = 0.82 + 0.12 * (np.mod(up_slope_m, 0.35) / 0.35) + 0.1 * (hash_to_unit(ident, course, tile, 503) - 0.5)
    return np.asarray(roof, dtype=np.float32)[None, :] * shade[:, None] * _tint(ident)


def _tint(ident: np.ndarray) -> np.ndarray:
    """[N, 3] per-building multipliers around 1: no two neighbours quite the same paint."""
    brightness = 1.0 + TINT * (hash_to_unit(ident, 504) - 0.5) * 2
    warm = TINT * 0.5 * (hash_to_unit(ident, 505) - 0.5) * 2
    return np.stack([brightness * (1 + warm), brightness, brightness * (1 - warm)], axis=-1).astype(np.float32)
