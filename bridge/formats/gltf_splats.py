"""Splats in glTF: a tile as a GLB with the ``KHR_gaussian_splatting`` extension.

Written against the extension's text in KhronosGroup/glTF (extensions/2.0/Khronos/
KHR_gaussian_splatting, "Release Candidate"), the form Cesium and other 3D Tiles runtimes load.

What the file holds: one node translated to the tile's corner (x0, 0, z0), as in the mesh GLB,
so positions are small float32 numbers; one mesh with one ``POINTS`` (mode 0) primitive whose
attributes are, per splat (all float32, tightly packed, one buffer view each):

=========================================== ====== ============================================
attribute                                   type   value
=========================================== ====== ============================================
POSITION                                    VEC3   centre, metres, node-local (min/max given)
COLOR_0                                     VEC4   fallback point colour: *linear* RGB (the
                                                   sRGB colour clamped to [0, 1] and decoded, as
                                                   glTF's COLOR_0 is linear) and A = opacity
KHR_gaussian_splatting:ROTATION             VEC4   unit quaternion, glTF order x, y, z, w
KHR_gaussian_splatting:SCALE                VEC3   standard deviations, metres, linear (not log)
KHR_gaussian_splatting:OPACITY              SCALAR opacity after the sigmoid, in [0, 1]
KHR_gaussian_splatting:SH_DEGREE_0_COEF_0   VEC3   degree-0 SH coefficient: (colour - 0.5) / C0
=========================================== ====== ============================================

and the primitive's extension object ``{"kernel": "ellipse", "colorSpace": "srgb_rec709_display",
"projection": "perspective", "sortingMethod": "cameraDistance"}`` (our colours are display sRGB,
as 3DGS trains them). The extension is in ``extensionsUsed`` but not ``extensionsRequired``: a
viewer without it still shows a coloured point cloud.

Frame: glTF's axes, right-handed, +Y up, metres -- our world frame; nothing is converted.

Validator note: glTF-Validator 2.0.0-dev.3.10 predates the extension, so it reports each
``KHR_gaussian_splatting:*`` attribute as MESH_PRIMITIVE_INVALID_ATTRIBUTE (core glTF only allows
application-specific semantics that start with "_");
:func:`bridge.formats.gltf_splat_check.check_gaussian_splatting` checks those attributes against
the extension's own rules instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bridge.formats._gltf import JSON_ERRORS, Glb, GlbBuilder, json_index, read_glb
from bridge.formats._quat import normalised_xyzw
from bridge.formats.colour import srgb_to_linear
from bridge.formats.splats import SH_C0, SplatCloud, TileContent

EXTENSION = "KHR_gaussian_splatting"
ROTATION = f"{EXTENSION}:ROTATION"
SCALE = f"{EXTENSION}:SCALE"
OPACITY = f"{EXTENSION}:OPACITY"
SH_DC = f"{EXTENSION}:SH_DEGREE_0_COEF_0"
SPLAT_ATTRIBUTES = (ROTATION, SCALE, OPACITY, SH_DC)
EXTENSION_OBJECT = {
    "kernel": "ellipse",
    "colorSpace": "srgb_rec709_display",
    "projection": "perspective",
    "sortingMethod": "cameraDistance",
}


def encode_gltf_splats(
    splats: SplatCloud, *, origin: tuple[float, float, float] = (0.0, 0.0, 0.0), name: str = "splats"
) -> bytes:
    """A GLB with one KHR_gaussian_splatting primitive; positions are stored relative to
    ``origin``, which becomes the node's translation (world = origin + POSITION)."""
    if not splats.is_finite():
        raise ValueError("KHR_gaussian_splatting cannot store non-finite splat values")
    if np.any(splats.scales < 0):
        raise ValueError("KHR_gaussian_splatting scales must not be negative")
    positions = (splats.positions.astype(np.float64) - np.asarray(origin)).astype(np.float32)
    colors = splats.colors.astype(np.float64)
    opacity = np.clip(splats.opacities.astype(np.float64), 0.0, 1.0)
    color0 = np.concatenate([srgb_to_linear(colors), opacity[:, None]], axis=1).astype(np.float32)

    glb = GlbBuilder()
    glb.gltf["asset"]["generator"] = "WorldBridge gltf_splats"
    glb.use_extension(EXTENSION)
    attributes = {
        "POSITION": glb.accessor(positions, bounds=True),
        "COLOR_0": glb.accessor(color0),
        ROTATION: glb.accessor(normalised_xyzw(splats.rotations).astype(np.float32)),
        SCALE: glb.accessor(splats.scales.astype(np.float32)),
        OPACITY: glb.accessor(opacity.astype(np.float32)),
        SH_DC: glb.accessor(((colors - 0.5) / SH_C0).astype(np.float32)),
    }
    primitive = {"attributes": attributes, "mode": 0, "extensions": {EXTENSION: dict(EXTENSION_OBJECT)}}
    mesh = glb.add("meshes", {"name": name, "primitives": [primitive]})
    node: dict[str, Any] = {"name": name, "mesh": mesh}
    if any(origin):
        node["translation"] = [float(v) for v in origin]
    glb.gltf["scenes"] = [{"nodes": [glb.add("nodes", node)]}]
    glb.gltf["scene"] = 0
    return glb.to_glb()


def encode_tile_gltf_splats(content: TileContent, base_tile_m: float) -> bytes:
    x0, z0, _, _ = content.key.bounds(base_tile_m)
    return encode_gltf_splats(content.splats, origin=(x0, 0.0, z0), name=f"tile {content.key}")


def splat_primitives(glb: Glb) -> list[tuple[dict[str, Any], np.ndarray]]:
    """(primitive, node translation) for every splat primitive reachable from a node.
    ValueError for JSON of the wrong shape (hostile JSON can put any type anywhere)."""
    gltf = glb.gltf
    out = []
    try:
        for node in gltf.get("nodes", []):
            if "mesh" not in node:
                continue
            if any(k in node for k in ("rotation", "scale", "matrix")) or "children" in node:
                raise ValueError("only translated nodes without children are read from splat GLBs")
            translation = np.asarray(node.get("translation", [0.0, 0.0, 0.0]), dtype=np.float64)
            if translation.shape != (3,) or not np.isfinite(translation).all():
                raise ValueError(f"node translation {node.get('translation')!r} is not three finite numbers")
            for prim in gltf["meshes"][json_index(node["mesh"])]["primitives"]:
                extensions = prim.get("extensions", {})
                if isinstance(extensions, dict) and EXTENSION in extensions:
                    if not isinstance(extensions[EXTENSION], dict) or not isinstance(prim.get("attributes"), dict):
                        raise ValueError(f"{EXTENSION} primitive has a malformed extension or attributes")
                    out.append((prim, translation))
    except JSON_ERRORS as exc:
        raise ValueError(f"glTF JSON is malformed: {exc!r}") from exc
    return out


def decode_gltf_splats(data: bytes) -> SplatCloud:
    """Read every KHR_gaussian_splatting primitive of a GLB (float attributes) into one cloud in
    world coordinates (node translation applied); ValueError if malformed or not splats."""
    glb = read_glb(data)
    clouds = []
    for prim, translation in splat_primitives(glb):
        attrs = prim.get("attributes", {})
        missing = [a for a in ("POSITION", ROTATION, SCALE, OPACITY, SH_DC) if a not in attrs]
        if missing:
            raise ValueError(f"splat primitive lacks {', '.join(missing)}")
        needed = ("POSITION", ROTATION, SCALE, OPACITY, SH_DC)
        values = {name: glb.accessor(attrs[name]) for name in needed}
        for name in needed:
            if values[name].dtype != np.float32:
                raise ValueError(f"{name} is not float32; quantised splat attributes are not read")
            if not np.isfinite(values[name]).all():
                raise ValueError(f"{name} holds non-finite values")
        for name, width in (("POSITION", 3), (ROTATION, 4), (SCALE, 3), (SH_DC, 3)):
            if values[name].ndim != 2 or values[name].shape[1] != width:
                raise ValueError(f"{name} must have {width} components")
        if values[OPACITY].ndim != 1:
            raise ValueError(f"{OPACITY} must be a scalar")
        n = values["POSITION"].shape[0]
        if any(v.shape[0] != n for v in values.values()):
            raise ValueError("splat attributes disagree on the splat count")
        q = values[ROTATION][:, [3, 0, 1, 2]]
        clouds.append(
            SplatCloud.from_arrays(
                values["POSITION"].astype(np.float64) + translation,
                values[SCALE],
                q,
                values[OPACITY],
                0.5 + SH_C0 * values[SH_DC],
            )
        )
    if not clouds:
        raise ValueError(f"the GLB holds no {EXTENSION} primitive")
    cloud = SplatCloud.concat(clouds)
    if not cloud.is_finite():  # a huge translation can still overflow float32
        raise ValueError("splat positions overflow float32")
    return cloud
