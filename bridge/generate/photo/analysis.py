"""Reading a single photo as a 3D scene: sky, horizon, camera and per-pixel depth.

In the tradition of "Tour into the Picture" (Horry et al. 1997) and "Automatic Photo Pop-up"
(Hoiem et al. 2005): the scene is a ground plane under a camera of unknown height, a backdrop
standing at the far edge of the lifted area, and a sky at infinity. Each cue is cheap and each
has a fallback, so every photo gets a usable reading rather than an error.

Conventions: the camera sits at (0, height, 0) looking towards -Z, pitched down by ``pitch_rad``;
the ground is the plane y = 0. Pixel rows ``v`` grow downwards, sampled at pixel centres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from bridge.render.camera import Camera, Intrinsics

WORK_WIDTH = 640  # pixels: the resolution the photo is lifted at (one splat per pixel)
HORIZONTAL_FOV_DEG = 65.0  # prior for the unknown lens: a typical drone or phone main camera
BOTTOM_ROW_DISTANCE_M = 6.0  # sets the scale: the ground at the photo's bottom edge is this far
MIN_CAMERA_HEIGHT_M = 1.6
MAX_CAMERA_HEIGHT_M = 60.0
DEFAULT_HORIZON_FRACTION = 0.4  # where the horizon sits when no sky shows (looking down a bit)
HORIZON_BAND = (0.3, 0.6)  # fractions of the height the horizon is held to
_STRONG_EDGE = 0.8  # Sobel magnitude (8x the per-pixel step) that counts as a sharp edge

KIND_SKY, KIND_GROUND, KIND_BACKDROP = 0, 1, 2


@dataclass(frozen=True)
class PhotoAnalysis:
    image: np.ndarray  # [h, w, 3] float32 sRGB in [0, 1], working resolution
    sky: np.ndarray  # [h, w] bool
    horizon_v: float  # row of the horizon in working pixels (may lie outside the image)
    camera: Camera  # the photo's camera in world coordinates, working resolution
    depth: np.ndarray  # [h, w] float32 distance along each pixel's ray, metres; inf for sky
    kind: np.ndarray  # [h, w] uint8: KIND_SKY, KIND_GROUND or KIND_BACKDROP
    lift_radius_m: float  # ground farther than this is folded onto the backdrop

    @property
    def camera_height_m(self) -> float:
        return float(self.camera.position[1])


def to_working_resolution(photo: np.ndarray, width: int = WORK_WIDTH) -> np.ndarray:
    """[H, W, 3] uint8 -> [h, width, 3] float32 in [0, 1] by area averaging (never upsamples)."""
    height, full_width = photo.shape[:2]
    width = min(width, full_width)
    new_height = max(1, round(height * width / full_width))
    resized = Image.fromarray(photo).resize((width, new_height), Image.Resampling.BOX)
    return np.asarray(resized, dtype=np.float32) / 255.0


def detect_sky(image: np.ndarray) -> np.ndarray:
    """[h, w] bool: bright, blue-or-grey regions free of sharp edges, connected to the top edge,
    kept per column as the unbroken run from the top.

    Clouds have soft gradients but few sharp edges; buildings, masts and foliage have many. So the
    test is the local density of strong edges, not the gradient itself.
    """
    grey = image.mean(axis=2)
    smooth = ndimage.gaussian_filter(grey, 1.0)
    gradient = np.hypot(ndimage.sobel(smooth, axis=0), ndimage.sobel(smooth, axis=1))
    edge_density = ndimage.gaussian_filter((gradient > _STRONG_EDGE).astype(np.float64), 2.5)
    brightness = image.max(axis=2)
    saturation = brightness - image.min(axis=2)
    blue_or_grey = (image[..., 2] >= image[..., 0] - 0.02) | (saturation < 0.2)
    candidate = (brightness > 0.45) & (grey > 0.35) & blue_or_grey & (edge_density < 0.06)
    labels, _ = ndimage.label(candidate)
    top_labels = np.unique(labels[:3][labels[:3] > 0])
    grown = np.isin(labels, top_labels)
    # Keep the run from the top in each column: nothing stands above the sky.
    sky = np.cumprod(grown, axis=0).astype(bool)
    # Thin slivers (gaps between masts, leaves) are noise at this resolution.
    sky = ndimage.binary_opening(sky, structure=np.ones((3, 3)))
    if sky.mean() < 0.01:
        return np.zeros_like(sky)
    return sky


def estimate_horizon(sky: np.ndarray) -> float:
    """Row of the horizon: at or below most of the skyline, since the sky never dips under the
    horizon (objects only ever stand up into it); held to the band where photos taken to show a
    place put it, because haze that reads as sky can reach far below it."""
    h = sky.shape[0]
    sky_rows = sky.sum(axis=0)
    columns_with_sky = sky_rows > 0
    if columns_with_sky.mean() < 0.1:
        return DEFAULT_HORIZON_FRACTION * h
    skyline = sky_rows[columns_with_sky].astype(np.float64)
    return float(np.clip(np.percentile(skyline, 90) + 1.0, HORIZON_BAND[0] * h, HORIZON_BAND[1] * h))


def estimate_camera(horizon_v: float, width: int, height: int) -> Camera:
    """The camera from the horizon: pitch from where the horizon sits, height from the scale prior."""
    fx = (width / 2.0) / math.tan(math.radians(HORIZONTAL_FOV_DEG) / 2.0)
    intrinsics = Intrinsics(width, height, fx, fx, width / 2.0, height / 2.0)
    pitch = math.atan2(intrinsics.cy - horizon_v, fx)  # > 0 looks down
    bottom_below_horizontal = pitch + math.atan2(height - intrinsics.cy, fx)
    camera_height = BOTTOM_ROW_DISTANCE_M * math.tan(max(bottom_below_horizontal, 1e-3))
    camera_height = float(np.clip(camera_height, MIN_CAMERA_HEIGHT_M, MAX_CAMERA_HEIGHT_M))
    forward = (0.0, -math.sin(pitch), -math.cos(pitch))
    return Camera.looking((0.0, camera_height, 0.0), forward, intrinsics)


def lift_depth(camera: Camera, sky: np.ndarray, lift_radius_m: float) -> tuple[np.ndarray, np.ndarray]:
    """Distance along each pixel's ray and its kind: ground plane, backdrop at ``lift_radius_m``, sky."""
    rays = camera.pixel_rays()  # [h, w, 3]
    height = camera.position[1]
    horizontal = np.hypot(rays[..., 0], rays[..., 2])
    down = -rays[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_ground = np.where(down > 1e-6, height / down, np.inf)
        t_backdrop = lift_radius_m / np.maximum(horizontal, 1e-6)
    on_ground = t_ground * horizontal <= lift_radius_m
    depth = np.where(on_ground, t_ground, t_backdrop)
    kind = np.where(on_ground, KIND_GROUND, KIND_BACKDROP).astype(np.uint8)
    kind[sky] = KIND_SKY
    depth = np.where(sky, np.inf, depth).astype(np.float32)
    return depth, kind


def analyse(photo: np.ndarray, lift_radius_m: float) -> PhotoAnalysis:
    image = to_working_resolution(photo)
    sky = detect_sky(image)
    horizon_v = estimate_horizon(sky)
    # Nothing below the horizon is sky: what looked like it there is haze over far terrain.
    sky &= (np.arange(sky.shape[0]) + 0.5 < horizon_v)[:, None]
    camera = estimate_camera(horizon_v, image.shape[1], image.shape[0])
    depth, kind = lift_depth(camera, sky, lift_radius_m)
    return PhotoAnalysis(image, sky, horizon_v, camera, depth, kind, lift_radius_m)
