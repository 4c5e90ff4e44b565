"""Equirectangular sky panoramas: directions of their pixels, and the background they give a camera.

Layout (see :class:`bridge.generate.base.Sky`): [H, 2H, 3]; row 0 looks straight up; column 0 is
azimuth -180 degrees (looking +Z) and the centre column looks -Z, the spawn's forward.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from bridge.world.camera import Camera


def panorama_directions(height: int, rows: slice = slice(None), cols: slice = slice(None)) -> np.ndarray:
    """[rows, cols, 3] unit world directions through the centres of the panorama's pixels (the
    whole [height, 2*height] panorama by default, or a window of it)."""
    width = 2 * height
    elevation = (np.pi / 2 - (np.arange(height) + 0.5) / height * np.pi)[rows]
    azimuth = ((np.arange(width) + 0.5) / width * 2 * np.pi - np.pi)[cols]
    az, el = np.meshgrid(azimuth, elevation)
    return np.stack([np.sin(az) * np.cos(el), np.sin(el), -np.cos(az) * np.cos(el)], axis=-1)


def panorama_pixel(directions: np.ndarray, height: int) -> tuple[np.ndarray, np.ndarray]:
    """(row, col) of ``directions`` [..., 3] in a panorama ``height`` rows tall, as continuous
    coordinates with pixel centres at integers (col may fall in [-0.5, 0) or [width - 0.5, width)
    next to the seam at azimuth +-180)."""
    azimuth = np.arctan2(directions[..., 0], -directions[..., 2])
    elevation = np.arcsin(np.clip(directions[..., 1], -1.0, 1.0))
    return (np.pi / 2 - elevation) / np.pi * height - 0.5, (azimuth + np.pi) / (2 * np.pi) * (2 * height) - 0.5


def sky_background(panorama: np.ndarray, camera: Camera) -> np.ndarray:
    """[H, W, 3] float32 in [0, 1]: the panorama seen through ``camera`` (bilinear, wraps in azimuth)."""
    height = panorama.shape[0]
    row, col = panorama_pixel(camera.pixel_rays(), height)
    # Pad one column each side so bilinear sampling wraps around the seam at azimuth +-180.
    padded = np.concatenate([panorama[:, -1:], panorama, panorama[:, :1]], axis=1).astype(np.float32) / 255.0
    coords = np.stack([np.clip(row, 0, height - 1), col + 1.0])
    out = np.stack(
        [ndimage.map_coordinates(padded[..., c], coords, order=1, mode="nearest") for c in range(3)], axis=-1
    )
    return out.astype(np.float32)
