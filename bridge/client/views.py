"""What a viewer sees: renders of the tiles it holds, and the spawn view against the photo."""

from __future__ import annotations

import numpy as np
from PIL import Image

from bridge.formats.splats import SplatCloud
from bridge.render.images import psnr, side_by_side
from bridge.render.rasterize import render
from bridge.render.sky import sky_background
from bridge.world.camera import Camera


def render_view(cloud: SplatCloud, camera: Camera, sky: np.ndarray) -> np.ndarray:
    """[H, W, 3] float32: the splats over the sky panorama, as a viewer at ``camera`` sees them."""
    return render(cloud, camera, sky_background(sky, camera)).image


def spawn_comparison(cloud: SplatCloud, spawn: Camera, sky: np.ndarray, photo: np.ndarray) -> tuple[float, np.ndarray]:
    """(PSNR in dB, photo | render picture): the spawn view against the photo, area-resized to the
    spawn camera's resolution, whole frame. ``photo`` is [H, W, 3] uint8."""
    k = spawn.intrinsics
    reference = np.asarray(Image.fromarray(photo).resize((k.width, k.height), Image.Resampling.BOX), np.float32) / 255
    rendered = render_view(cloud, spawn, sky)
    value = psnr(rendered, reference)
    return value, side_by_side([reference, rendered], ["photo", f"spawn view, rendered ({value:.2f} dB)"])
