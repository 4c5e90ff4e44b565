"""The default ``photo`` generator: CPU only, no weights, deterministic."""

from bridge.generate.photo.generator import PhotoGenerator

__all__ = ["PhotoGenerator"]
