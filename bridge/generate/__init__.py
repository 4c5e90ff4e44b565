"""Tile generation: the Generator contract and its backends (``photo``, and any registered by name).

A backend needs only what is exported here: it reads a photo (or its own input) in ``prepare``
and returns ``TileContent`` (a ``SplatCloud`` and a height field) for any ``TileKey``.
"""

from bridge.formats.splats import SplatCloud, TileContent
from bridge.generate.base import Generator, GeneratorOptions, PreparedWorld, Sky
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey

__all__ = [
    "Camera",
    "Generator",
    "GeneratorOptions",
    "Intrinsics",
    "PreparedWorld",
    "Sky",
    "SplatCloud",
    "TileContent",
    "TileKey",
]
