"""Where things stand up from the ground: one planar footing per run of image columns.

Below the horizon a pixel is either ground or part of something standing on the ground (a wall,
a barrel, a post). In each column, what stands is taken to stand on one contact point, the lowest
of its pixels, and to rise from there as a vertical surface (after "Automatic Photo Pop-up",
Hoiem et al. 2005, and the ground/wall boundary of single-view indoor layout methods).

The cue is the direction of texture. Ground seen in perspective is foreshortened, its edges run
across the image or towards the vanishing point; things standing up show vertical edges (posts,
timbers, staves, window jambs). A dynamic programme over columns picks each column's contact
row: it gains for every upright pixel it stands up, pays for every flat one, and pays for jumps
between neighbouring columns. Each run of columns between jumps is then one plane: its feet are
fitted with one straight line on the ground, so a wall along a street is one wall, not a comb.

A second cue holds where the photo shows far ground through haze
(:mod:`bridge.generate.photo.haze`): something that rises above the horizon and, below it, hides
the far ground its neighbours show is standing in front of that ground, down to where the far
ground ends (the crest the near ground rises to), whatever the direction of its texture (the
decks and balconies of a fortress's undercarriage run across, as the ground's lines do). The
ground materials keep it out of the ground's squares; the contact line does not use it yet:
standing lyra2_03's fortress up gives its world facades, and so a town instead of open land.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from bridge.world.camera import Camera

COLUMN_STEP = 4  # pixels per column group the contact line is solved on
ROW_STEP = 2
_TENSOR_SIGMA = 3.0  # px: the neighbourhood the texture direction is read over
_MIN_CONTRAST = 0.04  # gradient magnitude below which a pixel says nothing (plain surfaces)
_BIAS = 0.1  # evidence a pixel needs to be worth standing up: weak cues leave the ground alone
_JUMP_COST = 3.0  # per row of contact change between neighbouring column groups ...
_JUMP_CAP = 600.0  # ... up to this: an occlusion edge between objects costs no more than this
_RUN_JUMP = 8.0  # rows: a larger step between neighbouring columns ends a run (one surface)
_NEAR_FRACTION = 0.5  # of the lift radius: what stands farther out is left to the backdrop
_MIN_RUN_PX = 32  # narrower runs are left lying (slivers are more often texture than things)
_MERGE_TOLERANCE = 0.08  # rms distance of feet from one line, as a fraction of their distance
_MIN_RISE_ROWS = 6  # contacts fewer rows below the column's first ground row are left lying
_SOLID_BAND = 0.1  # of the photo's height above the horizon, all of it not sky: something rises there


def upright_evidence(image: np.ndarray, horizon_v: float, vanishing_u: float) -> np.ndarray:
    """[h, w] in [-1, 1]: > 0 where the texture says "standing up", < 0 where it says "lying flat".

    From the local structure tensor: the gradient energy across vertical edges (along x), less
    the larger of the energy across horizontal edges and across edges running towards the
    vanishing point; under the vanishing point the two directions coincide and the cue says nothing.
    """
    grey = ndimage.gaussian_filter(image.mean(axis=2), 1.0)
    gx = ndimage.sobel(grey, axis=1) / 8.0
    gy = ndimage.sobel(grey, axis=0) / 8.0
    jxx = ndimage.gaussian_filter(gx * gx, _TENSOR_SIGMA)
    jyy = ndimage.gaussian_filter(gy * gy, _TENSOR_SIGMA)
    jxy = ndimage.gaussian_filter(gx * gy, _TENSOR_SIGMA)
    energy = jxx + jyy
    h, w = grey.shape
    rows = np.arange(h, dtype=np.float64)[:, None] + 0.5
    cols = np.arange(w, dtype=np.float64)[None, :] + 0.5
    # n: the unit normal of the line through the pixel and the vanishing point.
    to_vp_x, to_vp_y = vanishing_u - cols, horizon_v - rows
    length = np.maximum(np.hypot(to_vp_x, to_vp_y), 1e-6)
    nx, ny = -to_vp_y / length, to_vp_x / length
    across_vp = nx * nx * jxx + 2 * nx * ny * jxy + ny * ny * jyy
    standing = (jxx - np.maximum(jyy, across_vp)) / np.maximum(energy, 1e-12)
    confidence = np.clip(np.sqrt(energy) / _MIN_CONTRAST, 0.0, 1.0)
    return (standing * confidence).astype(np.float32)


def contact_rows(evidence: np.ndarray, first_row: np.ndarray, not_sky: np.ndarray) -> np.ndarray:
    """[w] contact row per column: the rows from ``first_row`` (where the column's ground reaches
    the lift radius) down to it stand up. Solved on groups of COLUMN_STEP columns and every
    ROW_STEP-th row, then spread to every column."""
    h, w = evidence.shape
    groups = w // COLUMN_STEP
    cols = groups * COLUMN_STEP
    gain = (evidence - _BIAS) * not_sky
    gain = gain[:, :cols].reshape(h, groups, COLUMN_STEP).sum(axis=2)  # [h, groups]
    rows = np.arange(0, h + 1, ROW_STEP)  # candidate contact rows; h is the bottom edge
    lowest = np.ceil(first_row[:cols].reshape(groups, COLUMN_STEP).max(axis=1) / ROW_STEP) * ROW_STEP
    cumulative = np.concatenate([np.zeros((1, groups)), np.cumsum(gain, axis=0)])  # [h + 1, groups]
    start = cumulative[np.clip(lowest.astype(np.int64), 0, h), np.arange(groups)]
    score = (cumulative[rows] - start[None, :]).T  # [groups, candidates]
    score = np.where(rows[None, :] >= lowest[:, None], score, -np.inf)
    jump = np.abs(rows[:, None] - rows[None, :]).astype(np.float64)
    penalty = np.minimum(jump * _JUMP_COST, _JUMP_CAP)
    best = score[0].copy()
    back = np.zeros((groups, rows.size), dtype=np.int64)
    for g in range(1, groups):
        total = best[None, :] - penalty  # [to, from]
        back[g] = np.argmax(total, axis=1)
        best = total[np.arange(rows.size), back[g]] + score[g]
    choice = np.zeros(groups, dtype=np.int64)
    choice[-1] = int(np.argmax(best))
    for g in range(groups - 1, 0, -1):
        choice[g - 1] = back[g, choice[g]]
    per_group = np.maximum(rows[choice].astype(np.float64), lowest)
    per_column = np.repeat(per_group, COLUMN_STEP)
    return np.concatenate([per_column, np.full(w - cols, per_column[-1])]) if w > cols else per_column


def foot_distances(camera: Camera, contact: np.ndarray, first_row: np.ndarray, lift_radius_m: float) -> np.ndarray:
    """[w] per column, how far out over the ground what stands in it stands (inf: nothing does).
    Runs of standing columns are each fitted with one straight foot line on the ground."""
    w = contact.size
    standing = contact >= first_row + _MIN_RISE_ROWS
    cols = np.arange(w) + 0.5
    rays = camera.rays_through(cols, contact)
    down = -rays[:, 1]
    horizontal = np.hypot(rays[:, 0], rays[:, 2])
    with np.errstate(divide="ignore"):
        reach = np.where(down > 1e-6, camera.position[1] / down * horizontal, np.inf)
    # Far feet stay on the backdrop: standing there would add little parallax and risk a lot.
    standing &= reach < _NEAR_FRACTION * lift_radius_m
    # The column's bearing on the ground, and its foot there.
    azimuth = np.arctan2(rays[:, 0], rays[:, 2])
    feet = np.stack([np.sin(azimuth), np.cos(azimuth)], axis=1) * np.where(standing, reach, 0.0)[:, None]
    breaks = np.abs(np.diff(contact)) > _RUN_JUMP
    run_id = np.concatenate([[0], np.cumsum(breaks | ~standing[1:] | ~standing[:-1])])
    runs = [np.flatnonzero((run_id == run) & standing) for run in np.unique(run_id[standing])]
    foot_m = np.full(w, np.inf)
    for members in _merge_runs(runs, feet, reach):
        if members.size < _MIN_RUN_PX:
            continue
        centre, normal = _line_fit(feet[members])
        bearing = np.stack([np.sin(azimuth[members]), np.cos(azimuth[members])], axis=1)
        # Where each column's bearing meets the line: s * bearing . normal = centre . normal.
        facing = bearing @ normal
        distance = np.where(np.abs(facing) > 0.05, (centre @ normal) / np.where(facing == 0, 1.0, facing), -1.0)
        fitted = (distance > 0) & np.isfinite(distance)
        foot_m[members] = np.where(fitted, np.clip(distance, reach[members].min(), lift_radius_m), reach[members])
    return foot_m


def _line_fit(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(centroid, unit normal) of the total-least-squares line through [n, 2] points."""
    centre = points.mean(axis=0)
    _, _, axes = np.linalg.svd(points - centre, full_matrices=False)
    return centre, np.array([-axes[0][1], axes[0][0]])


def _merge_runs(runs: list[np.ndarray], feet: np.ndarray, reach: np.ndarray) -> list[np.ndarray]:
    """Neighbouring runs whose feet one line fits (within _MERGE_TOLERANCE of their distance) are
    one surface: the contact line's small steps (a door, a shop front) do not cut a wall in two."""
    merged: list[np.ndarray] = []
    for run in runs:
        if merged and run[0] == merged[-1][-1] + 1:
            joined = np.concatenate([merged[-1], run])
            centre, normal = _line_fit(feet[joined])
            residual = np.abs((feet[joined] - centre) @ normal)
            if np.sqrt(np.mean(residual**2)) <= _MERGE_TOLERANCE * np.mean(reach[joined]):
                merged[-1] = joined
                continue
        merged.append(run)
    return merged


def hiding_far_ground(far: np.ndarray, sky: np.ndarray, horizon_v: float, first_row: np.ndarray) -> np.ndarray:
    """[h, w] bool: the pixels of what stands in front of the far ground. A column hides it where
    it rises solid above the horizon (no sky in the band just above it) and shows no far ground
    below, while columns on both sides do: its pixels from ``first_row`` down to the crest, the
    lowest far-ground row read across from those columns, stand. Far ground and what hides it
    count only as wide as a standing run: specks of haze and slivers between them say nothing."""
    h, w = far.shape
    far = _wide(far)
    shows_far = far.any(axis=0)
    if not shows_far.any():
        return np.zeros((h, w), dtype=bool)
    top, horizon = max(int(horizon_v - _SOLID_BAND * h), 0), max(int(horizon_v), 0)
    solid = ~sky[top:horizon].any(axis=0) if horizon > top else np.zeros(w, dtype=bool)
    columns = np.arange(w)
    beside = (columns > np.argmax(shows_far)) & (columns < w - 1 - np.argmax(shows_far[::-1]))
    hides = _wide((solid & ~shows_far & beside)[None, :])[0]
    lowest = h - 1 - np.argmax(far[::-1], axis=0)
    crest = np.interp(columns, np.flatnonzero(shows_far), lowest[shows_far])
    rows = np.arange(h)[:, None]
    return hides[None, :] & (rows >= first_row[None, :]) & (rows <= crest[None, :])


def _wide(mask: np.ndarray) -> np.ndarray:
    """``mask`` without its connected regions narrower than _MIN_RUN_PX columns."""
    labels, _ = ndimage.label(mask)
    wide = [i + 1 for i, box in enumerate(ndimage.find_objects(labels)) if box[1].stop - box[1].start >= _MIN_RUN_PX]
    return np.isin(labels, wide)
