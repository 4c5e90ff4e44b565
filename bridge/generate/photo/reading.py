"""Scene understanding: the photo read as a :class:`~bridge.generate.photo.scene.SceneReading`.

Its layers (:mod:`bridge.generate.photo.layers`) and facades
(:mod:`bridge.generate.photo.facades`), and what the layout grammar measures from them: how high
what is built rises, the roofs', vegetation's and water's colours, the skyline and the far
terrain's relief and roughness, and the street's heading and width. Everything is measured on
the analysis' geometry (camera, horizon, lifted depth) where the photo gives one; where it
cannot (the far skyline's distance), the assumption is a named constant.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from bridge.generate.photo.analysis import KIND_GROUND, PhotoAnalysis, skyline_rows
from bridge.generate.photo.facades import facade_samples
from bridge.generate.photo.layers import classify_layers, scene_mix
from bridge.generate.photo.scene import (
    LAYER_BUILT,
    LAYER_FAR,
    LAYER_PAVED,
    LAYER_SKY,
    LAYER_VEGETATION,
    LAYER_WATER,
    SceneReading,
)
from bridge.world.camera import Camera

FAR_TERRAIN_M = 1500.0  # assumed distance of the far skyline: beyond any depth the photo gives
MAX_RELIEF_M = 400.0
ROUGH_DEG = 1.0  # rms skyline detail (degrees) that reads as half way to jagged
_SKYLINE_SIGMA_PX = 8.0  # the skyline's shape coarser than this is its form, finer its roughness
_MIN_FAR_COLUMNS = 0.05  # share of columns where far terrain must meet the sky to measure relief
_MIN_COLOUR_PIXELS = 200
_ROOF_ROWS = 8
_SKY_BLEND_ROWS = 3  # built pixels under the skyline that still carry the sky's colour
_VP_STRENGTH = 0.2  # share of the line votes a vanishing point needs to set the street's heading
_STREET_DEPTHS_M = (5.0, 40.0)  # the street's width is measured this far ahead
DEFAULT_VEGETATION = np.array([[0.13, 0.22, 0.09], [0.22, 0.34, 0.13], [0.36, 0.47, 0.2]], dtype=np.float32)
DEFAULT_WATER = np.array([0.18, 0.34, 0.4], dtype=np.float32)
DEFAULT_ROOF = np.array([0.45, 0.3, 0.25], dtype=np.float32)


def _column_rays(analysis: PhotoAnalysis, rows: np.ndarray) -> np.ndarray:
    """[w, 3] rays through each column's pixel at ``rows`` (one row per column)."""
    cols = np.arange(rows.size) + 0.5
    return analysis.camera.rays_through(cols, rows + 0.5)


def _elevation_deg(rays: np.ndarray) -> np.ndarray:
    return np.degrees(np.arctan2(rays[..., 1], np.hypot(rays[..., 0], rays[..., 2])))


def skyline_elevation(analysis: PhotoAnalysis) -> np.ndarray:
    """[w] degrees above the horizon of each column's first pixel below its sky (>= 0)."""
    # A column without sky is terrain up past the frame (row 0); one all sky ends at the bottom.
    top = np.minimum(skyline_rows(analysis.sky), analysis.sky.shape[0] - 1)
    # The top edge of the first pixel, not its centre: a column with no sky ends at the frame.
    return np.maximum(_elevation_deg(_column_rays(analysis, top - 0.5)), 0.0).astype(np.float32)


def relief_and_roughness(layers: np.ndarray, skyline_deg: np.ndarray, camera_height_m: float) -> tuple[float, float]:
    """(relief_m, roughness) of the far terrain's skyline.

    Relief: the skyline's median elevation over the columns where far terrain meets the
    sky, seen at an assumed FAR_TERRAIN_M (the photo has no depth that far), capped at
    MAX_RELIEF_M. Roughness: the rms of the skyline profile's detail finer than a few degrees,
    mapped to 0..1 (ROUGH_DEG of detail reads as half way to jagged)."""
    w = layers.shape[1]
    not_sky = layers != LAYER_SKY
    top = np.minimum(skyline_rows(~not_sky), layers.shape[0] - 1)
    far = (layers[top, np.arange(w)] == LAYER_FAR) & not_sky.any(axis=0)
    # Slivers of sky between masts or leaves are the sky mask's noise, not the skyline's shape.
    profile = ndimage.median_filter(skyline_deg.astype(np.float64), size=9, mode="nearest")
    detail = profile - ndimage.gaussian_filter1d(profile, _SKYLINE_SIGMA_PX, mode="nearest")
    measured = far if far.mean() >= _MIN_FAR_COLUMNS else np.ones(w, dtype=bool)
    rms = float(np.sqrt(np.mean(detail[measured] ** 2)))
    roughness = 1.0 - 0.5 ** (rms / ROUGH_DEG)
    if far.mean() < _MIN_FAR_COLUMNS:
        return 0.0, roughness
    elevation = np.radians(float(np.median(profile[far])))
    return float(np.clip(camera_height_m + FAR_TERRAIN_M * np.tan(elevation), 0.0, MAX_RELIEF_M)), roughness


def building_heights(analysis: PhotoAnalysis, layers: np.ndarray, reach: np.ndarray) -> tuple[float, float]:
    """25th and 75th percentile over columns of how high the top of what is built rises above
    the ground, at the distance the column's standing surface stands (0, 0 with nothing built)."""
    built = layers == LAYER_BUILT
    standing = built & (analysis.kind != KIND_GROUND) & np.isfinite(analysis.depth)
    cols = np.flatnonzero(standing.sum(axis=0) >= 4)
    if cols.size < 8:
        return 0.0, 0.0
    # What stands in a column stands at one distance (see analysis.lift_depth).
    distance = np.where(standing[:, cols], reach[:, cols], 0.0).max(axis=0)
    top = np.argmax(built[:, cols], axis=0)
    top_rays = analysis.camera.rays_through(cols + 0.5, top.astype(np.float64))
    rise = np.clip(analysis.camera_height_m + distance * np.tan(np.radians(_elevation_deg(top_rays))), 0.0, 300.0)
    low, high = np.percentile(rise, [25, 75])
    return float(low), float(high)


def _median_colour(image: np.ndarray, mask: np.ndarray, default: np.ndarray) -> np.ndarray:
    return np.median(image[mask], axis=0).astype(np.float32) if mask.sum() >= _MIN_COLOUR_PIXELS else default


def roof_colour(image: np.ndarray, layers: np.ndarray) -> np.ndarray:
    """The median colour of the top few built pixels of each built column: roofs, or the
    crowns of walls where the photo shows no roof."""
    built = layers == LAYER_BUILT
    first = np.argmax(built, axis=0)
    rows = np.arange(layers.shape[0])[:, None]
    # The first rows blend into the sky behind them: the roof's own colour starts below them.
    top = first[None, :] + _SKY_BLEND_ROWS
    crown = built & (rows >= top) & (rows < top + _ROOF_ROWS) & built.any(axis=0)[None, :]
    return _median_colour(image, crown, DEFAULT_ROOF)


def vegetation_palette(image: np.ndarray, layers: np.ndarray) -> np.ndarray:
    """[3, 3] the vegetation's colours dark to light: medians of its luminance terciles."""
    pixels = image[layers == LAYER_VEGETATION]
    if len(pixels) < _MIN_COLOUR_PIXELS:
        return DEFAULT_VEGETATION
    ordered = pixels[np.argsort(pixels.mean(axis=1), kind="stable")]
    return np.stack([np.median(part, axis=0) for part in np.array_split(ordered, 3)]).astype(np.float32)


def street(analysis: PhotoAnalysis, layers: np.ndarray, vanishing: tuple[float, float]) -> tuple[np.ndarray, float]:
    """(heading, width_m): the way the photo's street, path or waterway runs from the spawn, and
    the paved corridor's width kerb to kerb (0 without one) measured on the ground plane along
    the line from the bottom of the frame to where it heads."""
    camera = analysis.camera
    h, w = layers.shape
    vp_u, strength = vanishing
    if strength < _VP_STRENGTH:
        vp_u = _corridor_column(layers, analysis.horizon_v)
    ray = camera.rays_through(np.array([vp_u]), np.array([analysis.horizon_v]))[0]
    heading = np.array([ray[0], ray[2]]) / max(float(np.hypot(ray[0], ray[2])), 1e-9)
    # Gaps a few pixels wide (a bollard, a drain, a sunlit patch) do not end the street.
    paved = ndimage.binary_closing(layers == LAYER_PAVED, structure=np.ones((1, 15))) | (layers == LAYER_PAVED)
    widths = []
    for v in np.arange(h - 2, analysis.horizon_v + 4, -6.0):
        u = camera.intrinsics.cx + (vp_u - camera.intrinsics.cx) * (h - v) / max(h - analysis.horizon_v, 1.0)
        row, col = int(v), int(np.clip(u, 0, w - 1))
        if not paved[row, col]:
            continue
        run = paved[row]
        left = col - int(np.argmin(run[col::-1])) if not run[: col + 1].all() else 0
        right = col + int(np.argmin(run[col:])) if not run[col:].all() else w
        ends = _on_ground(camera, np.array([left, right], dtype=np.float64), np.array([v, v]))
        if ends is not None and _STREET_DEPTHS_M[0] <= -ends[:, 2].mean() <= _STREET_DEPTHS_M[1]:
            widths.append(float(np.linalg.norm(ends[1] - ends[0])))
    return heading, float(np.median(widths)) if len(widths) >= 3 else 0.0


def _corridor_column(layers: np.ndarray, horizon_v: float) -> float:
    """Where the paved ground or water reaches furthest: the mean column of it in the band of
    rows just under the horizon (the image centre where neither shows)."""
    h, w = layers.shape
    band = layers[int(np.clip(horizon_v + 2, 0, h - 1)) : int(np.clip(horizon_v + 0.15 * h, 1, h))]
    corridor = (band == LAYER_PAVED) | (band == LAYER_WATER)
    if corridor.sum() < 0.02 * corridor.size:
        return w / 2.0
    return float(np.nonzero(corridor)[1].mean() + 0.5)


def _on_ground(camera: Camera, u: np.ndarray, v: np.ndarray) -> np.ndarray | None:
    """[n, 3] where the rays through (u, v) meet the ground, None if any misses it."""
    rays = camera.rays_through(u, v)
    if (rays[:, 1] >= -1e-6).any():
        return None
    return camera.position + rays * (camera.position[1] / -rays[:, 1])[:, None]


def read_scene(analysis: PhotoAnalysis) -> SceneReading:
    """The photo read as a scene: its layers, their mix and what the layout measures from them."""
    layers, vanishing = classify_layers(analysis)
    skyline = skyline_elevation(analysis)
    relief, roughness = relief_and_roughness(layers, skyline, analysis.camera_height_m)
    heading, width = street(analysis, layers, vanishing)
    reach = analysis.ground_reach()
    return SceneReading(
        layers=layers,
        mix=scene_mix(layers),
        facades=facade_samples(analysis, layers, reach),
        building_height_m=building_heights(analysis, layers, reach),
        roof_colour=roof_colour(analysis.image, layers),
        vegetation_colours=vegetation_palette(analysis.image, layers),
        water_colour=_median_colour(analysis.image, layers == LAYER_WATER, DEFAULT_WATER),
        skyline_elevation_deg=skyline,
        relief_m=relief,
        roughness=roughness,
        street_heading=heading,
        street_width_m=width,
    )
