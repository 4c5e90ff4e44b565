"""Ground materials: the different grounds a photo shows, and which one lies where in the world.

1. ``pick_materials`` reads squares of the photo's ground from above, in rows a half square
   apart from the nearest ground outwards, wherever they lie on the lifted ground. The nearest
   square straight ahead founds the first material (the photo's surest ground); a square whose
   colour (CIELAB, lightness counting a third: shade is not a material) is unlike every material
   so far founds another if it is clean: no standing texture in it (a barrel lying in the
   ground's rows is not a material) and one colour across (a square over a border is two
   materials, not a third). Every square then votes for the material nearest its colour; a
   material's share is the fraction of the votes it got. The first material's exemplar is its
   most typical square of the nearest two rows; the others' are their founders.
   Far ground seen through haze (:mod:`bridge.generate.photo.haze`) is not this place's ground:
   where the ground plane is wrong (a hilltop's crest, with a valley seen beyond it in the rows
   of near ground), it reads as near, and its veiled colour would pave the world. Nor is what
   stands in front of it (:func:`bridge.generate.photo.uprights.hiding_far_ground`), though it
   lies on the lifted ground where its texture reads as lying flat. So a square founds a material
   only if nearly all of it is clear of both, votes only with its clear part, and votes for the
   colour of that part; the first material's exemplar is typical of clear squares.
2. ``material_weights`` says how much of each material lies at any world (x, z): each material
   has a smooth world-anchored noise field (hashed lattice, two octaves at rotated angles), the
   highest one wins, and where two are close they blend over a metre or two. Biases calibrated
   once per world make each material's area its share. The fields are stationary, so the mix is
   the same 10 km away as at the spawn (no drift by construction), and anchored, so the same
   place always has the same ground.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.formats.colour import lab_distance, srgb_to_lab
from bridge.generate.noise import value_noise
from bridge.generate.photo.analysis import KIND_GROUND, PhotoAnalysis
from bridge.generate.photo.haze import far_ground
from bridge.generate.photo.texture import (
    EXEMPLAR_TEXELS,
    MIN_GROUND_FRACTION,
    nearest_ground,
    read_ground_square,
    rectify_ground,
)
from bridge.generate.photo.uprights import hiding_far_ground, upright_evidence

MAX_MATERIALS = 3
CANDIDATE_ROWS = 5  # rows of squares, each half a square farther: out to 3x the nearest ground's distance
NEW_MATERIAL_DELTA = 14.0  # colour distance (CIELAB, lightness at a third) that makes a new material
MAX_STANDING = 0.06  # mean upright evidence above which a square shows something standing
MAX_PATCHINESS = 8.0  # colour distance between a square's quarters above which it spans a border
# Of a square's texels on far ground (seen through haze) or on what stands in front of it, above
# which it is not clear: it founds no material and gives no exemplar (its haze would pave the
# world). As much as a square may have off the ground.
MAX_VEILED = 1.0 - MIN_GROUND_FRACTION
# The photo shows its grounds side by side in one frame (a deck and the water beside it), and so
# should a view of the continuation: a view from eye height sees mostly the ground within ~30 m,
# so patches are 10-20 m across. With 60 m patches each view showed one material alone, and a
# walk's views flipped between them (see bench/README.md, drift).
PATCH_CELL_M = 24.0  # lattice of the coarse octave
DETAIL_CELL_M = 9.0  # the fine octave, which frays the patches' borders
DETAIL_AMPLITUDE = 0.35
BORDER_SOFTNESS = 0.014  # of the noise: where materials meet they blend over 2 m (median; 7 m p90)
_PROBE_TEXELS = 64  # candidates are judged on a coarse read; only the chosen are read in full
_LIGHTNESS_WEIGHT = 0.35  # shade is not a material: lightness counts for a third of chroma
_EDGE_WEIGHT = 4.0  # mean lightness gradient per texel, scaled to weigh like the colour terms
_MIN_WEIGHT = 0.01  # weights below this are dropped, so most points synthesise one material
_CALIBRATION_POINTS = 64  # per edge of the grid the shares are calibrated on
_CALIBRATION_SPACING_M = 97.0  # between its points: nearly independent samples of the fields
_SALT = 61


@dataclass(frozen=True)
class GroundMaterials:
    textures: np.ndarray  # [M, 256, 256, 3] float32 top-down exemplars
    texel_m: float  # metres per texel, the same for all
    shares: np.ndarray  # [M] float64, summing to 1: the fraction of the photo's ground squares
    squares: tuple[tuple[float, float, float], ...]  # (centre x, near, side) metres of each exemplar; () for a crop


def _colour_distance(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return lab_distance(a, b, _LIGHTNESS_WEIGHT)


def _patchiness(lab: np.ndarray) -> float:
    """The largest colour distance between the means of a square's four quarters."""
    half = lab.shape[0] // 2
    quarters = np.array([lab[r : r + half, c : c + half].mean(axis=(0, 1)) for r in (0, half) for c in (0, half)])
    return float(_colour_distance(quarters[:, None], quarters[None, :]).max())


@dataclass(frozen=True)
class _Candidate:
    centre: float  # metres across
    near: float  # metres ahead to its near edge
    mean: np.ndarray  # [3] CIELAB
    statistics: np.ndarray  # see _statistics
    clean: bool  # nothing standing in it, one colour across
    veiled: float  # the fraction of its texels on far ground, or on what stands in front of it


def _candidate_squares(analysis: PhotoAnalysis, near: float, side: float) -> list[tuple[float, float]]:
    """(centre x, near edge) of every candidate square: nearer rows first, and within a row the
    central ones first (the first is the nearest square straight ahead)."""
    tan_half = analysis.kind.shape[1] / 2 / analysis.camera.intrinsics.fx
    out = []
    for row in range(CANDIDATE_ROWS):
        row_near = near + row * side / 2
        reach = int(max(row_near * tan_half - side / 2, 0.0) // (side / 2))
        out += [(step * side / 2, row_near) for step in sorted(range(-reach, reach + 1), key=lambda j: (abs(j), j))]
    return out


def _statistics(lab: np.ndarray) -> np.ndarray:
    """What a square's texture looks like, in comparable units: mean colour (lightness discounted
    as in _colour_distance), lightness percentiles, contrast and edge strength."""
    lightness = lab[..., 0]
    d_rows, d_cols = np.gradient(lightness)
    mean = lab.reshape(-1, 3).mean(axis=0)
    spread = np.percentile(lightness, [10, 50, 90]) * _LIGHTNESS_WEIGHT
    edges = np.hypot(d_rows, d_cols).mean() * _EDGE_WEIGHT
    return np.array([mean[0] * _LIGHTNESS_WEIGHT, mean[1], mean[2], *spread, lightness.std(), edges])


def _not_clear(analysis: PhotoAnalysis) -> np.ndarray:
    """[h, w] bool: far ground seen through haze, and what stands in front of it on the lifted
    ground (whose texture may read as lying flat: a fortress's undercarriage); neither is this
    place's ground."""
    far = analysis.far_ground
    if far is None:
        far = far_ground(analysis.image, analysis.sky, analysis.horizon_v)
    ground = analysis.kind == KIND_GROUND
    first_row = np.where(ground.any(axis=0), ground.argmax(axis=0), ground.shape[0]).astype(np.float64)
    return far | hiding_far_ground(far, analysis.sky, analysis.horizon_v, first_row)


def _read_candidates(analysis: PhotoAnalysis, near: float, side: float) -> list[_Candidate]:
    evidence = analysis.upright_evidence
    if evidence is None:
        evidence = upright_evidence(analysis.image, analysis.horizon_v, analysis.camera.intrinsics.cx)
    veil = _not_clear(analysis)
    out = []
    for centre, row_near in _candidate_squares(analysis, near, side):
        square = read_ground_square(analysis, centre, row_near, side, _PROBE_TEXELS)
        if square.ground_fraction < MIN_GROUND_FRACTION:
            continue
        lab = srgb_to_lab(square.texture)
        rows, cols = np.round(square.rows).astype(int), np.round(square.cols).astype(int)
        standing = float(np.maximum(evidence[rows, cols], 0.0).mean())
        clean = standing <= MAX_STANDING and _patchiness(lab) <= MAX_PATCHINESS
        veiled = veil[rows, cols]
        # The colour it votes for is its clear part's: a square over a crest votes for the near
        # ground it shows, not for the mix of that and the haze beyond.
        mean = lab.reshape(-1, 3)[~veiled].mean(axis=0) if not veiled.all() else lab.reshape(-1, 3).mean(axis=0)
        out.append(_Candidate(centre, row_near, mean, _statistics(lab), clean, float(veiled.mean())))
    return out


def _most_typical(members: list[_Candidate], half_side: float) -> _Candidate:
    """The member whose texture statistics are nearest the median of all members', among the
    clear ones in the two nearest rows they reach (the sharpest)."""
    clear = [m for m in members if m.veiled <= MAX_VEILED] or members
    first_row = min(m.near for m in clear)
    pool = [m for m in clear if m.near <= first_row + half_side + 1e-6]
    median = np.median(np.array([m.statistics for m in members]), axis=0)
    return min(pool, key=lambda m: float(np.linalg.norm(m.statistics - median)))


def _founders(candidates: list[_Candidate]) -> list[_Candidate]:
    """The nearest square straight ahead founds the first material: it is the photo's surest
    ground. A square unlike every material so far founds another if it is clean and clear."""
    founders = [candidates[0]]
    for candidate in candidates[1:]:
        distances = _colour_distance(candidate.mean, np.array([f.mean for f in founders]))
        clear = candidate.veiled <= MAX_VEILED
        if distances.min() > NEW_MATERIAL_DELTA and len(founders) < MAX_MATERIALS and candidate.clean and clear:
            founders.append(candidate)
    return founders


def _groups(candidates: list[_Candidate], founders: list[_Candidate]) -> list[list[_Candidate]]:
    """Each material's squares: those nearest its colour (a square unlike every material and not
    clean enough to be one belongs to none)."""
    groups: list[list[_Candidate]] = [[] for _ in founders]
    for candidate in candidates:
        distances = _colour_distance(candidate.mean, np.array([f.mean for f in founders]))
        if distances.min() <= NEW_MATERIAL_DELTA or candidate in founders:
            groups[int(np.argmin(distances))].append(candidate)
    return groups


def _shares(groups: list[list[_Candidate]]) -> np.ndarray:
    """[M] the fraction of the votes each material got: a square votes with its clear part."""
    votes = np.array([sum(1.0 - c.veiled for c in g) for g in groups])
    return votes / votes.sum()


def pick_materials(analysis: PhotoAnalysis) -> GroundMaterials:
    """The photo's ground materials (see the module's docstring); one, the bottom-centre crop,
    where the photo shows no ground straight ahead at its bottom edge."""
    nearest = nearest_ground(analysis)
    candidates = _read_candidates(analysis, *nearest) if nearest is not None else []
    if not candidates or (candidates[0].centre, candidates[0].near) != (0.0, nearest[0]):
        texture, texel_m = rectify_ground(analysis)  # the bottom-centre crop: one material
        return GroundMaterials(texture[None], texel_m, np.ones(1), ())
    side = nearest[1]
    founders = _founders(candidates)
    groups = _groups(candidates, founders)
    shares = _shares(groups)
    # The first material's exemplar is its most typical square, not the nearest: that one may
    # hold a single object (a fountain) that would then pave the world. The others keep their
    # founders, which are clean by construction (their groups' most typical squares often are
    # not: the stems of lyra2_09's mushrooms are as white as its rocks).
    chosen = [_most_typical(groups[0], side / 2), *founders[1:]]
    return GroundMaterials(
        np.stack([read_ground_square(analysis, c.centre, c.near, side).texture for c in chosen]),
        side / EXEMPLAR_TEXELS,
        shares,
        tuple((float(c.centre), float(c.near), float(side)) for c in chosen),
    )


# -- where each material lies ----------------------------------------------------------------


def _fields(x: np.ndarray, z: np.ndarray, count: int, seed: int) -> np.ndarray:
    """[N, count] each material's noise field at (x, z)."""
    out = np.empty((x.size, count))
    for m in range(count):
        coarse = value_noise(x, z, PATCH_CELL_M, seed, _SALT, m, 0, angle=0.5 + 1.1 * m)
        fine = value_noise(x, z, DETAIL_CELL_M, seed, _SALT, m, 1, angle=1.3 + 0.7 * m)
        out[:, m] = coarse + DETAIL_AMPLITUDE * fine
    return out


def calibrate_biases(shares: np.ndarray, seed: int) -> np.ndarray:
    """[M] offsets added to each field so that the highest field picks each material on its share
    of the ground (measured on a wide grid of nearly independent points)."""
    count = len(shares)
    if count == 1:
        return np.zeros(1)
    steps = (np.arange(_CALIBRATION_POINTS) + 0.5) * _CALIBRATION_SPACING_M
    gx, gz = np.meshgrid(steps, steps)
    fields = _fields(gx.ravel(), gz.ravel(), count, seed)
    biases = np.zeros(count)
    for _ in range(60):
        won = np.bincount(np.argmax(fields + biases, axis=1), minlength=count) / len(fields)
        biases += 0.1 * (np.log(shares) - np.log(np.maximum(won, 0.5 / len(fields))))
        biases -= biases.mean()
    return biases


def material_weights(x: np.ndarray, z: np.ndarray, biases: np.ndarray, seed: int) -> np.ndarray:
    """[N, M] how much of each material lies at world (x, z); rows sum to 1."""
    if len(biases) == 1:
        return np.ones((x.size, 1))
    scores = _fields(x, z, len(biases), seed) + biases
    weights = np.exp((scores - scores.max(axis=1, keepdims=True)) / BORDER_SOFTNESS)
    weights /= weights.sum(axis=1, keepdims=True)
    weights = np.where(weights < _MIN_WEIGHT, 0.0, weights)
    return weights / weights.sum(axis=1, keepdims=True)


MAP_EXTENT_M = 256.0  # the materials picture's map: a few dozen patches, each several pixels across


def material_map(
    materials: GroundMaterials, seed: int, extent_m: float = MAP_EXTENT_M, pixels: int = 128
) -> np.ndarray:
    """[pixels, pixels, 3] uint8: which material lies where around the spawn, from above (the
    photo's view direction up), each in its exemplar's mean colour."""
    centres = (np.arange(pixels) + 0.5) / pixels * extent_m - extent_m / 2
    gx, gz = np.meshgrid(centres, centres)
    weights = material_weights(gx.ravel(), gz.ravel(), calibrate_biases(materials.shares, seed), seed)
    colours = weights @ materials.textures.reshape(len(materials.shares), -1, 3).mean(axis=1)
    return np.round(colours.reshape(pixels, pixels, 3) * 255).astype(np.uint8)
