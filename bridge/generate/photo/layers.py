"""The photo's pixels read as scene layers: sky, far terrain, built, vegetation, water, paved and
natural ground, loose objects (see :mod:`bridge.generate.photo.scene`).

Classical cues only, read at half the working resolution (a quarter of the pixels, for speed):
colour (hue and chroma, and against the photo's colour cast), fine texture, the local structure
tensor (edges straight over a neighbourhood and running vertical, horizontal or to the vanishing
point say something is built; isotropic fine texture says foliage; flattened texture says
ground), position against the horizon and the lift's geometry (what lies beyond the lift radius
is far). Each cue becomes a score per layer and pixel, the scores are pooled over a neighbourhood
(regions, not pixels, carry a layer) and each pixel takes the layer whose pooled score wins.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bridge.generate.photo.analysis import KIND_UPRIGHT, PhotoAnalysis
from bridge.generate.photo.scene import (
    LAYER_BUILT,
    LAYER_FAR,
    LAYER_NATURAL,
    LAYER_OBJECT,
    LAYER_PAVED,
    LAYER_SKY,
    LAYER_VEGETATION,
    LAYER_WATER,
    SceneMix,
)

_TENSOR_SIGMA = 3.0  # half-res px: only edges straight over this neighbourhood stay coherent
_REGION_SIGMA = 3.0  # half-res px: scores are pooled over this before a layer is chosen
_WATER_SIGMA = 6.0  # half-res px: water is pooled wider, its reflections are streaks of other things
_MIN_CONTRAST = 0.03  # gradient magnitude under which a pixel says nothing about edges
_FINE_TEXTURE = 0.035  # mean |detail| of foliage-like texture (grey levels in [0, 1])
_HORIZON_MARGIN_DEG = 0.5  # pixels this close to the horizon are not ground
_CAST_SHARE = 0.75  # of the photo's colour cast discounted before water is told by its colour
_OBJECT_MAX_SHARE = 0.02  # of the image: larger standing blobs are built, not loose objects
_OBJECT_STANDING = 0.1  # mean upright evidence of a blob that stands up from the ground


@dataclass(frozen=True)
class _Cues:
    """Per-pixel cues at half resolution."""

    hue: np.ndarray  # degrees, 0 red, 120 green, 240 blue
    chroma: np.ndarray  # colourfulness, in the units of [0, 1] sRGB
    cast_hue: np.ndarray  # hue and chroma against the photo's colour cast (its non-sky median)
    cast_chroma: np.ndarray
    value: np.ndarray
    texture: np.ndarray  # mean absolute fine detail of the grey image
    straight: np.ndarray  # 0..1: coherent edges running vertical, horizontal or to the vanishing point
    ripples: np.ndarray  # 0..1: edges running across the view (horizontal), as on water
    standing: np.ndarray  # the analysis' upright evidence (> 0 standing, < 0 lying)
    elevation_deg: np.ndarray  # each pixel's ray above the horizontal
    reach_m: np.ndarray  # how far out over the ground each ray meets it (inf at and above the horizon)
    vanishing: tuple[float, float]  # (column, strength) of the receding lines' vanishing point


def _half(values: np.ndarray) -> np.ndarray:
    """2x2 block means (the last odd row or column is dropped)."""
    h, w = values.shape[0] // 2 * 2, values.shape[1] // 2 * 2
    return 0.25 * (values[0:h:2, 0:w:2] + values[1:h:2, 0:w:2] + values[0:h:2, 1:w:2] + values[1:h:2, 1:w:2])


def _full(labels: np.ndarray, shape: tuple[int, int]) -> np.ndarray:
    """Half-resolution labels back to the working resolution (nearest, edges repeated)."""
    up = np.repeat(np.repeat(labels, 2, axis=0), 2, axis=1)
    return np.pad(up, ((0, shape[0] - up.shape[0]), (0, shape[1] - up.shape[1])), mode="edge")


def _opponent(rgb: np.ndarray) -> np.ndarray:
    """[..., 2] opponent colour axes (red-cyan, green-magenta) whose angle is the hue."""
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    return np.stack([r - 0.5 * (g + b), np.sqrt(3.0) / 2.0 * (g - b)], axis=-1)


def _hue_chroma(opponent: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    hue = np.degrees(np.arctan2(opponent[..., 1], opponent[..., 0])) % 360.0
    return hue, np.hypot(opponent[..., 0], opponent[..., 1])


def _vanishing(analysis: PhotoAnalysis, tensor: tuple[np.ndarray, ...], not_sky: np.ndarray) -> tuple[float, float]:
    """(u, strength) of the vanishing point on the horizon where the photo's long receding lines
    meet: every coherent edge that is neither vertical nor horizontal votes for the column where
    its line crosses the horizon. Strength is the share of the vote near the peak (0..1)."""
    jxx, jyy, jxy = tensor
    energy = jxx + jyy
    coherence = np.hypot(jxx - jyy, 2 * jxy) / np.maximum(energy, 1e-12)
    theta = 0.5 * np.arctan2(2 * jxy, jxx - jyy)  # gradient direction; the edge runs across it
    dx, dy = -np.sin(theta), np.cos(theta)  # edge direction
    h, w = jxx.shape
    rows = (np.arange(h) + 0.5)[:, None] * 2.0
    cols = (np.arange(w) + 0.5)[None, :] * 2.0
    slanted = np.abs(dy) > 0.15  # near-horizontal edges cross the horizon anywhere
    slanted &= np.abs(dx) > 0.15  # vertical edges never recede
    weight = np.where(slanted & (np.sqrt(energy) > _MIN_CONTRAST), coherence**2 * np.sqrt(energy), 0.0)
    weight *= not_sky
    with np.errstate(divide="ignore", invalid="ignore"):
        crossing = cols + (analysis.horizon_v - rows) * dx / np.where(slanted, dy, 1.0)
    full_w = analysis.image.shape[1]
    bins = np.linspace(-0.5 * full_w, 1.5 * full_w, 129)
    votes, _ = np.histogram(crossing[weight > 0], bins=bins, weights=weight[weight > 0])
    votes = ndimage.gaussian_filter1d(votes, 1.5)
    if votes.sum() <= 0:
        return analysis.camera.intrinsics.cx, 0.0
    peak = int(np.argmax(votes))
    strength = float(votes[max(peak - 3, 0) : peak + 4].sum() / votes.sum())
    return float(0.5 * (bins[peak] + bins[peak + 1])), strength


def _tensor(grey: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    gx = ndimage.sobel(grey, axis=1) / 8.0
    gy = ndimage.sobel(grey, axis=0) / 8.0
    return (
        ndimage.gaussian_filter(gx * gx, _TENSOR_SIGMA),
        ndimage.gaussian_filter(gy * gy, _TENSOR_SIGMA),
        ndimage.gaussian_filter(gx * gy, _TENSOR_SIGMA),
    )


def _cues(analysis: PhotoAnalysis) -> _Cues:
    rgb = _half(analysis.image)
    grey = rgb.mean(axis=2)
    opponent = _opponent(rgb)
    hue, chroma = _hue_chroma(opponent)
    not_sky = _half(analysis.sky.astype(np.float32)) < 0.5
    jxx, jyy, jxy = _tensor(grey)
    vanishing_u, vanishing_strength = _vanishing(analysis, (jxx, jyy, jxy), not_sky)
    # A graded photo (all of it teal, say) says nothing by its cast: water must be bluer than that.
    cast = np.median(opponent[not_sky], axis=0) if not_sky.any() else np.zeros(2)
    cast_hue, cast_chroma = _hue_chroma(opponent - _CAST_SHARE * cast)
    texture = ndimage.gaussian_filter(np.abs(grey - ndimage.gaussian_filter(grey, 1.0)), 2.0)
    energy = np.maximum(jxx + jyy, 1e-12)
    coherence = np.hypot(jxx - jyy, 2 * jxy) / energy
    confidence = np.clip(np.sqrt(energy) / _MIN_CONTRAST, 0.0, 1.0)
    axis = ((jxx - jyy) / energy) ** 2  # 1 for vertical or horizontal edges, 0 for diagonals
    h, w = grey.shape
    rows = (np.arange(h) + 0.5)[:, None] * 2.0
    cols = (np.arange(w) + 0.5)[None, :] * 2.0
    to_x, to_y = vanishing_u - cols, analysis.horizon_v - rows
    length = np.maximum(np.hypot(to_x, to_y), 1e-6)
    nx, ny = -to_y / length, to_x / length
    across_vp = (nx * nx * jxx + 2 * nx * ny * jxy + ny * ny * jyy) / energy
    receding = np.clip(2.0 * across_vp - 1.0, 0.0, 1.0)
    straight = coherence * np.maximum(axis, receding) * confidence
    ripples = np.clip((jyy - jxx) / energy, 0.0, 1.0) * coherence
    rays = analysis.camera.rays_through(cols + 0.0 * rows, rows + 0.0 * cols)
    horizontal = np.maximum(np.hypot(rays[..., 0], rays[..., 2]), 1e-9)
    elevation = np.degrees(np.arctan2(rays[..., 1], horizontal))
    with np.errstate(divide="ignore"):
        reach = np.where(rays[..., 1] < -1e-6, analysis.camera_height_m * horizontal / -rays[..., 1], np.inf)
    standing = analysis.upright_evidence if analysis.upright_evidence is not None else np.zeros(analysis.sky.shape)
    return _Cues(
        hue,
        chroma,
        cast_hue,
        cast_chroma,
        rgb.max(axis=2),
        texture,
        straight,
        ripples,
        _half(standing),
        elevation,
        reach,
        (vanishing_u, vanishing_strength),
    )


def _hue_band(hue: np.ndarray, low: float, high: float, soft: float = 15.0) -> np.ndarray:
    """1 inside [low, high] degrees, ramping to 0 over ``soft`` degrees outside."""
    return np.clip(1.0 + np.minimum(hue - low, high - hue) / soft, 0.0, 1.0)


def _ramp(values: np.ndarray, zero: float, one: float) -> np.ndarray:
    return np.clip((values - zero) / (one - zero), 0.0, 1.0)


def _scores(cues: _Cues, upright: np.ndarray) -> dict[int, np.ndarray]:
    """Evidence per layer (sky aside), each in [0, 1], before pooling over regions."""
    fine = _ramp(cues.texture, 0.008, 0.025)
    smooth = 1.0 - _ramp(cues.texture, 0.01, 0.03)
    below = cues.elevation_deg < -_HORIZON_MARGIN_DEG
    beyond = ~np.isfinite(cues.reach_m)
    green = _hue_band(cues.hue, 60.0, 165.0) * _ramp(cues.chroma, 0.04, 0.1)
    # Snow-dusted or shadowed foliage: dark, grey, finely textured and without straight edges.
    dark_foliage = 0.6 * (1.0 - _ramp(cues.value, 0.2, 0.35)) * (1.0 - _ramp(cues.chroma, 0.08, 0.16))
    straight = _ramp(cues.straight, 0.1, 0.35)
    # Ground seen in perspective has flattened texture; foliage's is the same every way.
    flat = _ramp(-cues.standing, 0.05, 0.3)
    vegetation = np.maximum(green, dark_foliage) * fine * (1.0 - straight) * (1.0 - 0.4 * flat)
    # Bright and colourless below the horizon is snow, cloud or haze, whatever its tint.
    white = _ramp(cues.value, 0.7, 0.85) * (1.0 - _ramp(cues.chroma, 0.1, 0.16))
    tint = _ramp(cues.cast_chroma, 0.03, 0.08)
    watery = _hue_band(cues.cast_hue, 165.0, 240.0, 25.0) * tint * below * (1.0 - white)
    water = watery * np.maximum(np.maximum(smooth, cues.ripples), 0.35) * (1.0 - np.clip(cues.standing, 0.0, 1.0))
    standing = _ramp(cues.standing, 0.1, 0.4) * below
    # Beyond the lift, fine texture without foliage's colour is more often a distant town than a slope.
    busy = 0.25 * fine * beyond * (1.0 - green)
    # Straight lines lying flat below the horizon are planks, kerbs and paving, not walls.
    lying = flat * below
    built = np.clip(0.7 * straight * (1.0 - lying) + 0.3 * upright + 0.3 * standing + busy, 0.0, 1.0)
    built *= 1.0 - 0.6 * np.maximum(green, watery)
    far = 0.4 * beyond * (1.0 - 0.8 * upright)
    grey = 1.0 - _ramp(cues.chroma, 0.06, 0.14)
    textured = _ramp(cues.texture, 0.005, 0.02)
    paved = below * (1.0 - white) * textured * (0.25 + 0.35 * flat) * (0.5 + 0.5 * grey + 0.5 * straight)
    # Sand and soil have no straight lines; decks and boardwalks of the same brown do.
    sandy = _hue_band(cues.hue, 10.0, 60.0) * _ramp(cues.chroma, 0.12, 0.2) * (1.0 - straight)
    natural = below * (0.3 + 0.3 * np.maximum(white, np.maximum(sandy, green * (1.0 - fine))))
    return {
        LAYER_VEGETATION: vegetation,
        LAYER_WATER: water,
        LAYER_BUILT: built,
        LAYER_FAR: far,
        LAYER_PAVED: paved,
        LAYER_NATURAL: natural,
    }


def classify_layers(analysis: PhotoAnalysis) -> tuple[np.ndarray, tuple[float, float]]:
    """([h, w] uint8 LAYER_* per working pixel, LAYER_SKY exactly where the analysis saw sky;
    (column, strength) of the vanishing point of the photo's receding lines, see _vanishing)."""
    cues = _cues(analysis)
    upright = _half((analysis.kind == KIND_UPRIGHT).astype(np.float32))
    scores = _scores(cues, upright)
    names = list(scores)
    # Water is pooled wider: reflections break it into streaks that are each something else.
    sigmas = [_WATER_SIGMA if n == LAYER_WATER else _REGION_SIGMA for n in names]
    pooled = [ndimage.gaussian_filter(scores[n].astype(np.float32), s) for n, s in zip(names, sigmas, strict=True)]
    stack = np.stack(pooled)
    half = np.asarray(names, dtype=np.uint8)[np.argmax(stack, axis=0)]
    layers = _full(half, analysis.sky.shape)
    standing = analysis.upright_evidence if analysis.upright_evidence is not None else np.zeros(layers.shape)
    layers = _loose_objects(layers, standing, analysis.horizon_v)
    layers[analysis.sky] = LAYER_SKY
    return layers, cues.vanishing


def _loose_objects(layers: np.ndarray, standing: np.ndarray, horizon_v: float) -> np.ndarray:
    """Small built blobs wholly below the horizon: loose objects where they stand up from the
    ground, else texture on the ground, which takes the layer most common around them."""
    h, w = layers.shape
    labels, _ = ndimage.label(layers == LAYER_BUILT)
    out = layers.copy()
    for index, box in enumerate(ndimage.find_objects(labels)):
        rows, cols = box
        blob = labels[box] == index + 1
        if rows.start <= horizon_v + 2 or blob.sum() > _OBJECT_MAX_SHARE * h * w or cols.stop - cols.start > w // 4:
            continue
        if standing[box][blob].mean() > _OBJECT_STANDING:
            out[box][blob] = LAYER_OBJECT
            continue
        grown = (slice(max(rows.start - 3, 0), rows.stop + 3), slice(max(cols.start - 3, 0), cols.stop + 3))
        around = layers[grown][ndimage.binary_dilation(labels[grown] == index + 1, iterations=3) & (labels[grown] == 0)]
        if around.size:
            out[box][blob] = np.bincount(around, minlength=LAYER_OBJECT + 1).argmax()
    return out


def scene_mix(layers: np.ndarray) -> SceneMix:
    """Shares of the non-sky pixels per layer."""
    counts = np.bincount(layers.ravel(), minlength=LAYER_OBJECT + 1)[LAYER_FAR : LAYER_OBJECT + 1].astype(np.float64)
    total = counts.sum()
    return SceneMix.from_array(counts / total if total > 0 else np.eye(counts.size)[LAYER_NATURAL - LAYER_FAR])
