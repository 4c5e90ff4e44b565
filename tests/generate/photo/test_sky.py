"""The sky panorama behind what stands in the photo: filled along each row from the sky beside it."""

from __future__ import annotations

import numpy as np
import pytest
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


# Patches of the working image (x0, x1, y0, y1), read off the photos by eye: open sky seen past
# something standing in front of it, which a sky kept as the run from the top misses.
SKY_PAST_SOMETHING = {
    "lyra2_00": (200, 240, 40, 80),  # clouds between the town's roofs and the ships' rigging
    "lyra2_03": (340, 420, 60, 110),  # blue sky under the castle's smoke
    "lyra2_09": (245, 275, 70, 110),  # pale sky under the great mushroom's cap
}
# ... and, in the same photos, things that are not sky.
NOT_SKY = {
    "lyra2_00": (300, 340, 60, 90),  # a sail
    "lyra2_03": (180, 260, 120, 200),  # the castle
    "lyra2_09": (140, 220, 20, 50),  # the mushroom's cap
}


@pytest.mark.parametrize("name", sorted(SKY_PAST_SOMETHING))
def test_sky_seen_past_rigging_smoke_and_caps_is_sky(name: str) -> None:
    analysis = analyse(decode_photo(photo_path(name).read_bytes()), 96.0)
    x0, x1, y0, y1 = SKY_PAST_SOMETHING[name]
    assert analysis.sky[y0:y1, x0:x1].mean() > 0.9
    x0, x1, y0, y1 = NOT_SKY[name]
    assert analysis.sky[y0:y1, x0:x1].mean() < 0.1
    # The lift stands nothing up there: it is drawn from the sky panorama.
    assert np.isinf(analysis.depth[analysis.sky]).all()
