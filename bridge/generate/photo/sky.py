"""The sky at infinity: the photo's own sky where the photo saw it, its colour gradient elsewhere."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from bridge.generate.base import Sky
from bridge.generate.photo.analysis import PhotoAnalysis
from bridge.render.sky import panorama_directions, panorama_pixel
from bridge.world.camera import Camera

PANORAMA_HEIGHT = 1024  # rows; the panorama is twice as wide (equirectangular)
FEATHER_PX = 24.0  # the photo's sky fades into the gradient over this many working pixels
ROW_FILL_FADE_PX = 48.0  # past a row's last sky pixel, its colour fades into the gradient over this many


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
    """The photo's sky, with what stands in front of it filled in along each row: between two
    stretches of sky, the colours on either side blended across the gap (the sky behind a tower
    continues from one side to the other); beyond the last stretch, its colour fading into the
    sky's mean colour at that elevation; rows with no sky, that mean. Edge pixels next to
    buildings carry their colour, so they are not used; fill and photo are softened where they meet."""
    source = ndimage.binary_erosion(analysis.sky, iterations=2)
    image = analysis.image
    filled = gradient_at_pixels.astype(np.float32).copy()
    columns = np.arange(source.shape[1], dtype=np.float64)
    for row in np.flatnonzero(source.any(axis=1)):
        seen = np.flatnonzero(source[row])
        # Distance past the row's outermost sky pixels: there the fill fades to the gradient.
        beyond = np.maximum(seen[0] - columns, columns - seen[-1]).clip(min=0)
        fade = np.clip(1.0 - beyond / ROW_FILL_FADE_PX, 0.0, 1.0)[:, None]
        across = np.stack([np.interp(columns, seen, image[row, seen, k]) for k in range(3)], axis=1)
        filled[row] = across * fade + filled[row] * (1.0 - fade)
    filled[analysis.sky] = image[analysis.sky]  # the sky pixels the erosion left out are still sky
    smooth = ndimage.gaussian_filter(filled, sigma=(3.0, 3.0, 0.0))
    return np.where(source[..., None], image, smooth).astype(np.float32)


def build_sky(analysis: PhotoAnalysis) -> Sky:
    elevations, colours = _gradient(analysis)

    def gradient(elev: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(elev, elevations, colours[:, k]) for k in range(3)], axis=-1)

    camera = analysis.camera
    photo_sky = _filled_sky_image(analysis, gradient(_elevation_deg(camera.pixel_rays())))
    height, width = PANORAMA_HEIGHT, 2 * PANORAMA_HEIGHT
    # Away from the photo the panorama is the gradient, which depends on the row alone: one
    # pixel per row, broadcast. Only the window the photo (and its feather) can reach is blended.
    row_colour = gradient(_elevation_deg(panorama_directions(height, cols=slice(0, 1))[:, 0]))
    flat = np.broadcast_to(row_colour[:, None], (height, width, 3))
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[:] = np.clip(np.round(row_colour * 255.0), 0, 255).astype(np.uint8)[:, None]
    rows, cols = _photo_window(camera, height, width)
    if rows.stop > rows.start and cols.stop > cols.start:
        image[rows, cols] = _blend_photo(camera, photo_sky, flat[rows, cols], panorama_directions(height, rows, cols))
    return Sky(panorama=image)


def _photo_window(camera: Camera, height: int, width: int) -> tuple[slice, slice]:
    """Rows and columns of the panorama holding every direction within FEATHER_PX of the photo's
    frame: the bounding box of that region's outline (its extremes in azimuth and elevation lie
    on the outline unless it holds a pole or straddles the +-180 degree seam: then whole rows)."""
    k = camera.intrinsics
    margin = FEATHER_PX + 2.0
    u0, u1, v0, v1 = -margin, k.width + margin, -margin, k.height + margin
    along_u = np.arange(u0, u1 + 1.0)
    along_v = np.arange(v0, v1 + 1.0)
    u = np.concatenate([along_u, along_u, np.full(along_v.size, u0), np.full(along_v.size, u1)])
    v = np.concatenate([np.full(along_u.size, v0), np.full(along_u.size, v1), along_v, along_v])
    rays = camera.rays_through(u, v)
    row_of, col_of = panorama_pixel(rays, height)
    row0, row1 = int(np.floor(row_of.min())) - 2, int(np.ceil(row_of.max())) + 3
    col0, col1 = int(np.floor(col_of.min())) - 2, int(np.ceil(col_of.max())) + 3
    poles = camera.project(np.array([[0.0, 1e6, 0.0], [0.0, -1e6, 0.0]]) + camera.position)
    for (pu, pv), depth, pole_row in zip(poles[0], poles[1], (0, height), strict=True):
        if depth > 0 and u0 <= pu <= u1 and v0 <= pv <= v1:
            row0, row1 = min(row0, pole_row), max(row1, pole_row)
            col0, col1 = 0, width
    if np.ptp(col_of) > width / 2:  # the outline crosses the seam behind the spawn
        col0, col1 = 0, width
    return slice(max(row0, 0), min(row1, height)), slice(max(col0, 0), min(col1, width))


def _blend_photo(camera: Camera, photo_sky: np.ndarray, gradient: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """The panorama's pixels in one window: the photo's sky inside the frame, fading into the
    gradient outside it over FEATHER_PX."""
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
    flat = gradient.reshape(-1, 3)
    flat = flat * (1.0 - weight[:, None]) + samples * weight[:, None]
    return np.clip(np.round(flat.reshape(gradient.shape) * 255.0), 0, 255).astype(np.uint8)
