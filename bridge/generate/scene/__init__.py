"""The ``import`` backend: an existing Gaussian-splat scene (.ply / .spz) served as a world.

``ImportGenerator`` is imported on first use: the server process reads only ``source`` (telling
a scene from a photo, checking its header) and need not load the photo generator it builds on.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bridge.generate.scene.generator import ImportGenerator

__all__ = ["ImportGenerator"]


def __getattr__(name: str) -> Any:
    if name == "ImportGenerator":
        from bridge.generate.scene.generator import ImportGenerator

        return ImportGenerator
    raise AttributeError(f"module 'bridge.generate.scene' has no attribute {name!r}")
