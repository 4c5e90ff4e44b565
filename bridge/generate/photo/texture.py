"""Ground texture for the endless continuation, synthesised from the photo's own ground.

1. ``rectify_ground``: the photo's ground seen from above (inverse perspective mapping) gives
   an exemplar with a real size in metres.
2. ``synthesize``: texture by example as a stationary random process anchored to world
   coordinates: each cell of a world grid reads the exemplar at its own hashed offset, and
   neighbouring cells are blended with a variance-preserving operator (after Heitz & Neyret,
   "High-Performance By-Example Noise using a Histogram-Preserving Blending Operator", 2018), so
   the result neither repeats visibly nor loses contrast where cells meet. Because the process is
   stationary, its statistics are the same 10 km away as at the spawn: no drift by construction.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from bridge.generate.hashing import hash_to_unit
from bridge.generate.photo.analysis import KIND_GROUND, PhotoAnalysis

EXEMPLAR_TEXELS = 256
MIN_GROUND_FRACTION = 0.97  # of a square on the lifted ground, to count as ground
_EXEMPLAR_WIDTH_FRACTION = 0.4  # of the nearest visible ground's width
_CELL_FRACTION = 0.25  # world cell edge, as a fraction of the exemplar's extent
WAVE_PERIOD_TEXELS = (4.0, 64.0)  # periods looked for: at least four repeats across an exemplar
# How far a period's power stands out of its ring: 5.5 and 8.7 for lyra2_00's and 02's planks,
# 1.1-4.2 for the other fourteen exemplars of the ten sample photos (cobbles, sand, water, snow).
WAVE_PROMINENCE = 5.0
# Detail at a level's texel scale is raised this much (see _presharpened): seen from above, a LOD-0
# tile's paving kept 0.30-0.38 of the photo exemplar's lightness gradient, now 0.55-0.61; at eye
# height, views turned from lyra2_06's and 07's spawn read 8-18 % sharper (likeness.sharpness).
PRESHARPEN = 2.5
PRESHARPEN_SIGMA = 1.5  # texels of the level sampled: about one ground splat's spacing
# A level smaller than this is not presharpened: its texels' scale is the square's own layout (a
# shaded edge, a darker border), not its grain. Sharpened, lyra2_07's 8-texel level rose from 0.53
# to 0.72 in its middle, where synthesis reads, and ground 10-40 m out (LOD 1-2) was laid brighter
# than the ground nearer and farther (0.12.6).
PRESHARPEN_MIN_TEXELS = 32


@dataclass(frozen=True)
class Exemplar:
    mips: tuple[np.ndarray, ...]  # level m: [256 / 2^m, 256 / 2^m, 3] float32, box-filtered
    texel_m: float  # metres per texel at level 0
    mean: np.ndarray  # [3] float32
    # (s, t) cycles per level-0 texel of a strong period across the exemplar (planks, courses of
    # setts, furrows), None if it has none: cells keep its phase, so its lines run on unbroken.
    wave: tuple[float, float] | None = None

    @property
    def extent_m(self) -> float:
        return self.texel_m * self.mips[0].shape[0]


@dataclass(frozen=True)
class GroundSquare:
    """A square of the photo's ground seen from above, and where in the photo each texel came from."""

    texture: np.ndarray  # [n, n, 3] float32, the far edge at the top row (like the photo)
    rows: np.ndarray  # [n * n] photo row each texel reads (float, working pixels)
    cols: np.ndarray  # [n * n] photo column each texel reads
    ground_fraction: float  # of its texels that fall on the photo's lifted ground


def nearest_ground(analysis: PhotoAnalysis) -> tuple[float, float] | None:
    """(distance, side) in metres of the ground square straight ahead at the bottom of the photo.

    That is where a photo shows its ground most surely (the sides are often walls, the distance
    smeared by perspective); the square is as wide as the central part of the ground in view
    there. None where the bottom row looks above the horizon.
    """
    camera = analysis.camera
    height, width = analysis.kind.shape
    bottom_ray = camera.rays_through(np.array(width // 2 + 0.5), np.array(height - 0.5))
    if bottom_ray[1] >= -1e-3:
        return None
    near = camera.position[1] / -bottom_ray[1] * math.hypot(bottom_ray[0], bottom_ray[2]) * 1.02
    side = 2.0 * near * (width / 2 / camera.intrinsics.fx) * _EXEMPLAR_WIDTH_FRACTION
    return near, side


def read_ground_square(
    analysis: PhotoAnalysis,
    centre_x: float,
    near_m: float,
    side_m: float,
    texels: int = EXEMPLAR_TEXELS,
    source: np.ndarray | None = None,
) -> GroundSquare:
    """The ground square from ``near_m`` to ``near_m + side_m`` ahead, centred ``centre_x`` across,
    read from the photo by inverse perspective mapping at ``texels`` per edge.

    ``source`` is the photo at any resolution ([H, W, 3] float32, the same framing), read instead
    of the working image: the photo's own pixels are what make a near ground texel sharp. The
    square's ``rows`` and ``cols`` stay in working pixels either way."""
    camera, kind = analysis.camera, analysis.kind
    height, width = kind.shape
    n = texels
    frac = (np.arange(n) + 0.5) / n
    xs = centre_x - side_m / 2 + frac * side_m
    zs = -(near_m + frac * side_m)
    gx, gz = np.meshgrid(xs, zs[::-1])  # far edge at the top row, like the photo
    points = np.stack([gx, np.zeros_like(gx), gz], axis=-1).reshape(-1, 3)
    uv, depth = camera.project(points)
    u, v = uv[:, 0], uv[:, 1]
    inside = (depth > 0) & (u >= 0) & (u < width) & (v >= 0) & (v < height)
    ui = np.clip(u.astype(int), 0, width - 1)
    vi = np.clip(v.astype(int), 0, height - 1)
    rows, cols = np.clip(v - 0.5, 0, height - 1), np.clip(u - 0.5, 0, width - 1)
    image, at = analysis.image, np.stack([rows, cols])
    if source is not None:
        # Pixel centres lie at half-integers in both images: scale about the pixels' corner.
        image, scale = source, source.shape[1] / width
        source_h, source_w = image.shape[:2]
        at = np.stack([np.clip(v * scale - 0.5, 0, source_h - 1), np.clip(u * scale - 0.5, 0, source_w - 1)])
    texture = np.stack([ndimage.map_coordinates(image[..., c], at, order=1) for c in range(3)], axis=-1)
    ground = float((inside & (kind[vi, ui] == KIND_GROUND)).mean())
    return GroundSquare(texture.reshape(n, n, 3).astype(np.float32), rows, cols, ground)


def rectify_ground(analysis: PhotoAnalysis) -> tuple[np.ndarray, float]:
    """([256, 256, 3] float32 top-down ground texture, metres per texel): the nearest ground square.

    If the photo sees no ground there, the bottom-centre crop is used as it is, at 2 cm per texel.
    """
    nearest = nearest_ground(analysis)
    if nearest is not None:
        square = read_ground_square(analysis, 0.0, *nearest)
        if square.ground_fraction >= MIN_GROUND_FRACTION:
            return square.texture, nearest[1] / EXEMPLAR_TEXELS
    height, width = analysis.kind.shape
    crop = analysis.image[int(height * 0.7) :, int(width * 0.3) : int(width * 0.7)]
    n = EXEMPLAR_TEXELS
    resized = Image.fromarray(np.round(crop * 255).astype(np.uint8)).resize((n, n), Image.Resampling.BOX)
    return np.asarray(resized, dtype=np.float32) / 255.0, 0.02


def build_exemplar(texture: np.ndarray, texel_m: float) -> Exemplar:
    mips = [texture.astype(np.float32)]
    while mips[-1].shape[0] > 1:
        t = mips[-1]
        mips.append(((t[0::2, 0::2] + t[1::2, 0::2] + t[0::2, 1::2] + t[1::2, 1::2]) / 4).astype(np.float32))
    return Exemplar(
        tuple(mips), texel_m, texture.reshape(-1, 3).mean(axis=0).astype(np.float32), dominant_wave(texture)
    )


def for_splats(exemplar: Exemplar) -> Exemplar:
    """``exemplar`` with its levels presharpened (_presharpened) for ground laid as splats one step
    wide: the continuation's. The lifted far ground's grain reads the levels as they are (its rows
    keep the photo's mean at the spawn)."""
    return dataclasses.replace(exemplar, mips=tuple(_presharpened(m) for m in exemplar.mips))


def _presharpened(mip: np.ndarray) -> np.ndarray:
    """The level with its detail at a texel's scale raised by PRESHARPEN: a ground splat is as wide as
    the step between splats, so the render blurs what the splats' colours hold by about that much;
    raised beforehand, the ground seen at eye height keeps the exemplar's grain. Its mean is kept
    (what clipped at 0 or 1 moved it: a deck's dark gaps between planks) so that every level, and
    every LOD's ground, is as bright; a level under PRESHARPEN_MIN_TEXELS is left as it is (its
    texels' scale is the square's own layout, not its grain)."""
    if mip.shape[0] < PRESHARPEN_MIN_TEXELS:
        return mip
    blurred = ndimage.gaussian_filter(mip, (PRESHARPEN_SIGMA, PRESHARPEN_SIGMA, 0.0), mode="reflect")
    sharp = np.clip(mip + PRESHARPEN * (mip - blurred), 0.0, 1.0)
    sharp += mip.reshape(-1, 3).mean(axis=0) - sharp.reshape(-1, 3).mean(axis=0)
    return np.clip(sharp, 0.0, 1.0).astype(np.float32)


def dominant_wave(texture: np.ndarray) -> tuple[float, float] | None:
    """(s, t) cycles per texel of the strongest period in ``texture``'s lightness, if it stands out
    of the power at its frequency in every other direction by WAVE_PROMINENCE (lines repeating at
    one spacing: planks); None otherwise (cobbles, grass, sand, water)."""
    n = texture.shape[0]
    grey = texture.mean(axis=2)
    window = np.hanning(n)
    power = np.abs(np.fft.fft2((grey - grey.mean()) * window[:, None] * window[None, :])) ** 2
    freq = np.fft.fftfreq(n) * n  # cycles per exemplar
    kt, ks = np.meshgrid(freq, freq, indexing="ij")
    radius = np.hypot(ks, kt)
    band = (radius >= n / WAVE_PERIOD_TEXELS[1]) & (radius <= n / WAVE_PERIOD_TEXELS[0])
    peak = int(np.argmax(np.where(band, power, 0.0)))
    ps, pt = ks.flat[peak], kt.flat[peak]
    ring = band & (np.abs(radius - radius.flat[peak]) < 1.5)
    # The peak and its mirror image (a real image's spectrum is symmetric).
    near = ring & ((np.hypot(ks - ps, kt - pt) <= 2.0) | (np.hypot(ks + ps, kt + pt) <= 2.0))
    share = power[near].sum() / max(float(power[ring].sum()), 1e-12)
    if share < WAVE_PROMINENCE * near.sum() / ring.sum():
        return None
    return float(ps) / n, float(pt) / n


def _sample_clamped(image: np.ndarray, s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """Bilinear lookup at texel coordinates (s along columns, t along rows), clamped to the edge."""
    size = image.shape[0]

    def clamp(i: np.ndarray) -> np.ndarray:
        return np.clip(i, 0, size - 1)

    s0 = np.floor(s - 0.5)
    t0 = np.floor(t - 0.5)
    fs = (s - 0.5 - s0)[:, None]
    ft = (t - 0.5 - t0)[:, None]
    c0, c1 = clamp(s0.astype(np.int64)), clamp(s0.astype(np.int64) + 1)
    r0, r1 = clamp(t0.astype(np.int64)), clamp(t0.astype(np.int64) + 1)
    top = image[r0, c0] * (1 - fs) + image[r0, c1] * fs
    bottom = image[r1, c0] * (1 - fs) + image[r1, c1] * fs
    return top * (1 - ft) + bottom * ft


def _in_phase(
    wave: tuple[float, float],
    period: float,
    centre_s: np.ndarray,
    centre_t: np.ndarray,
    cell_x: np.ndarray,
    cell_z: np.ndarray,
    cell_texels: float,
) -> tuple[np.ndarray, np.ndarray]:
    """Cell centres moved across the wave (by under half a period) so that every cell reads it at
    the phase the world point has: the lines of neighbouring cells meet where the cells blend."""
    across_s, across_t = np.array(wave) / math.hypot(*wave)
    # The world offset of the cell's read from its own place, across the wave, in periods.
    offset_s = centre_s - (cell_x + 0.5) * cell_texels
    offset_t = centre_t - (cell_z + 0.5) * cell_texels
    phase = (offset_s * across_s + offset_t * across_t) / period
    shift = (phase - np.round(phase)) * period
    return centre_s - shift * across_s, centre_t - shift * across_t


def synthesize(
    exemplar: Exemplar, x: np.ndarray, z: np.ndarray, footprint_m: float, seed: int, salt: int = 0
) -> np.ndarray:
    """[N, 3] float32 ground colour at world points (x, z), prefiltered to ``footprint_m``.

    Each world cell (_CELL_FRACTION of the exemplar's extent) reads the exemplar around its own hashed
    centre, chosen so that everything it reads lies inside the exemplar: no wrapping, no mirror
    seams. Each point blends the four cells around it. ``salt`` gives each material its own cells.
    """
    level = int(np.clip(math.floor(math.log2(max(footprint_m / exemplar.texel_m, 1.0))), 0, len(exemplar.mips) - 1))
    image = exemplar.mips[level]
    size = image.shape[0]
    texel = exemplar.texel_m * (1 << level)
    cell_m = exemplar.extent_m * _CELL_FRACTION
    cell_texels = cell_m / texel
    gx = x / cell_m - 0.5
    gz = z / cell_m - 0.5
    cx0 = np.floor(gx).astype(np.int64)
    cz0 = np.floor(gz).astype(np.int64)
    fx = gx - cx0
    fz = gz - cz0
    # Smoothstep weights: the blend has no kinks along cell lines.
    wx = fx * fx * (3 - 2 * fx)
    wz = fz * fz * (3 - 2 * fz)
    mean = exemplar.mean
    total = np.zeros((x.size, 3), dtype=np.float64)
    weight_sq = np.zeros(x.size, dtype=np.float64)
    # A cell is read out to a cell's edge from its centre; a wave's phase moves it half a period more.
    period = 0.0 if exemplar.wave is None else 1.0 / math.hypot(*exemplar.wave) / (1 << level)
    reach = cell_texels + period / 2
    free = max(size - 2 * reach, 0.0)  # room for a cell's centre that keeps its reads inside
    for dx in (0, 1):
        for dz in (0, 1):
            w = (wx if dx else 1 - wx) * (wz if dz else 1 - wz)
            cell_x, cell_z = cx0 + dx, cz0 + dz
            centre_s = reach + hash_to_unit(cell_x, cell_z, seed, salt, 11) * free
            centre_t = reach + hash_to_unit(cell_x, cell_z, seed, salt, 12) * free
            if exemplar.wave is not None:
                centre_s, centre_t = _in_phase(exemplar.wave, period, centre_s, centre_t, cell_x, cell_z, cell_texels)
            local_s = (x / cell_m - (cell_x + 0.5)) * cell_texels  # in (-cell, cell) where w > 0
            local_t = (z / cell_m - (cell_z + 0.5)) * cell_texels
            sample = _sample_clamped(image, centre_s + local_s, centre_t + local_t)
            total += w[:, None] * (sample - mean)
            weight_sq += w * w
    out = mean + total / np.sqrt(np.maximum(weight_sq, 1e-9))[:, None]
    return np.clip(out, 0.0, 1.0).astype(np.float32)
