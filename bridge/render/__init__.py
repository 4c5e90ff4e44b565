"""Rendering: cameras and a Gaussian-splat rasteriser (gsplat on CUDA, torch on the CPU)."""

from bridge.render.camera import Camera, Intrinsics
from bridge.render.images import psnr, save_png
from bridge.render.rasterize import RenderResult, render

__all__ = ["Camera", "Intrinsics", "RenderResult", "psnr", "render", "save_png"]
