"""Ground materials: the different grounds a photo shows, and which one lies where in the world.

1. ``pick_materials`` reads squares of the photo's ground from above, in rows a half square
   apart from the nearest ground outwards, wherever they lie on the lifted ground. The nearest
   square straight ahead founds the first material (the photo's surest ground); a square whose
   colour (CIELAB, lightness counting a third: shade is not a material) is unlike every material
   so far founds another if it is clean: no standing texture in it (a barrel lying in the
   ground's rows is not a material) and one colour across (a square over a border is two
   materials, not a third). Every square then votes for the material nearest its colour; a
   material's share is the fraction of the votes it got.
   Each material's exemplar is read from squares half that size, in rows twice as many, lying in
   the material's own squares and nearest its colour: the cleanest of them. A square that holds
   an object (a fountain, a barrel, a log on a deck) holds a patch of texels whose colour and
   contrast are rare among the material's squares, or differs from quarter to quarter, or is
   darker in the object's shadow; one on standing texture read as lying flat, or on ground too
   far out for the photo to resolve, is smeared along the view (see _cleanest). It is read from
   the photo at its own resolution (up to 2 MP): a half-size square read at twice the pixels is
   as sharp as the old one, and far more often clean. The spread of the squares' lightness is
   the material's wear (``material_wear``): a small exemplar holds no stains or sun patches.
   Far ground seen through haze (:mod:`bridge.generate.photo.haze`) is not this place's ground:
   where the ground plane is wrong (a hilltop's crest, with a valley seen beyond it in the rows
   of near ground), it reads as near, and its veiled colour would pave the world. Nor is what
   stands in front of it (:func:`bridge.generate.photo.uprights.hiding_far_ground`), though it
   lies on the lifted ground where its texture reads as lying flat. So a square founds a material
   only if nearly all of it is clear of both, votes only with its clear part, and votes for the
   colour of that part; an exemplar is read from a clear square.
2. ``material_weights`` says how much of each material lies at any world (x, z): each material
   has a smooth world-anchored noise field (hashed lattice, two octaves at rotated angles), the
   highest one wins, and where two are close they blend over a metre or two. Biases calibrated
   once per world make each material's area its share. The fields are stationary, so the mix is
   the same 10 km away as at the spawn (no drift by construction), and anchored, so the same
   place always has the same ground.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from bridge.formats.colour import lab_distance, srgb_to_lab
from bridge.generate.noise import value_noise
from bridge.generate.photo.analysis import KIND_GROUND, PhotoAnalysis, to_working_resolution
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
EXEMPLAR_SIDE_FRACTION = 0.5  # of the founding squares' side: small enough to fit between objects
EXEMPLAR_MAX_PIXELS = 2_000_000  # the photo is read for exemplars at its own resolution up to this
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
# A texel is rare where its (colour, local contrast) bin holds few of the material's texels: the
# rarest 8 % of them. Objects are local, so their texels are the rare ones; contrast counts so
# that a smooth stone rim in a cobbled square is rare though it is cobble-coloured.
_RARE_BIN = 5.0
_RARE_PERCENTILE = 8.0
_GATHER_TEXELS = 3.0  # of the probe read: rare texels this close together are one thing
_GATHERED = 0.3  # share of rare texels around a texel above which it belongs to a rare thing
_CONTRAST_WEIGHT = 1.5  # of a texel's local contrast, to weigh like its colour
# Of a square's smear (how much less isotropic it is than the material's median square: planks
# are lines by nature, a smear is lines along the view), against its share of rare texels,
# and of how much farther it lies than the material's nearest square (relative): the photo
# resolves the ground less the farther it lies, and more so along the view.
_SMEAR_WEIGHT = 1.0
_FARTHER_WEIGHT = 0.3
# and of how unlike the material's typical square it is (mean colour, lightness spread, contrast;
# in units of the median member's unlikeness): a square in an object's shadow is darker.
_ATYPICAL_WEIGHT = 0.1
# and of how unlike its own quarters are (colour and contrast; in units of the median member's):
# a texture is alike across a square, an object's edge in one corner is not.
_PATCHY_WEIGHT = 0.1
MAX_VARIATION = 0.12  # of a material's relative lightness spread: more is lighting, not the ground
_MIN_VARIATION_SQUARES = 4  # fewer squares tell nothing of a spread
# The wear field: two octaves of anchored noise, metres across and a dozen metres across.
_WEAR_CELLS_M = (4.0, 13.0)
_WEAR_WEIGHTS = (0.65, 0.35)
_WEAR_SALT = 67
_CALIBRATION_POINTS = 64  # per edge of the grid the shares are calibrated on
_CALIBRATION_SPACING_M = 97.0  # between its points: nearly independent samples of the fields
_SALT = 61


@dataclass(frozen=True)
class GroundMaterials:
    textures: np.ndarray  # [M, 256, 256, 3] float32 top-down exemplars
    texel_m: float  # metres per texel, the same for all
    shares: np.ndarray  # [M] float64, summing to 1: the fraction of the photo's ground squares
    squares: tuple[tuple[float, float, float], ...]  # (centre x, near, side) metres of each exemplar; () for a crop
    # [M] float64: how much each material's squares differ in lightness across the photo (their
    # means' relative spread): stains, wear, sun and shade at the scale of metres, which one
    # small exemplar does not hold. material_wear lays it over the world.
    variation: np.ndarray


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
    features: np.ndarray  # [n, n, 4] per texel: colour (lightness discounted) and local contrast
    isotropy: float  # in [0, 1]: the smaller of its mean lightness steps along and across the view over the larger


def _candidate_squares(
    analysis: PhotoAnalysis, near: float, side: float, rows: int = CANDIDATE_ROWS
) -> list[tuple[float, float]]:
    """(centre x, near edge) of every candidate square: nearer rows first, and within a row the
    central ones first (the first is the nearest square straight ahead)."""
    tan_half = analysis.kind.shape[1] / 2 / analysis.camera.intrinsics.fx
    out = []
    for row in range(rows):
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


def _texel_features(lab: np.ndarray) -> np.ndarray:
    """[n, n, 4] each texel's colour (lightness discounted as in _colour_distance) and the local
    contrast around it (mean lightness gradient over a few texels)."""
    lightness = ndimage.gaussian_filter(lab[..., 0], 1.0)
    contrast = ndimage.gaussian_filter(np.hypot(*np.gradient(lightness)), 3.0)
    return np.stack([lab[..., 0] * _LIGHTNESS_WEIGHT, lab[..., 1], lab[..., 2], contrast * _CONTRAST_WEIGHT], axis=-1)


def _feature_patchiness(features: np.ndarray) -> float:
    """The largest distance between the mean texel features of a square's four quarters."""
    half = features.shape[0] // 2
    quarters = np.array([features[r : r + half, c : c + half].mean(axis=(0, 1)) for r in (0, half) for c in (0, half)])
    return float(np.linalg.norm(quarters[:, None] - quarters[None, :], axis=-1).max())


def _isotropy(lab: np.ndarray) -> float:
    """How alike a square's detail is along and across the view: ground the photo resolves is
    about as detailed both ways; ground read beyond that, or something standing read as lying
    flat, is smeared along the view (its rows repeat)."""
    lightness = lab[..., 0]
    along = float(np.abs(np.diff(lightness, axis=0)).mean())
    across = float(np.abs(np.diff(lightness, axis=1)).mean())
    return min(along, across) / max(along, across, 1e-6)


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


def _evidence_and_veil(analysis: PhotoAnalysis) -> tuple[np.ndarray, np.ndarray]:
    """([h, w] upright evidence, [h, w] not clear): what every candidate square is judged by,
    read once for both sizes of square."""
    evidence = analysis.upright_evidence
    if evidence is None:
        evidence = upright_evidence(analysis.image, analysis.horizon_v, analysis.camera.intrinsics.cx)
    return evidence, _not_clear(analysis)


def _read_candidates(
    analysis: PhotoAnalysis,
    near: float,
    side: float,
    judged_by: tuple[np.ndarray, np.ndarray],
    rows: int = CANDIDATE_ROWS,
) -> list[_Candidate]:
    evidence, veil = judged_by
    out = []
    for centre, row_near in _candidate_squares(analysis, near, side, rows):
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
        out.append(
            _Candidate(
                centre,
                row_near,
                mean,
                _statistics(lab),
                clean,
                float(veiled.mean()),
                _texel_features(lab),
                _isotropy(lab),
            )
        )
    return out


def _cleanest(pool: list[_Candidate]) -> _Candidate:
    """The member with the lowest score: its share of texels in patches rare among all members'
    (an object), its smear, how much farther it lies than the nearest, how atypical and how
    patchy it is (weights above); ties go to the nearer, more central square. Every member
    counts, not only the clean ones: a stair's tread or a barrel's lid is one flat colour, so
    it is "clean", and it was often picked when only those counted."""
    features = np.stack([m.features for m in pool]).reshape(-1, 4)
    bins = np.clip(np.floor(features / _RARE_BIN).astype(np.int64) + 512, 0, 1023)
    keys = ((bins[:, 0] * 1024 + bins[:, 1]) * 1024 + bins[:, 2]) * 1024 + bins[:, 3]  # one int per bin
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    density = counts[inverse.ravel()].reshape(len(pool), -1)
    rare_texels = (density <= np.percentile(density, _RARE_PERCENTILE)).reshape(len(pool), *pool[0].features.shape[:2])
    # An object is rare texels together; a texture's own rare texels are scattered.
    gathered = ndimage.gaussian_filter(rare_texels.astype(np.float64), (0, _GATHER_TEXELS, _GATHER_TEXELS))
    rare = (gathered > _GATHERED).mean(axis=(1, 2))
    isotropy = np.array([m.isotropy for m in pool])
    smear = np.maximum(np.median(isotropy) - isotropy, 0.0)
    nears = np.array([m.near for m in pool])
    farther = nears / nears.min() - 1.0
    statistics = np.array([m.statistics for m in pool])
    atypical = np.linalg.norm(statistics - np.median(statistics, axis=0), axis=1)
    atypical /= max(float(np.median(atypical)), 1e-6)
    patchy = np.array([_feature_patchiness(m.features) for m in pool])
    patchy /= max(float(np.median(patchy)), 1e-6)
    scores = (
        rare + _SMEAR_WEIGHT * smear + _FARTHER_WEIGHT * farther + _ATYPICAL_WEIGHT * atypical + _PATCHY_WEIGHT * patchy
    )
    return pool[int(np.argmin(scores))]


def _exemplar_squares(
    analysis: PhotoAnalysis,
    groups: list[list[_Candidate]],
    founders: list[_Candidate],
    near: float,
    side: float,
    judged_by: tuple[np.ndarray, np.ndarray],
) -> tuple[list[tuple[float, float]], np.ndarray]:
    """(centre x, near edge) of each material's exemplar square, ``side`` across: the cleanest
    clear square inside one of the material's own squares (``groups``, a larger side) and
    nearest its colour; where none is, the founder's near middle. And each material's
    variation (see GroundMaterials) over those squares."""
    members: list[list[_Candidate]] = [[] for _ in founders]
    rows = round(CANDIDATE_ROWS / EXEMPLAR_SIDE_FRACTION)
    founder_colours = np.array([f.mean for f in founders])
    big_side = side / EXEMPLAR_SIDE_FRACTION
    for candidate in _read_candidates(analysis, near, side, judged_by, rows):
        if candidate.veiled > MAX_VEILED:
            continue
        m = int(np.argmin(_colour_distance(candidate.mean, founder_colours)))
        inside = any(
            abs(candidate.centre - big.centre) + side / 2 <= big_side / 2 + 1e-6
            and big.near - 1e-6 <= candidate.near <= big.near + big_side - side + 1e-6
            for big in groups[m]
        )
        if inside:
            members[m].append(candidate)
    out, variation = [], np.zeros(len(founders))
    for m, (founder, group) in enumerate(zip(founders, members, strict=True)):
        chosen = _cleanest(group) if group else founder
        out.append((chosen.centre, chosen.near))
        if len(group) >= _MIN_VARIATION_SQUARES:
            lightness = np.array([c.mean[0] for c in group])
            # Robust spread (interquartile range as a standard deviation): a few squares in deep
            # shade or on an object say little of the ground's own wear.
            spread = float(np.subtract(*np.percentile(lightness, [75, 25]))) / 1.349
            variation[m] = min(spread / max(float(np.median(lightness)), 1.0), MAX_VARIATION)
    return out, variation


def exemplar_source(photo: np.ndarray) -> np.ndarray:
    """[H, W, 3] float32: the photo (uint8) at its own resolution, up to EXEMPLAR_MAX_PIXELS."""
    height, width = photo.shape[:2]
    target = min(width, int(math.sqrt(EXEMPLAR_MAX_PIXELS * width / height)))
    return to_working_resolution(photo, target)


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


def pick_materials(analysis: PhotoAnalysis, source: np.ndarray | None = None) -> GroundMaterials:
    """The photo's ground materials (see the module's docstring); one, the bottom-centre crop,
    where the photo shows no ground straight ahead at its bottom edge. ``source`` is the photo
    the exemplars are read from (see exemplar_source); the working image if None."""
    nearest = nearest_ground(analysis)
    judged_by = _evidence_and_veil(analysis)
    candidates = _read_candidates(analysis, *nearest, judged_by) if nearest is not None else []
    if not candidates or (candidates[0].centre, candidates[0].near) != (0.0, nearest[0]):
        texture, texel_m = rectify_ground(analysis)  # the bottom-centre crop: one material
        return GroundMaterials(texture[None], texel_m, np.ones(1), (), np.zeros(1))
    near, side = nearest
    founders = _founders(candidates)
    groups = _groups(candidates, founders)
    shares = _shares(groups)
    exemplar_side = side * EXEMPLAR_SIDE_FRACTION
    chosen, variation = _exemplar_squares(analysis, groups, founders, near, exemplar_side, judged_by)
    return GroundMaterials(
        np.stack([read_ground_square(analysis, c, n, exemplar_side, source=source).texture for c, n in chosen]),
        exemplar_side / EXEMPLAR_TEXELS,
        shares,
        tuple((float(c), float(n), float(exemplar_side)) for c, n in chosen),
        variation,
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


@functools.cache
def _wear_spread() -> float:
    """The standard deviation of the raw wear field, measured once over many of its cells."""
    steps = np.arange(0.0, 2000.0, 3.7)
    gx, gz = np.meshgrid(steps, steps)
    return float(_wear_field(gx.ravel(), gz.ravel(), 0, 0).std())


def _wear_field(x: np.ndarray, z: np.ndarray, seed: int, m: int) -> np.ndarray:
    octaves = zip(_WEAR_CELLS_M, _WEAR_WEIGHTS, strict=True)
    return sum(
        w * value_noise(x, z, cell, seed, _WEAR_SALT, m, k, angle=0.7 + k) for k, (cell, w) in enumerate(octaves)
    )


def material_wear(x: np.ndarray, z: np.ndarray, variation: float, seed: int, m: int) -> np.ndarray:
    """[N] a factor on material ``m``'s lightness at world (x, z): 1 on average, spread by the
    material's ``variation`` (world-anchored, so the same place always wears the same)."""
    if variation <= 0.0:
        return np.ones(x.size)
    field = (_wear_field(x, z, seed, m) - sum(_WEAR_WEIGHTS) / 2) / _wear_spread()
    return np.clip(1.0 + variation * field, 0.5, 1.5)


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
