"""The sky at infinity: the photo's own sky where the photo saw it, its colour gradient elsewhere."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from bridge.generate.base import Sky
from bridge.generate.photo.analysis import PhotoAnalysis
from bridge.render.sky import panorama_directions

PANORAMA_HEIGHT = 1024  # rows; the panorama is twice as wide (equirectangular)
FEATHER_PX = 24.0  # the photo's sky fades into the gradient over this many working pixels


def _elevation_deg(directions: np.ndarray) -> np.ndarray:
    return np.degrees(np.arcsin(np.clip(directions[..., 1], -1.0, 1.0)))


def _gradient(analysis: PhotoAnalysis) -> tuple[np.ndarray, np.ndarray]:
    """(elevations in degrees, ascending; mean sky colour at each) sampled from the photo's sky rows."""
    rays = analysis.camera.pixel_rays()
    elevation = _elevation_deg(rays)
    sky = analysis.sky
    rows = np.flatnonzero(sky.sum(axis=1) >= 4)
    if rows.size < 3:
        # No usable sky: a pale haze from the photo's brightest tenth, brighter upwards.
        bright = analysis.image.reshape(-1, 3)
        luminance = bright.mean(axis=1)
        haze = bright[luminance >= np.percentile(luminance, 90)].mean(axis=0)
        return np.array([-90.0, 0.0, 90.0]), np.stack([haze * 0.9, haze, np.clip(haze * 0.85 + 0.1, 0, 1)])
    elevations = np.array([elevation[r][sky[r]].mean() for r in rows])
    colours = np.stack([analysis.image[r][sky[r]].mean(axis=0) for r in rows])
    order = np.argsort(elevations)
    return elevations[order], colours[order]


def _filled_sky_image(analysis: PhotoAnalysis, gradient_at_pixels: np.ndarray) -> np.ndarray:
    """The photo's sky, with everything in front of it replaced by the sky's mean colour at that
    elevation (edge pixels next to buildings carry their colour, so they are not used), softened
    where the two meet."""
    sky = analysis.sky
    filled = np.where(sky[..., None], analysis.image, gradient_at_pixels)
    smooth = ndimage.gaussian_filter(filled, sigma=(3.0, 3.0, 0.0))
    return np.where(ndimage.binary_erosion(sky, iterations=2)[..., None], analysis.image, smooth).astype(np.float32)


def build_sky(analysis: PhotoAnalysis) -> Sky:
    elevations, colours = _gradient(analysis)

    def gradient(elev: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(elev, elevations, colours[:, k]) for k in range(3)], axis=-1)

    camera = analysis.camera
    photo_sky = _filled_sky_image(analysis, gradient(_elevation_deg(camera.pixel_rays())))
    directions = panorama_directions(PANORAMA_HEIGHT)  # [H, 2H, 3]
    panorama = gradient(_elevation_deg(directions))

    uv, depth = camera.project(directions.reshape(-1, 3) * 1e6 + camera.position)
    k = camera.intrinsics
    u, v = uv[:, 0], uv[:, 1]
    in_front = depth > 0
    # Inside the photo's frame the panorama is the photo's sky exactly; outside, the edge of the
    # photo fades into the gradient over FEATHER_PX, so turning away shows no hard rectangle.
    outside = np.hypot(np.maximum(0, -u) + np.maximum(0, u - k.width), np.maximum(0, -v) + np.maximum(0, v - k.height))
    weight = np.where(in_front, np.clip(1.0 - outside / FEATHER_PX, 0.0, 1.0), 0.0)
    near = weight > 0
    samples = np.zeros((u.size, 3))
    coords = np.stack([np.clip(v[near] - 0.5, 0, k.height - 1), np.clip(u[near] - 0.5, 0, k.width - 1)])
    for channel in range(3):
        samples[near, channel] = ndimage.map_coordinates(photo_sky[..., channel], coords, order=1)
    flat = panorama.reshape(-1, 3)
    flat = flat * (1.0 - weight[:, None]) + samples * weight[:, None]
    image = np.clip(np.round(flat.reshape(panorama.shape) * 255.0), 0, 255).astype(np.uint8)
    return Sky(panorama=image)
