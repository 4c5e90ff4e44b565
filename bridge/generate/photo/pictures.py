"""Pictures of the photo analysis, so a person can check what the generator believed."""

from __future__ import annotations

import io

import numpy as np
from PIL import Image, ImageDraw

from bridge.generate.photo.analysis import KIND_BACKDROP, KIND_GROUND, KIND_SKY, KIND_UPRIGHT, PhotoAnalysis
from bridge.generate.photo.materials import GroundMaterials
from bridge.generate.photo.palette import Swatch, region_palettes
from bridge.generate.photo.scene import LAYER_NAMES, LAYER_SKY, SceneReading

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


# One colour per scene layer (LAYER_* order), as the scene picture's legend names them.
_LAYER_COLOURS = np.array(
    [
        (70, 140, 255),  # sky
        (150, 110, 210),  # far
        (230, 60, 60),  # built
        (40, 190, 40),  # vegetation
        (0, 220, 230),  # water
        (200, 200, 200),  # paved
        (220, 180, 90),  # natural
        (255, 0, 255),  # object
    ],
    dtype=np.uint8,
)
_FACADE_PX = 150  # height the facades are shown at in the scene picture


def scene_picture(analysis: PhotoAnalysis, reading: SceneReading) -> np.ndarray:
    """The scene reading on the photo: each layer tinted with its colour (legend beneath, with
    each layer's share), the street's heading as an arrow on the ground and the facades
    rectified, their measured storeys and bays drawn as lines."""
    photo = np.round(analysis.image * 255).astype(np.float64)
    tinted = Image.fromarray(np.round(photo * 0.45 + _LAYER_COLOURS[reading.layers] * 0.55).astype(np.uint8))
    _draw_heading(ImageDraw.Draw(tinted), analysis, reading)
    legend = _legend(reading, tinted.width)
    facades = _facade_strip(reading, tinted.width)
    out = Image.new("RGB", (tinted.width, tinted.height + legend.height + facades.height), (17, 17, 17))
    out.paste(tinted, (0, 0))
    out.paste(legend, (0, tinted.height))
    out.paste(facades, (0, tinted.height + legend.height))
    return np.asarray(out)


def _draw_heading(draw: ImageDraw.ImageDraw, analysis: PhotoAnalysis, reading: SceneReading) -> None:
    """An arrow along the ground from near the camera out along the street's heading."""
    hx, hz = (float(v) for v in reading.street_heading)
    along = np.array([[hx * d, 0.0, hz * d] for d in (8.0, 60.0)]) + analysis.camera.position * [1, 0, 1]
    uv, z = analysis.camera.project(along)
    if not (z > 0).all():
        return
    (u0, v0), (u1, v1) = uv
    draw.line([(u0, v0), (u1, v1)], fill=(255, 255, 0), width=3)
    angle = np.arctan2(v1 - v0, u1 - u0)
    for side in (-0.5, 0.5):
        barb = (u1 - 14 * np.cos(angle + side), v1 - 14 * np.sin(angle + side))
        draw.line([(u1, v1), barb], fill=(255, 255, 0), width=3)
    width = f", {reading.street_width_m:.1f} m wide" if reading.street_width_m > 0 else ", no street"
    draw.text((u1 + 6, v1 - 14), f"heading ({hx:+.2f}, {hz:+.2f}){width}", fill=(255, 255, 0))


def _legend(reading: SceneReading, width: int) -> Image.Image:
    legend = Image.new("RGB", (width, 44), (17, 17, 17))
    draw = ImageDraw.Draw(legend)
    shares = reading.mix.as_array()
    slot = width // 4
    for layer, name in enumerate(LAYER_NAMES):
        x, y = (layer % 4) * slot + 6, 4 + (layer // 4) * 20
        draw.rectangle([x, y, x + 14, y + 14], fill=tuple(int(c) for c in _LAYER_COLOURS[layer]))
        share = "" if layer == LAYER_SKY else f" {shares[layer - 1]:.0%}"
        draw.text((x + 20, y + 2), f"{name}{share}", fill=(238, 238, 238))
    return legend


def _facade_strip(reading: SceneReading, width: int) -> Image.Image:
    """The facades side by side at one height, storey lines (cyan) and bay lines (yellow) drawn
    at their measured periods from the facade's foot and left edge."""
    strip = Image.new("RGB", (width, _FACADE_PX + 36), (17, 17, 17))
    draw = ImageDraw.Draw(strip)
    low, high = reading.building_height_m
    draw.text(
        (6, 4),
        f"built {low:.0f}-{high:.0f} m high; relief {reading.relief_m:.0f} m, roughness {reading.roughness:.2f}",
        fill=(238, 238, 238),
    )
    if not reading.facades:
        draw.text((6, 24), "no facade", fill=(150, 150, 150))
    slot = width // 3
    for index, facade in enumerate(reading.facades[:3]):
        h, w = facade.texture.shape[:2]
        scale = min(_FACADE_PX / h, (slot - 12) / w)  # shown pixels per texel
        shown = Image.fromarray(np.round(np.clip(facade.texture, 0, 1) * 255).astype(np.uint8))
        shown = shown.resize((max(1, round(w * scale)), max(1, round(h * scale))), Image.Resampling.BILINEAR)
        lines = ImageDraw.Draw(shown)
        step = scale / facade.metres_per_px  # shown pixels per metre
        if facade.storey_m > 0:
            for y in np.arange(shown.height, 0, -facade.storey_m * step):
                lines.line([(0, y), (shown.width, y)], fill=(0, 255, 255), width=1)
        if facade.bay_m > 0:
            for bx in np.arange(0, shown.width, facade.bay_m * step):
                lines.line([(bx, 0), (bx, shown.height)], fill=(255, 255, 0), width=1)
        x = index * slot + 6
        strip.paste(shown, (x, 20 + _FACADE_PX - shown.height))
        label = f"storey {facade.storey_m:.1f} m, bay {facade.bay_m:.1f} m, {w * facade.metres_per_px:.0f} m wide"
        draw.text((x, _FACADE_PX + 22), label, fill=(238, 238, 238))
    return strip
