"""The sky panorama behind what stands in the photo: filled along each row from the sky beside it."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from bridge.generate.photo.analysis import analyse
from bridge.generate.photo.sky import _filled_sky_image
from bridge.world.photos import decode_photo
from tests.conftest import photo_path


def test_sky_behind_a_tower_continues_from_both_sides() -> None:
    analysis = analyse(decode_photo(photo_path("lyra2_06").read_bytes()), 96.0)
    source = ndimage.binary_erosion(analysis.sky, iterations=2)
    gradient = np.zeros_like(analysis.image)
    gradient[..., 0] = 1.0  # pure red, far from any sky: whatever the fill left to the gradient shows
    filled = _filled_sky_image(analysis, gradient)
    checked = 0
    for row in range(6, source.shape[0] - 6, 2):
        seen = np.flatnonzero(source[row])
        if seen.size < 2:
            continue
        gaps = np.flatnonzero(np.diff(seen) > 24)  # an occluder at least 24 pixels wide
        for g in gaps:
            left, right = seen[g], seen[g + 1]
            if not (source[row - 6 : row + 7, left].all() and source[row - 6 : row + 7, right].all()):
                continue  # near the skyline's ends the softening reaches rows with no sky
            middle = (left + right) // 2
            sides = analysis.image[row, [left, right]].mean(axis=0)
            # The sky from both sides carried across, not the gradient.
            value = filled[row, middle]
            assert np.linalg.norm(value - sides) < np.linalg.norm(value - gradient[row, middle])
            checked += 1
    assert checked >= 5
    # The photo's own sky is untouched.
    assert np.array_equal(filled[source], analysis.image[source])
