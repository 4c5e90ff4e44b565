"""Rendering: a Gaussian-splat rasteriser (gsplat on CUDA, torch on the CPU) and image helpers.

The rasteriser (and torch with it) is imported on first use, so processes that only need the
image helpers do not pay for torch. The camera model lives in ``bridge.world.camera``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.render.images import psnr, save_png

if TYPE_CHECKING:
    from bridge.render.rasterize import RenderResult, render

__all__ = ["RenderResult", "psnr", "render", "save_png"]


def __getattr__(name: str) -> Any:
    if name in ("RenderResult", "render"):
        from bridge.render import rasterize

        return getattr(rasterize, name)
    raise AttributeError(f"module 'bridge.render' has no attribute {name!r}")
