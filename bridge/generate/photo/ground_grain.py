"""Grain for the lifted photo's far ground: its long splats split along their rays.

A photo sees far ground at a grazing angle: one pixel row 50 m out covers nearly three metres of
ground, so the lift (:mod:`bridge.generate.photo.lift`) lays there a splat a few centimetres wide
and a metre or more long, pointing at the spawn. From the spawn that is the photo; walking in, it
is a field of radial streaks. Here each such splat is split along its ray into a row of shorter
ones, no longer than the continuation's own ground splats, each dressed with the grain of the
ground material its colour is nearest to. The grain's lightness is normalised over each row, so
the row's mean is the solved colour and the spawn still sees the photo; a viewer walking in sees
cobbles, planks or ripples instead of streaks.

A pure function of the tile's lifted splats (their positions, sizes and solved colours): a tile
grains its own part, with the same bytes whichever tiles were made before it.
"""

from __future__ import annotations

import numpy as np

from bridge.formats.splats import SplatCloud
from bridge.generate.photo.texture import Exemplar, synthesize

# A sub-splat's spacing along its row, in its own standard deviations: rows closed, not beaded.
SUB_SPACING_SIGMAS = 1.25
SPLIT_ABOVE = 1.5  # splats at most this many target lengths long are left whole
MAX_SUBSPLATS = 96  # per lifted splat: the farthest ground (96 m, a 2 m splat) at the finest tiles needs 71
# Seen from the spawn a row's sub-splats stack within about two pixels: each fully opaque, the row
# is an opaque bar hiding more of the rows behind than its parent's soft profile did, which the
# colour solve counted on (1.7 dB of lyra2_07's spawn). Their opacities are cut to sum to this
# over a row; seen from above, a row of many is then partly see-through to the underlay.
ROW_OPACITY_SUM = 3.2
_LUMA = np.array([0.2126, 0.7152, 0.0722], dtype=np.float32)


def long_ground(cloud: SplatCloud, target_sigma_m: float) -> np.ndarray:
    """[N] bool: the lift's ground splats (lying exactly on the plane y = 0, flat: local y the
    thinnest axis) longer along their ray (local z) than SPLIT_ABOVE x ``target_sigma_m``.
    Standing splats are thin along local z, so never qualify."""
    s = cloud.scales
    flat_on_ground = (cloud.positions[:, 1] == 0.0) & (s[:, 2] > s[:, 0]) & (s[:, 1] < s[:, 0])
    return flat_on_ground & (s[:, 2] > SPLIT_ABOVE * target_sigma_m)


def split_rows(
    parents: SplatCloud,
    spawn_xz: tuple[float, float],
    target_sigma_m: float,
    tile: tuple[int, int, float],
    exemplars: tuple[Exemplar, ...],
    seed: int,
) -> SplatCloud:
    """The sub-splats standing in ``tile`` = (ix, iz, edge_m) of the rows that replace the long
    ground splats ``parents`` (see long_ground; from this tile and its neighbours, since a row can
    cross a tile border). Each row lies along its parent's ray (the horizontal direction from
    ``spawn_xz``, as the lift laid it) with the parent's variance along it, its sub-splats
    ``target_sigma_m`` long or a little less and as wide as the parent; colours are the parent's
    times the grain of its nearest material."""
    ix, iz, edge = tile
    # A row's half-length is at most sqrt(3) of its parent's sigma (evenly spaced, many sub-splats):
    # rows that cannot reach the tile are left out before any work.
    p = parents.positions.astype(np.float64)
    gap_x = np.maximum(np.maximum(ix * edge - p[:, 0], p[:, 0] - (ix + 1) * edge), 0.0)
    gap_z = np.maximum(np.maximum(iz * edge - p[:, 2], p[:, 2] - (iz + 1) * edge), 0.0)
    parents = parents.subset(np.flatnonzero(np.hypot(gap_x, gap_z) <= 1.8 * parents.scales[:, 2]))
    if not len(parents):
        return SplatCloud.empty()
    sigma_long = parents.scales[:, 2].astype(np.float64)
    # Evenly spaced sub-splats of sigma s at spacing d = SUB_SPACING_SIGMAS * s have the row's
    # variance s^2 + d^2 (n^2 - 1) / 12; n so that s is at most the target, then s to match.
    spread = SUB_SPACING_SIGMAS**2 / 12.0
    n = np.ceil(sigma_long / target_sigma_m / np.sqrt(spread)).astype(np.int64)
    n = np.clip(n, 2, MAX_SUBSPLATS)
    sub_sigma = sigma_long / np.sqrt(1.0 + spread * (n * n - 1))
    parent = np.repeat(np.arange(len(parents)), n)
    first = np.cumsum(n) - n
    index = np.arange(parent.size) - first[parent]  # position within its row
    offset = (index - (n[parent] - 1) / 2.0) * SUB_SPACING_SIGMAS * sub_sigma[parent]
    start = parents.positions[parent].astype(np.float64)
    along = start[:, [0, 2]] - np.asarray(spawn_xz, dtype=np.float64)
    along /= np.maximum(np.linalg.norm(along, axis=1, keepdims=True), 1e-9)
    x = (start[:, 0] + along[:, 0] * offset).astype(np.float32)  # as the tile will store them
    z = (start[:, 2] + along[:, 1] * offset).astype(np.float32)
    here = (np.floor(x / edge) == ix) & (np.floor(z / edge) == iz)
    # The grain of every row with a sub-splat here, whole: each row's lightness is normalised over
    # all of it, so both tiles a row crosses give its sub-splats the same colours.
    crossing = np.zeros(len(parents), dtype=bool)
    crossing[parent[here]] = True
    rows = np.flatnonzero(crossing[parent])
    positions = np.stack([x[rows], np.zeros(rows.size, dtype=np.float32), z[rows]], axis=1)
    grain = _grain(positions, parents.colors, parent[rows], target_sigma_m, exemplars, seed)
    keep = here[rows]
    parent = parent[rows][keep]
    scales = parents.scales[parent].copy()
    scales[:, 2] = sub_sigma[parent]
    return SplatCloud.from_arrays(
        positions[keep],
        scales,
        parents.rotations[parent],
        parents.opacities[parent] * np.minimum(1.0, ROW_OPACITY_SUM / n[parent]),
        np.clip(parents.colors[parent] * grain[keep], 0.0, 1.0),
    )


def _grain(
    positions: np.ndarray,
    parent_colours: np.ndarray,
    parent: np.ndarray,
    footprint_m: float,
    exemplars: tuple[Exemplar, ...],
    seed: int,
) -> np.ndarray:
    """[N, 1] lightness factors, mean 1 over each parent's row: the grain of the material whose mean
    colour is nearest the parent's, synthesised at each sub-splat's world position."""
    if not exemplars:  # no ground material read: the rows keep their parents' colours
        return np.ones((len(positions), 1), dtype=np.float32)
    means = np.stack([e.mean for e in exemplars])
    nearest = np.argmin(np.linalg.norm(parent_colours[:, None, :] - means[None], axis=2), axis=1)[parent]
    factor = np.ones(len(positions), dtype=np.float64)
    for m, exemplar in enumerate(exemplars):
        at = np.flatnonzero(nearest == m)
        if at.size:
            # The same cells as the continuation's ground of this material (salt = m), so the
            # grain carries on where the photo's ground hands over.
            texture = synthesize(exemplar, positions[at, 0], positions[at, 2], footprint_m, seed, salt=m)
            factor[at] = (texture @ _LUMA) / max(float(exemplar.mean @ _LUMA), 1e-3)
    row_mean = np.bincount(parent, factor, minlength=len(parent_colours)) / np.maximum(
        np.bincount(parent, minlength=len(parent_colours)), 1
    )
    return (factor / np.maximum(row_mean[parent], 1e-6))[:, None].astype(np.float32)
