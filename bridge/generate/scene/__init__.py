"""The ``import`` backend: an existing Gaussian-splat scene (.ply / .spz) served as a world."""

from bridge.generate.scene.generator import ImportGenerator

__all__ = ["ImportGenerator"]
