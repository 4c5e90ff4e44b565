"""The sample photo shipped with the package: what the demo and the benches use when given none.

Its own module, so a bench can find it without importing the demo (and torch with it).
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

SAMPLE_PHOTO = "sample_town_square.jpg"


def sample_photo_path() -> Path:
    return Path(str(resources.files("bridge.assets").joinpath(SAMPLE_PHOTO)))
