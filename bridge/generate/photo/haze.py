"""Aerial perspective: the ground a photo shows through haze, far beyond where the ground plane
puts it.

Haze (Koschmieder's law, I = J t + A (1 - t)) mixes what lies far away with the colour of the
horizon sky, A (the airlight): its colour is pulled towards A's, and its local contrast scaled
down by the same transmission t. The photo's nearest ground, at the middle of its bottom edge, is
the clear reference. A pixel whose distance from the airlight's colour and whose local contrast
are both well below the reference's is veiled, and veiled regions that run on to the horizon are
far ground. Where the ground plane is wrong (a hilltop's crest, with a valley seen beyond it in
the rows of near ground) this is what tells the valley is far: on the plane its pixels lie a few
metres out; in the photo they lie kilometres away.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from bridge.formats.colour import lab_distance, srgb_to_lab

HORIZON_SKY_BAND = 0.1  # of the photo's height: the sky above the horizon whose colour haze takes on
WINDOW_PX = 3.0  # the neighbourhood local colour and contrast are read over (working pixels)
# Both the distance from the airlight's colour and the local contrast at most this fraction of the
# nearest ground's: a quarter of the view lost to haze. Ground a few metres apart, as the ground
# plane has it, shows no such difference; only ground far beyond it does.
MAX_TRANSMISSION = 0.75
REFERENCE_ROWS = 0.1  # the bottom tenth of the photo ...
REFERENCE_COLUMNS = (0.3, 0.7)  # ... its middle: where a photo shows its nearest ground most surely
_LIGHTNESS_WEIGHT = 0.35  # as the ground materials weigh colour: shade is not haze either


def horizon_sky_colour(image: np.ndarray, sky: np.ndarray, horizon_v: float) -> np.ndarray | None:
    """[3] CIELAB: the median colour of the sky just above the horizon, the colour haze takes on
    (the airlight); None where the photo shows no sky there."""
    rows = np.arange(sky.shape[0])[:, None]
    band = sky & (rows >= horizon_v - HORIZON_SKY_BAND * sky.shape[0])
    if not band.any():
        return None
    return srgb_to_lab(np.median(image[band], axis=0)[None, None].astype(np.float32))[0, 0]


def _relative(values: np.ndarray, near: tuple[slice, slice]) -> np.ndarray:
    """``values`` as a fraction of their median over the nearest ground."""
    return values / max(float(np.median(values[near])), 1e-6)


def far_ground(image: np.ndarray, sky: np.ndarray, horizon_v: float) -> np.ndarray:
    """[h, w] bool: what below the sky shows through more haze than the nearest ground and runs
    on to the horizon. None of it where no sky shows the airlight's colour."""
    airlight = horizon_sky_colour(image, sky, horizon_v)
    if airlight is None:
        return np.zeros(sky.shape, dtype=bool)
    lab = srgb_to_lab(image)
    local = np.stack([ndimage.gaussian_filter(lab[..., c], WINDOW_PX) for c in range(3)], axis=-1)
    contrast = np.sqrt(np.maximum(ndimage.gaussian_filter(lab[..., 0] ** 2, WINDOW_PX) - local[..., 0] ** 2, 0.0))
    pull = lab_distance(local, airlight, _LIGHTNESS_WEIGHT)
    h, w = sky.shape
    near = (slice(int(h * (1 - REFERENCE_ROWS)), h), slice(*(int(w * f) for f in REFERENCE_COLUMNS)))
    transmission = np.maximum(_relative(pull, near), _relative(contrast, near))
    # Only a colour darker than the airlight can have been pulled up towards it (snow in the sun is not haze).
    veiled = (local[..., 0] < airlight[0]) & (transmission <= MAX_TRANSMISSION) & ~sky
    # Haze thickens with distance: far ground runs on to the horizon. A veiled patch that does not
    # reach the rows just below it is a plain, pale patch of near ground (smooth sand), not haze.
    labels, _ = ndimage.label(veiled)
    far = np.unique(labels[max(int(horizon_v), 0) : max(int(horizon_v + HORIZON_SKY_BAND * h) + 1, 0)])
    return np.isin(labels, far[far > 0])
