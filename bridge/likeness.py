"""How much a rendered view looks like the photo: the likeness figures of the quality report.

Three figures per view, each a ratio to the photo so 1 (or 0 for the colour) means "as the photo"
(see DESIGN.md, "The quality report", and :mod:`bridge.quality` for the views they are taken of):

- ``structure_ratio``: the share of the view above the horizon covered by non-sky splats
  (accumulated opacity >= 0.5), over the same share in the photo's own spawn view. The sky is drawn
  as a background panorama, not splats, so the renderer's alpha is the non-sky coverage. A pixel is
  above the horizon when its camera ray points upwards; for a camera without roll that is every row
  above the horizon row, where the rays are horizontal. A photo whose own view has (almost) nothing
  standing above its horizon (a beach, a plain) leaves nothing to compare to: structure is exempt
  (under STRUCTURE_MIN_SHARE covered more than EXEMPT_CLEARANCE_DEG above the horizon).
- ``sharpness_ratio``: the mean luminance gradient magnitude of the view at half its resolution,
  over the same of the photo area-resized to the view's resolution.
- ``colour_distance``: the earth mover's distance between CIELAB histograms of the view and of the
  photo, over the median of that distance between the photo and the other sample photos (the
  reference histograms shipped in ``bridge/assets/colour_references.json``, made by
  ``scripts/colour_references.py``; a photo that is one of them is left out of its own median).
  The distance is the sum over L*, a* and b* of the 1-D Wasserstein-1 distances between the
  channels' marginal histograms (bins of 2 CIELAB units), in CIELAB units: not the full 3-D EMD,
  which would also see how the channels go together, but exact per channel and cheap.

Also here: sampling the ground height through the generator contract (for eye heights), turning a
camera, the splat cloud as standard renderers draw it, and the RGBA pictures of the views.
"""

from __future__ import annotations

import hashlib
import json
import math
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

import numpy as np
from PIL import Image

from bridge.formats.colour import srgb_to_lab
from bridge.formats.splats import SplatCloud, TileContent
from bridge.generate.base import Generator, PreparedWorld
from bridge.render.images import resize_area, to_uint8
from bridge.render.rasterize import RenderResult
from bridge.world.camera import Camera
from bridge.world.keys import TileKey, tile_at

COVERED_ALPHA = 0.5  # accumulated opacity from which a pixel counts as covered by what stands
# Structure is exempt when the photo's own view has less than this share of its part more than
# EXEMPT_CLEARANCE_DEG above the horizon covered: the photo shows (almost) nothing standing there,
# so a ratio to it means nothing. The clearance keeps out the far ground, which grazes the horizon
# and, drawn as splats at least a pixel wide, spills a row or two over it at any resolution.
STRUCTURE_MIN_SHARE = 0.03
EXEMPT_CLEARANCE_DEG = 2.0
STANDARD_MAX_OPACITY = 0.99  # what standard renderers cap a splat's opacity at
LUMA = np.array([0.2126, 0.7152, 0.0722])  # Rec. 709 weights, on the sRGB values
# CIELAB histogram bins, (low, high, count) per channel: 2 units wide; sRGB's gamut lies within
# L* 0..100, a* -87..99, b* -108..95; anything outside lands in the end bins.
LAB_BINS = ((0.0, 100.0, 50), (-128.0, 128.0, 128), (-128.0, 128.0, 128))
REFERENCES_FILE = "colour_references.json"


# ---------------------------------------------------------------------------------------------
# Colour
# ---------------------------------------------------------------------------------------------


def lab_histogram(rgb: np.ndarray) -> list[np.ndarray]:
    """Per CIELAB channel, the int64 pixel counts in :data:`LAB_BINS` of an [H, W, 3] sRGB image."""
    lab = srgb_to_lab(rgb).reshape(-1, 3)
    counts = []
    for channel, (low, high, n) in enumerate(LAB_BINS):
        index = np.clip(((lab[:, channel] - low) / (high - low) * n).astype(np.int64), 0, n - 1)
        counts.append(np.bincount(index, minlength=n).astype(np.int64))
    return counts


def colour_emd(first: list[np.ndarray], second: list[np.ndarray]) -> float:
    """Earth mover's distance between two :func:`lab_histogram` results, in CIELAB units: the sum
    over L*, a*, b* of the 1-D Wasserstein-1 distances between the channels' normalised histograms
    (bin width times the summed absolute difference of their cumulative distributions)."""
    total = 0.0
    for (low, high, n), p, q in zip(LAB_BINS, first, second, strict=True):
        cdf_p = np.cumsum(p / max(p.sum(), 1))
        cdf_q = np.cumsum(q / max(q.sum(), 1))
        total += float(np.abs(cdf_p - cdf_q)[:-1].sum()) * (high - low) / n
    return total


def pixels_sha256(rgb: np.ndarray) -> str:
    """The identity of a decoded photo: sha256 of its shape and uint8 pixels."""
    array = np.ascontiguousarray(rgb, dtype=np.uint8)
    return hashlib.sha256(repr(array.shape).encode() + array.tobytes()).hexdigest()


@dataclass(frozen=True)
class ColourReference:
    name: str
    pixels_sha256: str
    histogram: list[np.ndarray]


def reference_document(photos: dict[str, np.ndarray]) -> dict:
    """The JSON document of :data:`REFERENCES_FILE` for decoded sample photos (name -> [H, W, 3] uint8)."""
    return {
        "about": "CIELAB histograms of the sample photos, the scale of the quality report's colour_distance "
        "(bridge/likeness.py); made by scripts/colour_references.py",
        "bins": [list(b) for b in LAB_BINS],
        "photos": [
            {"name": name, "pixels_sha256": pixels_sha256(rgb), "histogram": [h.tolist() for h in lab_histogram(rgb)]}
            for name, rgb in sorted(photos.items())
        ],
    }


@cache
def colour_references(path: Path | None = None) -> tuple[ColourReference, ...]:
    """The shipped reference histograms (or those in ``path``)."""
    source = path or Path(str(resources.files("bridge.assets").joinpath(REFERENCES_FILE)))
    document = json.loads(source.read_text())
    if document["bins"] != [list(b) for b in LAB_BINS]:
        raise ValueError(f"{source} was made with other histogram bins; rerun scripts/colour_references.py")
    return tuple(
        ColourReference(p["name"], p["pixels_sha256"], [np.asarray(h, np.int64) for h in p["histogram"]])
        for p in document["photos"]
    )


def colour_scale(photo: np.ndarray, references: tuple[ColourReference, ...] | None = None) -> tuple[float, int]:
    """(median EMD between ``photo`` and the other reference photos, how many there were). A
    reference is the photo itself when its pixels' sha256 or its histogram is the photo's."""
    histogram = lab_histogram(photo)
    sha = pixels_sha256(photo)
    others = [
        r
        for r in (colour_references() if references is None else references)
        if r.pixels_sha256 != sha and not all(np.array_equal(a, b) for a, b in zip(r.histogram, histogram, strict=True))
    ]
    if not others:
        raise ValueError("no reference photo other than this one: colour_distance has no scale")
    return float(np.median([colour_emd(histogram, r.histogram) for r in others])), len(others)


# ---------------------------------------------------------------------------------------------
# Sharpness and structure
# ---------------------------------------------------------------------------------------------


def sharpness(image: np.ndarray) -> float:
    """Mean luminance gradient magnitude (central differences, per pixel) of an [H, W, 3] image in
    [0, 1] (or uint8) area-resized to half its resolution."""
    rgb = resize_area(image, max(1, image.shape[1] // 2), max(1, image.shape[0] // 2))
    luminance = rgb.astype(np.float64) @ LUMA
    gy, gx = np.gradient(luminance)
    return float(np.hypot(gx, gy).mean())


def above_horizon(camera: Camera, clearance_deg: float = 0.0) -> np.ndarray:
    """[H, W] bool: the pixels whose rays point more than ``clearance_deg`` above the horizontal."""
    return camera.pixel_rays()[..., 1] > math.sin(math.radians(clearance_deg))


def covered_above_horizon(alpha: np.ndarray, camera: Camera, clearance_deg: float = 0.0) -> float | None:
    """The share of the view above the horizon (by more than ``clearance_deg``) covered by splats
    (alpha >= COVERED_ALPHA); None when no pixel is there."""
    above = above_horizon(camera, clearance_deg)
    if not above.any():
        return None
    return float((alpha[above] >= COVERED_ALPHA).mean())


@dataclass(frozen=True)
class LikenessReference:
    """The photo's side of every ratio, for views of one resolution."""

    covered_above_horizon: float | None  # in the photo's own spawn view
    covered_clear_of_horizon: float | None  # the same, more than EXEMPT_CLEARANCE_DEG above it
    sharpness: float  # of the photo at the views' resolution
    histogram: list[np.ndarray]  # of the photo
    colour_scale: float  # median EMD from the photo to the other sample photos
    colour_references: int  # how many photos that median is over

    @classmethod
    def of(cls, photo: np.ndarray, spawn_view: RenderResult, spawn: Camera) -> LikenessReference:
        """``photo``: [H, W, 3] uint8; ``spawn_view``: the photo's own view through ``spawn``, at the
        resolution the likeness views are rendered at."""
        k = spawn.intrinsics
        scale, count = colour_scale(photo)
        return cls(
            covered_above_horizon(spawn_view.alpha, spawn),
            covered_above_horizon(spawn_view.alpha, spawn, EXEMPT_CLEARANCE_DEG),
            sharpness(resize_area(photo, k.width, k.height)),
            lab_histogram(photo),
            scale,
            count,
        )

    @property
    def structure_exempt(self) -> str | None:
        """Why structure is not measured for this photo, or None when it is."""
        share = self.covered_clear_of_horizon
        if share is None:
            return f"the photo's own view shows nothing more than {EXEMPT_CLEARANCE_DEG:g} degrees above the horizon"
        if share < STRUCTURE_MIN_SHARE:
            return (
                f"the photo's own view has {share:.1%} of its part more than {EXEMPT_CLEARANCE_DEG:g} degrees above "
                f"the horizon covered by what stands (under {STRUCTURE_MIN_SHARE:.0%}): nothing to compare to"
            )
        return None

    def figures(self, name: str, view: RenderResult, camera: Camera) -> dict:
        """The likeness entry of one view."""
        covered = covered_above_horizon(view.alpha, camera)
        exempt = self.structure_exempt
        entry: dict = {"view": name}
        reference = self.covered_above_horizon
        if exempt is not None or reference is None:
            entry["structure_ratio"] = None
            entry["structure_exempt"] = exempt
        else:
            entry["structure_ratio"] = _rounded(None if covered is None else covered / reference)
        entry["sharpness_ratio"] = round(sharpness(view.image) / max(self.sharpness, 1e-12), 4)
        entry["colour_distance"] = round(colour_emd(lab_histogram(view.image), self.histogram) / self.colour_scale, 4)
        entry["covered_above_horizon"] = _rounded(covered)
        return entry

    def summary(self) -> dict:
        return {
            "covered_above_horizon": _rounded(self.covered_above_horizon),
            "covered_clear_of_horizon": _rounded(self.covered_clear_of_horizon),
            "structure_exempt": self.structure_exempt,
            "photo_sharpness": round(self.sharpness, 6),
            "colour_scale_emd": round(self.colour_scale, 3),
            "colour_references": self.colour_references,
        }


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


# ---------------------------------------------------------------------------------------------
# Views: where the eye is, where it looks, what it draws
# ---------------------------------------------------------------------------------------------


class GroundSampler:
    """The ground height anywhere, through the generator contract: the LOD-0 tile under a point is
    generated locally and its ``TileContent.heights`` grid interpolated bilinearly (tiles cached)."""

    def __init__(self, generator: Generator, world: PreparedWorld) -> None:
        self.generator = generator
        self.world = world
        self.base = world.options.base_tile_m
        self._tiles: dict[TileKey, TileContent] = {}

    def height(self, x: float, z: float) -> float:
        key = tile_at(x, z, 0, self.base)
        if key not in self._tiles:
            self._tiles[key] = self.generator.generate(self.world, key)
        heights = np.asarray(self._tiles[key].heights, np.float64)
        cells = heights.shape[0] - 1
        x0, z0, x1, _ = key.bounds(self.base)
        fx = (x - x0) / (x1 - x0) * cells
        fz = (z - z0) / (x1 - x0) * cells
        c = min(max(math.floor(fx), 0), cells - 1)
        r = min(max(math.floor(fz), 0), cells - 1)
        tx, tz = fx - c, fz - r
        top = heights[r, c] * (1 - tx) + heights[r, c + 1] * tx
        bottom = heights[r + 1, c] * (1 - tx) + heights[r + 1, c + 1] * tx
        return float(top * (1 - tz) + bottom * tz)


def turned(camera: Camera, degrees: float) -> Camera:
    """``camera`` turned about the world's vertical by ``degrees`` to the right (clockwise seen from
    above), keeping its pitch, roll and intrinsics."""
    a = math.radians(-degrees)  # turning right is a negative rotation about +Y
    about_y = np.array([[math.cos(a), 0.0, math.sin(a)], [0.0, 1.0, 0.0], [-math.sin(a), 0.0, math.cos(a)]])
    return Camera(camera.intrinsics, camera.position, about_y @ camera.rotation)


def standard_cloud(cloud: SplatCloud) -> SplatCloud:
    """The cloud as standard renderers draw it: colours clipped to [0, 1] (they store 8-bit
    colours) and opacities capped at :data:`STANDARD_MAX_OPACITY`. Positions and shapes unchanged."""
    return SplatCloud(
        cloud.positions,
        cloud.scales,
        cloud.rotations,
        np.minimum(cloud.opacities, np.float32(STANDARD_MAX_OPACITY)),
        np.clip(cloud.colors, 0.0, 1.0),
    )


def save_rgba(view: RenderResult, path: Path) -> Path:
    """The view as an RGBA PNG: colour over the sky, alpha the accumulated opacity of the splats
    (the non-sky coverage), both 8-bit."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rgba = np.dstack([to_uint8(view.image), to_uint8(view.alpha)])
    Image.fromarray(rgba, "RGBA").save(path, format="PNG")
    return path
