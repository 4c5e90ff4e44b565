"""Facades rectified from the photo to their own planes, and their window rhythm.

Each run of columns the analysis stood up (one surface per run, see
:mod:`bridge.generate.photo.uprights`) that reads as built is a facade plane: its feet on the
ground, fitted with one line, give the facade's horizontal direction; the photo is resampled on
that plane at square texels, so the facade looks as if seen straight on ("Tour into the
Picture" rectification). Where no such surface shows but much of the photo is built (a city on
the backdrop), a crop of the built region at the backdrop's scale stands in.

Rhythm: storeys repeat as rows of horizontal edges (sills, lintels, floor bands), bays as columns
of vertical edges (jambs, timbers); the period is the first strong peak of the autocorrelation of
the rectified texture's edge profile, within the range real buildings span.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from bridge.generate.photo.analysis import KIND_UPRIGHT, PhotoAnalysis
from bridge.generate.photo.scene import LAYER_BUILT, FacadeSample

# A facade is read at the photo's own scale down to 4 cm (the working image's pixels on a wall
# 10-30 m away are 2-6 cm): at 10 cm, the floor until 0.9.1, a street front's windows and
# timbers were averaged away before any splat could show them.
MIN_TEXEL_M, MAX_TEXEL_M = 0.04, 0.2
MAX_TEXTURE_PX = 256  # texels per side: a coarser texel is used for larger facades
MAX_FACADES = 3
STOREY_RANGE_M = (2.4, 5.0)
BAY_RANGE_M = (1.4, 6.0)
_MIN_RUN_PX = 24  # narrower runs of built columns are not worth a facade
_BUILT_SHARE = 0.5  # of a column's upright pixels that must read as built
_RAMP_PX = 12  # the analysis bends each surface back over this many columns at its ends
_NEAR = 0.6  # of the lift radius: farther columns are where a surface bends back to the backdrop
_REACH_STEP = 0.03  # relative change in standing distance between neighbouring columns that ends a run
_STRAIGHT = 0.03  # of their distance: how far a facade's feet may stray from one straight line
_CLEAR_PEAK = 0.15  # autocorrelation a period's peak must rise above the valley before it
_BACKDROP_BUILT_SHARE = 0.15  # of the non-sky pixels: enough built for a backdrop crop


def facade_samples(analysis: PhotoAnalysis, layers: np.ndarray, reach: np.ndarray) -> tuple[FacadeSample, ...]:
    """Up to MAX_FACADES facades, best first; ``reach`` [h, w] is how far out over the ground
    each pixel's point lies. Candidates are the rectified surfaces, the facades the photo shows
    nearly straight on (frontal crops), and, failing both, a crop of the built region; they are
    ranked by how sharp and how straight-on they read (a smeared rectification ranks low)."""
    scored = [_rectified(analysis, layers, run) for run in _facade_runs(analysis, layers, reach)]
    found = [pair[0] for pair in scored if pair is not None] + frontal_crops(analysis, layers)
    # Sky the photo's sky mask missed (a cloud behind rigging, haze behind a roof) would be
    # repeated down every street: a sample with much of it is not a facade.
    found = [sample for sample in found if _skyish_share(sample.texture) <= _MAX_SKYISH]
    if not found:
        crop = _backdrop_crop(analysis, layers)
        found = [crop[0]] if crop is not None else []
    scores = [_legibility(sample.texture) for sample in found]
    order = np.argsort(-np.array(scores), kind="stable")
    # Far less legible than the best is a smear or a skewed view: better the best one twice.
    return tuple(found[i] for i in order[:MAX_FACADES] if scores[i] >= _LEGIBLE_SHARE * scores[order[0]])


def _skyish_share(texture: np.ndarray) -> float:
    """Share of a sample's texels that look like open sky: bright, blue or grey, and smooth
    (few sharp edges nearby), the cues analysis.sky_regions reads, without its tie to the top."""
    brightness = texture.max(axis=2)
    saturation = brightness - texture.min(axis=2)
    blue_or_grey = (texture[..., 2] >= texture[..., 0] - 0.02) | (saturation < 0.15)
    grey = ndimage.gaussian_filter(texture.mean(axis=2), 1.0)
    sharp = np.hypot(ndimage.sobel(grey, axis=0), ndimage.sobel(grey, axis=1)) > 0.4
    smooth = ndimage.gaussian_filter(sharp.astype(np.float32), 2.0) < 0.1
    return float(((brightness > 0.6) & blue_or_grey & smooth).mean())


def _legibility(texture: np.ndarray) -> float:
    """How well a sample shows a facade: edge energy that runs straight across or up (windows,
    storeys, timbers), times its size. Smears and skewed views score low."""
    grey = texture.mean(axis=2)
    if min(grey.shape) < 8:
        return 0.0
    gx, gy = ndimage.sobel(grey, axis=1), ndimage.sobel(grey, axis=0)
    energy = gx * gx + gy * gy
    straight = float(np.abs(gx * gx - gy * gy).sum() / max(float(energy.sum()), 1e-12))
    balance = _balance(gx, gy)
    return straight * float(np.sqrt(balance)) * float(np.sqrt(energy).mean()) * float(np.sqrt(grey.size))


def edge_balance(texture: np.ndarray) -> float:
    """Edge energy across over edge energy up, or the other way round (at most 1)."""
    grey = np.asarray(texture, np.float64).mean(axis=2)
    return _balance(ndimage.sobel(grey, axis=1), ndimage.sobel(grey, axis=0))


def _balance(gx: np.ndarray, gy: np.ndarray) -> float:
    # A facade has edges both across (sills, floors) and up (jambs, timbers); a smear has one kind.
    across, up = float((gy * gy).sum()), float((gx * gx).sum())
    return min(across, up) / max(across, up, 1e-12)


_CROP_SIZES = ((64, 64), (96, 72), (128, 96), (160, 112))  # (columns, rows) at working resolution
_CROP_STRIDE = 8
_CROP_BUILT = 0.9  # of a frontal crop's pixels that must read as built
_CROP_SKY = 0.002  # of a frontal crop's pixels that may be sky: synthesis repeats every pixel of a sample
_CROP_OVERLAP = 0.15  # two crops may share at most this much of the smaller one
_LEGIBLE_SHARE = 0.5  # of the best sample's legibility that another must reach to be kept
_MAX_SKYISH = 0.05  # of a sample's texels that may look like open sky
_MIN_FRONTAL_TEXEL_M = 0.05  # a crop spans at least a few metres (its depth may read too near)
_MAX_RECTIFIED_STRETCH = 2.5  # texels per photo column a rectified facade may draw one column over
_STOREY_M = 3.2  # a typical storey, for the scale of a crop whose storeys repeat


def frontal_crops(analysis: PhotoAnalysis, layers: np.ndarray, count: int = 2) -> list[FacadeSample]:
    """Windows of the photo that show a facade nearly straight on (built through and through,
    their edges running across and up rather than towards the vanishing point), sharpest and
    largest first, at the scale of their depth (metres per pixel = distance / fx)."""
    grey = analysis.image.mean(axis=2)
    gx, gy = ndimage.sobel(grey, axis=1), ndimage.sobel(grey, axis=0)
    straight = np.abs(gx * gx - gy * gy)
    built = (layers == LAYER_BUILT).astype(np.float64)
    sky = analysis.sky.astype(np.float64)
    h, w = grey.shape
    candidates = []  # per crop size: [k, 5] (score, row, col, rows, cols), row-major
    for cw, ch in _CROP_SIZES:
        if cw > w or ch > h:
            continue
        built_share = _window_sums(built, ch, cw)[::_CROP_STRIDE, ::_CROP_STRIDE] / (cw * ch)
        sky_share = _window_sums(sky, ch, cw)[::_CROP_STRIDE, ::_CROP_STRIDE] / (cw * ch)
        edges = _window_sums(straight, ch, cw)[::_CROP_STRIDE, ::_CROP_STRIDE] / (cw * ch)
        score = np.where((built_share >= _CROP_BUILT) & (sky_share <= _CROP_SKY), edges * np.sqrt(cw * ch), 0.0)
        r, c = np.nonzero(score > 0)
        candidates.append(
            np.stack([score[r, c], r * _CROP_STRIDE, c * _CROP_STRIDE, np.full(r.size, ch), np.full(r.size, cw)], 1)
        )
    table = np.concatenate(candidates) if candidates else np.zeros((0, 5))
    table = table[np.argsort(-table[:, 0], kind="stable")]  # best first; ties keep their order
    chosen: list[tuple[int, int, int, int]] = []
    free = np.ones(len(table), dtype=bool)  # not overlapping anything chosen so far
    while len(chosen) < count and free.any():
        pick = table[int(np.argmax(free)), 1:].astype(np.int64)
        chosen.append((int(pick[0]), int(pick[1]), int(pick[2]), int(pick[3])))
        free &= _overlaps(table[:, 1:], pick) < _CROP_OVERLAP
    samples = []
    for r, c, ch, cw in chosen:
        depth = analysis.depth[r : r + ch, c : c + cw]
        finite = depth[np.isfinite(depth)]
        if finite.size == 0:
            continue
        texel = max(float(np.median(finite)) / analysis.camera.intrinsics.fx, _MIN_FRONTAL_TEXEL_M)
        texture = analysis.image[r : r + ch, c : c + cw].astype(np.float32)
        storey, bay, _ = rhythm(texture, texel)
        if storey > 0:
            # A single photo's depth is a guess; a storey is about 3.2 m: let the windows set the scale.
            rescale = float(np.clip(_STOREY_M / storey, 0.5, 2.0))
            texel, storey, bay = texel * rescale, storey * rescale, bay * rescale
        samples.append(FacadeSample(texture, texel, storey, bay))
    return samples


def _window_sums(values: np.ndarray, rows: int, cols: int) -> np.ndarray:
    """[h - rows + 1, w - cols + 1] sums of ``values`` over every window (an integral image)."""
    total = np.pad(np.cumsum(np.cumsum(values, axis=0), axis=1), ((1, 0), (1, 0)))
    return total[rows:, cols:] - total[:-rows, cols:] - total[rows:, :-cols] + total[:-rows, :-cols]


def _overlaps(windows: np.ndarray, one: np.ndarray) -> np.ndarray:
    """[k] intersection over the smaller area of each (row, col, rows, cols) window with ``one``."""
    rows = np.maximum(0, np.minimum(windows[:, 0] + windows[:, 2], one[0] + one[2]) - np.maximum(windows[:, 0], one[0]))
    cols = np.maximum(0, np.minimum(windows[:, 1] + windows[:, 3], one[1] + one[3]) - np.maximum(windows[:, 1], one[1]))
    return rows * cols / np.minimum(windows[:, 2] * windows[:, 3], one[2] * one[3])


def _facade_runs(analysis: PhotoAnalysis, layers: np.ndarray, reach: np.ndarray) -> list[np.ndarray]:
    """Runs of neighbouring columns whose standing pixels are mostly built, on one surface."""
    upright = analysis.kind == KIND_UPRIGHT
    count = upright.sum(axis=0)
    built = (upright & (layers == LAYER_BUILT)).sum(axis=0)
    stand = np.where(upright, reach, 0.0).max(axis=0)
    # Columns bending back to the backdrop stand on no surface of their own.
    good = (count >= 8) & (built >= _BUILT_SHARE * np.maximum(count, 1)) & (stand < _NEAR * analysis.lift_radius_m)
    step = np.abs(np.diff(stand)) > _REACH_STEP * np.fmin(stand[1:], stand[:-1])
    breaks = ~good[1:] | ~good[:-1] | step
    run_id = np.concatenate([[0], np.cumsum(breaks)])
    runs = [np.flatnonzero((run_id == r) & good) for r in np.unique(run_id[good])]
    foot_rows = upright.shape[0] - 1 - np.argmax(upright[::-1], axis=0)
    pieces = []
    for run in runs:
        if run.size >= _MIN_RUN_PX:
            pieces += _straight_pieces(run, _points(analysis, run, foot_rows[run])[:, [0, 2]])
    return [piece for piece in pieces if piece.size >= _MIN_RUN_PX]


def _straight_pieces(cols: np.ndarray, feet: np.ndarray) -> list[np.ndarray]:
    """The run cut where its feet turn (a street wall bending away, a corner), so each piece's
    feet lie on one line: split at the foot farthest from the chord until every piece is
    within _STRAIGHT of its distance (Douglas-Peucker)."""
    chord = feet[-1] - feet[0]
    length = float(np.linalg.norm(chord))
    if cols.size < 2 * _MIN_RUN_PX or length < 1e-6:
        return [cols]
    normal = np.array([-chord[1], chord[0]]) / length
    off = np.abs((feet - feet[0]) @ normal)
    worst = int(np.argmax(off))
    if off[worst] <= _STRAIGHT * float(np.linalg.norm(feet, axis=1).mean()) or worst in (0, cols.size - 1):
        return [cols]
    return _straight_pieces(cols[: worst + 1], feet[: worst + 1]) + _straight_pieces(cols[worst:], feet[worst:])


def _rectified(analysis: PhotoAnalysis, layers: np.ndarray, run: np.ndarray) -> tuple[FacadeSample, float] | None:
    """The run's facade resampled fronto-parallel, with its score (photo pixels it covers, by
    the clarity of its rhythm)."""
    camera = analysis.camera
    upright = analysis.kind[:, run] == KIND_UPRIGHT
    foot_rows = np.where(upright.any(axis=0), upright.shape[0] - 1 - np.argmax(upright[::-1], axis=0), 0)
    top_rows = np.argmax(upright & (layers[:, run] == LAYER_BUILT), axis=0)
    # The surface's own columns, not the ends where it bends back to the backdrop.
    core = slice(_RAMP_PX, -_RAMP_PX) if run.size > 4 * _RAMP_PX else slice(None)
    feet = _points(analysis, run[core], foot_rows[core])
    centre, along = _line(feet[:, [0, 2]])
    s = (feet[:, [0, 2]] - centre) @ along
    if s[-1] < s[0]:
        along, s = -along, -s
    tops = _points(analysis, run[core], top_rows[core])[:, 1]
    height = float(np.percentile(tops, 50))
    width = float(s.max() - s.min())
    if height < 2.0 or width < 2.0:
        return None
    natural = float(np.median(analysis.depth[foot_rows[core], run[core]])) / camera.intrinsics.fx
    texel = max(float(np.clip(natural, MIN_TEXEL_M, MAX_TEXEL_M)), max(width, height) / MAX_TEXTURE_PX)
    ss = s.min() + (np.arange(int(width / texel)) + 0.5) * texel
    ys = height - (np.arange(int(height / texel)) + 0.5) * texel
    grid_s, grid_y = np.meshgrid(ss, ys)
    xz = centre + grid_s[..., None] * along
    world = np.stack([xz[..., 0], grid_y, xz[..., 1]], axis=-1).reshape(-1, 3)
    uv, z = camera.project(world)
    if not (z > 0).all():
        return None
    # Seen at a grazing angle, each of the photo's columns would be drawn out over several texels:
    # a smear along the wall, not a facade (lyra2_02's roofs, lyra2_08's far wall).
    span_px = float(np.ptp(uv[:, 0]))
    if ss.size > _MAX_RECTIFIED_STRETCH * max(span_px, 1.0):
        return None
    texture = _sample(analysis.image, uv, sigma=0.5 * texel / max(natural, 1e-6)).reshape(*grid_s.shape, 3)
    # Where the facade is lower than its median top, the sky shows above it: trim those rows off
    # (synthesis would repeat them down the street), and refuse a sample with sky left inside.
    h, w = analysis.sky.shape
    rows_cols = (np.clip(uv[:, 1].astype(np.int64), 0, h - 1), np.clip(uv[:, 0].astype(np.int64), 0, w - 1))
    sky = analysis.sky[rows_cols].reshape(grid_s.shape)
    first_clear = int(np.argmax(sky.mean(axis=1) <= _CROP_SKY))
    texture, sky = texture[first_clear:], sky[first_clear:]
    if texture.shape[0] * texel < 2.0 or sky.mean() > _CROP_SKY:
        return None
    storey, bay, clarity = rhythm(texture, texel)
    sample = FacadeSample(texture.astype(np.float32), texel, storey, bay)
    return sample, float(run.size * np.mean(foot_rows - top_rows)) * (0.5 + clarity)


def _points(analysis: PhotoAnalysis, cols: np.ndarray, rows: np.ndarray) -> np.ndarray:
    camera = analysis.camera
    rays = camera.rays_through(cols + 0.5, rows + 0.5)
    return camera.position + rays * analysis.depth[rows, cols][:, None]


def _line(points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(centroid, unit direction) of the total-least-squares line through [n, 2] points."""
    centre = points.mean(axis=0)
    _, _, axes = np.linalg.svd(points - centre, full_matrices=False)
    return centre, axes[0]


def _sample(image: np.ndarray, uv: np.ndarray, sigma: float) -> np.ndarray:
    """[n, 3] bilinear samples of ``image`` at pixel coordinates (u, v), prefiltered by ``sigma``
    pixels so a texel coarser than the photo's pixels averages them instead of aliasing."""
    h, w = image.shape[:2]
    margin = int(np.ceil(3 * sigma)) + 2
    # Only the window the samples fall in is filtered.
    u0, v0 = (int(np.clip(np.floor(uv[:, i].min()) - margin, 0, n - 1)) for i, n in ((0, w), (1, h)))
    u1, v1 = (int(np.clip(np.ceil(uv[:, i].max()) + margin, 1, n)) for i, n in ((0, w), (1, h)))
    window = image[v0:v1, u0:u1]
    blurred = ndimage.gaussian_filter(window, (sigma, sigma, 0)) if sigma > 0.6 else window
    coords = [uv[:, 1] - 0.5 - v0, uv[:, 0] - 0.5 - u0]
    return np.stack([ndimage.map_coordinates(blurred[..., c], coords, order=1, mode="nearest") for c in range(3)], 1)


def _backdrop_crop(analysis: PhotoAnalysis, layers: np.ndarray) -> tuple[FacadeSample, float] | None:
    """The largest built region's bounding box at the backdrop's scale (metres per pixel =
    depth / fx), when the photo is largely built but shows no upright surface to rectify."""
    built = layers == LAYER_BUILT
    not_sky = ~analysis.sky
    if built.sum() < _BACKDROP_BUILT_SHARE * max(int(not_sky.sum()), 1):
        return None
    labels, count = ndimage.label(built)
    areas = ndimage.sum_labels(built, labels, np.arange(1, count + 1))
    largest = labels == int(np.argmax(areas)) + 1
    rows = np.flatnonzero(largest.mean(axis=1) > 0.5 * largest.mean(axis=1).max())
    cols = np.flatnonzero(largest.mean(axis=0) > 0.5 * largest.mean(axis=0).max())
    if rows.size < 16 or cols.size < 16:
        return None
    box = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    depth = analysis.depth[box][largest[box]]
    texel = float(np.median(depth[np.isfinite(depth)])) / analysis.camera.intrinsics.fx
    texture = analysis.image[box].astype(np.float32)
    storey, bay, clarity = rhythm(texture, texel)
    return FacadeSample(texture, texel, storey, bay), float(largest.sum()) * (0.5 + clarity)


def rhythm(texture: np.ndarray, metres_per_px: float) -> tuple[float, float, float]:
    """(storey_m, bay_m, clarity): the periods of the facade's horizontal and vertical edges
    (0 where none is clear) and how clear they are (0..1, the mean of the two peaks' rise)."""
    grey = texture.mean(axis=2)
    rows_profile = np.abs(np.diff(grey, axis=0)).mean(axis=1)  # horizontal edges, per row
    cols_profile = np.abs(np.diff(grey, axis=1)).mean(axis=0)  # vertical edges, per column
    storey, storey_clarity = _period(rows_profile, metres_per_px, STOREY_RANGE_M)
    bay, bay_clarity = _period(cols_profile, metres_per_px, BAY_RANGE_M)
    return storey, bay, 0.5 * (storey_clarity + bay_clarity)


def _period(profile: np.ndarray, metres_per_px: float, span: tuple[float, float]) -> tuple[float, float]:
    """(period_m, clarity) of the profile's first clear autocorrelation peak within ``span``
    metres; (0, 0) where the profile is flat or too short to repeat twice."""
    low = max(2, int(np.ceil(span[0] / metres_per_px)))
    high = min(int(span[1] / metres_per_px), profile.size // 2)
    centred = profile - ndimage.uniform_filter1d(profile, max(2 * high + 1, 3), mode="reflect")
    energy = float(centred @ centred)
    if high <= low or energy < 1e-10 * profile.size:
        return 0.0, 0.0
    lags = np.arange(high + 2)
    ac = np.array([centred[: profile.size - k] @ centred[k:] for k in lags]) / energy
    peaks = [k for k in range(low, high + 1) if ac[k] >= ac[k - 1] and ac[k] >= ac[k + 1]]
    rises = [(k, ac[k] - ac[: k + 1].min()) for k in peaks]
    clear = [(k, rise) for k, rise in rises if rise >= _CLEAR_PEAK and ac[k] > 0]
    if not clear:
        return 0.0, 0.0
    best = max(rise for _, rise in clear)
    lag, rise = next((k, r) for k, r in clear if r >= 0.8 * best)  # the fundamental, not a multiple
    return float(lag * metres_per_px), float(min(rise, 1.0))
