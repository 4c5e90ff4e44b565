"""The photo's palette: the few colours that make up each of its regions (sky, ground, what stands).

Read once per world with the analysis and shown beside it (the 'palette' picture), so a person can
see at a glance which colours the generator took the photo to be made of. Median cut (Pillow's
quantiser) over each region's pixels: deterministic, and a colour covering a small part of a
region still gets its own entry when it differs enough from the rest.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from bridge.generate.photo.analysis import KIND_BACKDROP, KIND_GROUND, KIND_SKY, KIND_UPRIGHT, PhotoAnalysis

COLOURS_PER_REGION = 6
SAMPLE_PIXELS = 16_384  # per region, evenly strided: shares to within a percent, at a tenth of the time
REGIONS = (("sky", (KIND_SKY,)), ("ground", (KIND_GROUND,)), ("standing", (KIND_UPRIGHT, KIND_BACKDROP)))


@dataclass(frozen=True)
class Swatch:
    rgb: tuple[int, int, int]
    share: float  # of the region's pixels


def region_palettes(analysis: PhotoAnalysis, colours: int = COLOURS_PER_REGION) -> dict[str, list[Swatch]]:
    """Each region's colours, most common first; a region the photo does not show has none."""
    pixels = np.round(analysis.image * 255).astype(np.uint8)
    out: dict[str, list[Swatch]] = {}
    for name, kinds in REGIONS:
        region = pixels[np.isin(analysis.kind, kinds)]
        region = region[:: max(1, len(region) // SAMPLE_PIXELS)]
        if len(region) == 0:
            out[name] = []
            continue
        strip = Image.fromarray(region[None, :, :])
        quantised = strip.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
        counts = np.bincount(np.asarray(quantised).ravel(), minlength=colours)
        table = np.array(quantised.getpalette()[: 3 * len(counts)]).reshape(-1, 3)
        order = np.argsort(-counts, kind="stable")
        out[name] = [
            Swatch((int(table[i, 0]), int(table[i, 1]), int(table[i, 2])), float(counts[i] / len(region)))
            for i in order
            if counts[i] > 0
        ]
    return out
