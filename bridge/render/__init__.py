"""Rendering: cameras and a Gaussian-splat rasteriser (gsplat on CUDA, torch on the CPU).

The rasteriser (and torch with it) is imported on first use, so processes that only need the
camera model, such as generation workers, do not pay for torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from bridge.render.camera import Camera, Intrinsics
from bridge.render.images import psnr, save_png

if TYPE_CHECKING:
    from bridge.render.rasterize import RenderResult, render

__all__ = ["Camera", "Intrinsics", "RenderResult", "psnr", "render", "save_png"]


def __getattr__(name: str) -> Any:
    if name in ("RenderResult", "render"):
        from bridge.render import rasterize

        return getattr(rasterize, name)
    raise AttributeError(f"module 'bridge.render' has no attribute {name!r}")
