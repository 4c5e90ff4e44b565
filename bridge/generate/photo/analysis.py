"""Reading a single photo as a 3D scene: sky, horizon, camera and per-pixel depth.

In the tradition of "Tour into the Picture" (Horry et al. 1997) and "Automatic Photo Pop-up"
(Hoiem et al. 2005): the scene is a ground plane under a camera of unknown height, uprights
standing on it where the photo shows them meet it (:mod:`bridge.generate.photo.uprights`), a
backdrop standing at the far edge of the lifted area, and a sky at infinity. Each cue is cheap
and each has a fallback, so every photo gets a usable reading rather than an error: where
nothing reads as standing, the ground lies flat out to the backdrop.

Conventions: the camera sits at (0, height, 0) looking towards -Z, pitched down by ``pitch_rad``;
the ground is the plane y = 0. Pixel rows ``v`` grow downwards, sampled at pixel centres.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from bridge.generate.photo.haze import far_ground
from bridge.generate.photo.uprights import contact_rows, foot_distances, upright_evidence
from bridge.world.camera import Camera, Intrinsics

WORK_WIDTH = 640  # pixels: the resolution the photo is lifted at (one splat per pixel)
HORIZONTAL_FOV_DEG = 65.0  # prior for the unknown lens: a typical drone or phone main camera
BOTTOM_ROW_DISTANCE_M = 6.0  # sets the scale: the ground at the photo's bottom edge is this far
MIN_CAMERA_HEIGHT_M = 1.6
MAX_CAMERA_HEIGHT_M = 60.0
DEFAULT_HORIZON_FRACTION = 0.4  # where the horizon sits when no sky shows (looking down a bit)
HORIZON_BAND = (0.3, 0.6)  # fractions of the height the horizon is held to
UPRIGHT_RAMP_PX = 12.0  # columns over which an upright surface bends back to the backdrop at its ends
_STRONG_EDGE = 0.8  # Sobel magnitude (8x the per-pixel step) that counts as a sharp edge
_CLOUD_EDGE_DENSITY = 0.2  # share of sharp-edged pixels nearby that a cloud joined to the sky may have
_SKY_PATCH_TYPICAL = 0.1  # per channel: sky seen past something is typically the open sky's colour

KIND_SKY, KIND_GROUND, KIND_BACKDROP, KIND_UPRIGHT = 0, 1, 2, 3


@dataclass(frozen=True)
class PhotoAnalysis:
    image: np.ndarray  # [h, w, 3] float32 sRGB in [0, 1], working resolution
    sky: np.ndarray  # [h, w] bool
    horizon_v: float  # row of the horizon in working pixels (may lie outside the image)
    camera: Camera  # the photo's camera in world coordinates, working resolution
    depth: np.ndarray  # [h, w] float32 distance along each pixel's ray, metres; inf for sky
    kind: np.ndarray  # [h, w] uint8: KIND_SKY, KIND_GROUND, KIND_BACKDROP or KIND_UPRIGHT
    lift_radius_m: float  # ground farther than this is folded onto the backdrop
    # [h, w] see uprights.upright_evidence; read while preparing a world, not kept with it
    upright_evidence: np.ndarray | None = None
    # [h, w] bool, see haze.far_ground; read while preparing a world, not kept with it
    far_ground: np.ndarray | None = None

    @property
    def camera_height_m(self) -> float:
        return float(self.camera.position[1])

    def ground_reach(self) -> np.ndarray:
        """[h, w] how far out over the ground each pixel's point lies, metres (inf for sky)."""
        rays = self.camera.pixel_rays()
        return self.depth * np.hypot(rays[..., 0], rays[..., 2])


def to_working_resolution(photo: np.ndarray, width: int = WORK_WIDTH) -> np.ndarray:
    """[H, W, 3] uint8 -> [h, width, 3] float32 in [0, 1] by area averaging (never upsamples)."""
    height, full_width = photo.shape[:2]
    width = min(width, full_width)
    new_height = max(1, round(height * width / full_width))
    resized = Image.fromarray(photo).resize((width, new_height), Image.Resampling.BOX)
    return np.asarray(resized, dtype=np.float32) / 255.0


def sky_regions(image: np.ndarray) -> np.ndarray:
    """[h, w] bool: bright, blue-or-grey regions free of sharp edges, connected to the top edge.

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
    core = _touching(candidate, candidate[:3])
    # Clouds near the skyline are brighter and busier than the open sky: a looser test, for
    # regions joined to the open sky only (a white wall is held back by its windows' edges and
    # by what stands between it and the sky).
    loose = (brightness > 0.5) & (grey > 0.4) & blue_or_grey & (edge_density < _CLOUD_EDGE_DENSITY)
    return core | _touching(loose, core)


def sky_run(regions: np.ndarray) -> np.ndarray:
    """[h, w] bool: the sky regions (:func:`sky_regions`) kept per column as the unbroken run from
    the top: the sure part, which places the horizon (nothing stands above the sky)."""
    return np.cumprod(regions, axis=0).astype(bool)


def _clean_sky(sky: np.ndarray) -> np.ndarray:
    # Thin slivers (gaps between masts, leaves) are noise at this resolution.
    sky = ndimage.binary_opening(sky, structure=np.ones((3, 3)))
    if sky.mean() < 0.01:
        return np.zeros_like(sky)
    return sky


def sky_above_horizon(image: np.ndarray, regions: np.ndarray, horizon_v: float) -> np.ndarray:
    """[h, w] bool: every sky region above the horizon, including the sky seen past something in
    front of it (between rigging and sails, under a cap or an arch, below smoke), which the run
    from the top misses: the lift would stand those patches up as walls of painted sky."""
    regions = regions & (np.arange(regions.shape[0]) + 0.5 < horizon_v)[:, None]
    run = sky_run(regions)
    # Past the run, a region is sky only if it is typically the open sky's colour at its height
    # (a sky's colour changes mostly with height): a sunlit tower wall beside the sky is as bright
    # and smooth as a cloud, but not the sky's colour there. Only rows where the open sky shows
    # give a colour to compare with: below its lowest row a pale wall would be judged against a
    # colour borrowed from elsewhere.
    open_sky = _clean_sky(run)  # without the one-pixel slivers that reach down between things
    distance = np.abs(image - _sky_colour_by_row(image, open_sky)[:, None, :]).max(axis=2)
    candidates, count = ndimage.label(regions & ~run & open_sky.any(axis=1)[:, None])
    if count == 0:
        return open_sky
    # Judged per region, not per pixel: a cloud's bright edge may be far from the row's blue.
    typical = ndimage.median(distance, candidates, index=np.arange(1, count + 1))
    seen_past = np.concatenate([[False], np.asarray(typical) < _SKY_PATCH_TYPICAL])[candidates]
    return _clean_sky(run | seen_past)


def _sky_colour_by_row(image: np.ndarray, sky: np.ndarray) -> np.ndarray:
    """[h, 3] the median colour of each row's sky (zero in rows without sky)."""
    colours = np.zeros((image.shape[0], 3), dtype=np.float32)
    for row in np.flatnonzero(sky.any(axis=1)):
        colours[row] = np.median(image[row, sky[row]], axis=0)
    return colours


def skyline_rows(sky: np.ndarray) -> np.ndarray:
    """[w] int per column: the first row below its lowest sky pixel, 0 where it has no sky. The
    sky may show below something in front of it (rigging, a cap), so the skyline of what stands
    behind is where the sky ends at the bottom, not where it starts being hidden from the top."""
    lowest_up = np.argmax(sky[::-1], axis=0)  # rows up from the bottom to the lowest sky pixel
    return np.where(sky.any(axis=0), sky.shape[0] - lowest_up, 0)


def _touching(mask: np.ndarray, seeds: np.ndarray) -> np.ndarray:
    """The connected regions of ``mask`` that hold a seed (``seeds`` may cover the top rows only)."""
    labels, _ = ndimage.label(mask)
    seeded = labels[: seeds.shape[0]][seeds & mask[: seeds.shape[0]]]
    return np.isin(labels, np.unique(seeded[seeded > 0]))


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


def horizon_row(camera: Camera) -> float:
    """The image row where the camera sees the horizon (level sight lines)."""
    k = camera.intrinsics
    pitch = math.asin(float(np.clip(-camera.forward[1], -1.0, 1.0)))  # > 0 looks down
    return k.cy - k.fy * math.tan(pitch)


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


def lift_depth(
    camera: Camera, sky: np.ndarray, lift_radius_m: float, foot_m: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Distance along each pixel's ray and its kind: ground plane, upright, backdrop, sky.

    Each column's ground reaches out to where something stands on it, at ``foot_m`` (per column,
    metres over the ground; inf where nothing stands), or else to ``lift_radius_m``; the rest of
    the column stands there, upright, and is the backdrop where that is the lift radius.
    """
    rays = camera.pixel_rays()  # [h, w, 3]
    height = camera.position[1]
    horizontal = np.maximum(np.hypot(rays[..., 0], rays[..., 2]), 1e-6)
    down = -rays[..., 1]
    with np.errstate(divide="ignore", invalid="ignore"):
        t_ground = np.where(down > 1e-6, height / down, np.inf)
    stand_m = np.full(sky.shape[1], lift_radius_m)
    if foot_m is not None:
        # Smoothed in disparity: where what stands meets the backdrop, or another surface at
        # another distance, the surface bends back over a few columns instead of tearing, so a
        # step aside shows it stretched rather than a hole through to the sky.
        disparity = 1.0 / np.minimum(foot_m, lift_radius_m)
        stand_m = np.minimum(1.0 / ndimage.gaussian_filter1d(disparity, UPRIGHT_RAMP_PX, mode="nearest"), lift_radius_m)
    # The ground ends where the surface standing on it begins: no step between the two.
    on_ground = t_ground * horizontal <= stand_m[None, :]
    upright = ~on_ground & (stand_m < lift_radius_m * 0.999)[None, :]
    depth = np.where(on_ground, t_ground, stand_m[None, :] / horizontal)
    kind = np.where(on_ground, KIND_GROUND, np.where(upright, KIND_UPRIGHT, KIND_BACKDROP)).astype(np.uint8)
    kind[sky] = KIND_SKY
    depth = np.where(sky, np.inf, depth).astype(np.float32)
    return depth, kind


def analyse(photo: np.ndarray, lift_radius_m: float, camera: Camera | None = None) -> PhotoAnalysis:
    """The photo read; its camera estimated from its horizon, or ``camera`` where the picture's
    camera is known (an imported scene seen from its spawn: at x = z = 0, looking along -z)."""
    image = to_working_resolution(photo)
    regions = sky_regions(image)
    if camera is None:
        horizon_v = estimate_horizon(_clean_sky(sky_run(regions)))
        camera = estimate_camera(horizon_v, image.shape[1], image.shape[0])
    else:
        camera = camera.with_intrinsics(camera.intrinsics.scaled(image.shape[1], image.shape[0]))
        horizon_v = horizon_row(camera)
    # Nothing below the horizon is sky: what looked like it there is haze over far terrain.
    sky = sky_above_horizon(image, regions, horizon_v)
    # Where what stands meets the ground: searched below the row where each column's ground
    # reaches the lift radius, with nothing standing yet.
    _, flat_kind = lift_depth(camera, sky, lift_radius_m)
    ground = flat_kind == KIND_GROUND
    first_ground_row = np.where(ground.any(axis=0), ground.argmax(axis=0), sky.shape[0]).astype(np.float64)
    evidence = upright_evidence(image, horizon_v, camera.intrinsics.cx)
    contact = contact_rows(evidence, first_ground_row, ~sky)
    foot_m = foot_distances(camera, contact, first_ground_row, lift_radius_m)
    depth, kind = lift_depth(camera, sky, lift_radius_m, foot_m)
    far = far_ground(image, sky, horizon_v)
    return PhotoAnalysis(image, sky, horizon_v, camera, depth, kind, lift_radius_m, evidence, far)
