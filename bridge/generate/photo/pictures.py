"""Pictures of the photo analysis, so a person can check what the generator believed."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from bridge.generate.photo.analysis import KIND_BACKDROP, KIND_GROUND, KIND_SKY, KIND_UPRIGHT, PhotoAnalysis
from bridge.generate.photo.materials import GroundMaterials
from bridge.generate.photo.palette import Swatch, region_palettes

_KIND_COLOURS = {
    KIND_SKY: (70, 140, 255),
    KIND_GROUND: (90, 200, 90),
    KIND_BACKDROP: (230, 150, 60),
    KIND_UPRIGHT: (230, 60, 200),
}


def png(image: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(image).save(out, format="PNG", optimize=False, compress_level=1)
    return out.getvalue()


def depth_picture(analysis: PhotoAnalysis) -> np.ndarray:
    """Log depth as a warm-near, cool-far ramp; sky in black."""
    depth = analysis.depth
    finite = np.isfinite(depth)
    out = np.zeros((*depth.shape, 3), dtype=np.uint8)
    if finite.any():
        logd = np.log(depth[finite])
        t = (logd - logd.min()) / max(float(np.ptp(logd)), 1e-6)
        ramp = np.stack([1.0 - t, 0.35 + 0.3 * (1 - np.abs(t - 0.5) * 2), t], axis=1)
        out[finite] = np.round(ramp * 255).astype(np.uint8)
    return out


def segmentation_picture(analysis: PhotoAnalysis) -> np.ndarray:
    photo = np.round(analysis.image * 255).astype(np.float64)
    overlay = np.zeros_like(photo)
    for kind, colour in _KIND_COLOURS.items():
        overlay[analysis.kind == kind] = colour
    return np.round(photo * 0.45 + overlay * 0.55).astype(np.uint8)


def horizon_picture(analysis: PhotoAnalysis) -> np.ndarray:
    image = Image.fromarray(np.round(analysis.image * 255).astype(np.uint8))
    draw = ImageDraw.Draw(image)
    y = analysis.horizon_v
    draw.line([(0, y), (image.width, y)], fill=(255, 40, 40), width=2)
    draw.text(
        (6, max(2, y - 14)),
        f"horizon, camera {analysis.camera_height_m:.1f} m up",
        fill=(255, 255, 255),
    )
    return np.asarray(image)


def palette_picture(palettes: dict[str, list[Swatch]], width: int) -> np.ndarray:
    """One bar per region, its colours side by side, each as wide as its share of the region."""
    bar, gap, label = 36, 6, 70
    image = Image.new("RGB", (width, len(palettes) * (bar + gap) + gap), (17, 17, 17))
    draw = ImageDraw.Draw(image)
    for row, (name, swatches) in enumerate(palettes.items()):
        top = gap + row * (bar + gap)
        draw.text((6, top + bar // 2 - 6), name, fill=(238, 238, 238))
        x = float(label)
        for swatch in swatches:
            right = x + swatch.share * (width - label - gap)
            draw.rectangle([round(x), top, max(round(right) - 1, round(x)), top + bar - 1], fill=swatch.rgb)
            x = right
        if not swatches:
            draw.text((label, top + bar // 2 - 6), "(not in the photo)", fill=(150, 150, 150))
    return np.asarray(image)


def analysis_pictures(analysis: PhotoAnalysis) -> dict[str, bytes]:
    return {
        "depth": png(depth_picture(analysis)),
        "segmentation": png(segmentation_picture(analysis)),
        "horizon": png(horizon_picture(analysis)),
        "palette": png(palette_picture(region_palettes(analysis), analysis.image.shape[1])),
    }


_MATERIAL_COLOURS = ((40, 170, 255), (255, 200, 40), (255, 70, 70))  # outline of each material's square


def materials_picture(
    analysis: PhotoAnalysis, materials: GroundMaterials, field_map: np.ndarray, map_extent_m: float
) -> np.ndarray:
    """The squares each ground material was read from, outlined on the photo; below, each exemplar
    with its share, and a top-down map of which material lies where (``field_map``, [n, n, 3],
    ``map_extent_m`` across)."""
    photo = Image.fromarray(np.round(analysis.image * 255).astype(np.uint8))
    draw = ImageDraw.Draw(photo)
    for m, (centre, near, side) in enumerate(materials.squares):
        left, right, far = centre - side / 2, centre + side / 2, -near - side
        corners = np.array([[left, 0, -near], [right, 0, -near], [right, 0, far], [left, 0, far]])
        uv, _ = analysis.camera.project(corners)
        draw.polygon([(float(u), float(v)) for u, v in uv], outline=_MATERIAL_COLOURS[m], width=3)
    tile = field_map.shape[0]
    strip = Image.new("RGB", (photo.width, tile + 20), (17, 17, 17))
    strip_draw = ImageDraw.Draw(strip)
    for m, texture in enumerate(materials.textures):
        swatch = Image.fromarray(np.round(texture * 255).astype(np.uint8)).resize((tile, tile), Image.Resampling.BOX)
        x = m * (tile + 8)
        strip.paste(swatch, (x, 0))
        strip_draw.rectangle([x, 0, x + tile - 1, tile - 1], outline=_MATERIAL_COLOURS[m], width=3)
        strip_draw.text((x + 4, tile + 4), f"material {m + 1}: {materials.shares[m]:.0%}", fill=(238, 238, 238))
    map_x = photo.width - tile
    strip.paste(Image.fromarray(field_map), (map_x, 0))
    strip_draw.text((map_x + 4, tile + 4), f"where, from above ({map_extent_m:.0f} m)", fill=(238, 238, 238))
    out = Image.new("RGB", (photo.width, photo.height + strip.height))
    out.paste(photo, (0, 0))
    out.paste(strip, (0, photo.height))
    return np.asarray(out)
