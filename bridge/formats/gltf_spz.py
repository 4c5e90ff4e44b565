"""Splats in glTF, SPZ-compressed: ``KHR_gaussian_splatting`` + ``KHR_gaussian_splatting_compression_spz_2``.

The tile content of the live 3D Tiles endpoint (bridge/api/tiles3d_routes.py), the form CesiumJS
(@cesium/engine 26.x) and Cesium for Unreal read. Written against the extension's text
(KhronosGroup/glTF, extensions/2.0/Khronos/KHR_gaussian_splatting_compression_spz_2, "Draft"):

- one ``POINTS`` primitive; its ``KHR_gaussian_splatting`` object carries, in its own
  ``extensions``, ``{"KHR_gaussian_splatting_compression_spz_2": {"bufferView": 0}}``: buffer view 0
  holds a whole SPZ **version 2** file (gzip, 3-byte rotations), the version the extension names;
- the attributes are accessors with no buffer view (the data is in the SPZ), typed as what a
  reader makes of the SPZ once decoded: ``POSITION`` float VEC3 (with min/max, as glTF requires),
  ``COLOR_0`` unsigned-byte normalised VEC4 (RGB = 0.5 + C0 * f_dc, A = opacity),
  ``KHR_gaussian_splatting:SCALE`` float VEC3 (exp of SPZ's log scales),
  ``KHR_gaussian_splatting:ROTATION`` float VEC4 (x, y, z, w). COLOR_0 must be bytes: CesiumJS
  views its decoded colours through the accessor's component type.
- both extensions are in ``extensionsUsed`` and ``extensionsRequired`` (there is no uncompressed
  fallback to show without them).

Frame: the extension says to pack with SPZ's ``LUF`` option from glTF data, but CesiumJS (the
reader this serves) unpacks with ``UNSPECIFIED``, taking the stored numbers as glTF coordinates.
We therefore store glTF-frame (= our world frame) values unconverted, which is also what packing
with LUF would store, as LUF is glTF's own naming of its axes (x left, y up, z front); our
``spz`` tile format calls the same numbers RUB because SPZ's default frame is a right-handed
Y-up frame too -- no axis is flipped anywhere.

Positions are world metres, with no node transform: SPZ's 24-bit fixed point picks the fraction
bits per tile (bridge.formats.spz.choose_fractional_bits: 0.25 mm near the origin, about 4 mm
32 km out), so every tile of a world shares one frame and needs no per-tile transform.
"""

from __future__ import annotations

import numpy as np

from bridge.formats._gltf import GlbBuilder, read_glb
from bridge.formats.gltf_splats import EXTENSION, EXTENSION_OBJECT, ROTATION, SCALE, splat_primitives
from bridge.formats.splats import SplatCloud, TileContent
from bridge.formats.spz import decode_spz, encode_spz

COMPRESSION = "KHR_gaussian_splatting_compression_spz_2"
SPZ_VERSION = 2  # the extension wraps "v2 of the SPZ compression format"
_FLOAT, _UBYTE = 5126, 5121


def encode_gltf_spz(splats: SplatCloud, *, name: str = "splats") -> bytes:
    """A GLB whose one splat primitive is ``splats`` (world frame) as an SPZ v2 payload. A cloud
    with no splats gives a GLB with an empty scene (glTF accessors cannot have count 0)."""
    glb = GlbBuilder()
    glb.gltf["asset"]["generator"] = "WorldBridge gltf_spz"
    n = len(splats)
    if n == 0:
        glb.gltf["scenes"] = [{"nodes": []}]
        glb.gltf["scene"] = 0
        return glb.to_glb()
    payload = encode_spz(splats, version=SPZ_VERSION)
    # POSITION's bounds are those of the positions a reader decodes (fixed point), so they hold.
    decoded = decode_spz(payload).positions.astype(np.float32)
    view = glb.buffer_view(payload)
    glb.use_extension(EXTENSION, required=True)
    glb.use_extension(COMPRESSION, required=True)

    def accessor(component: int, kind: str, **extra: object) -> int:
        return glb.add("accessors", {"componentType": component, "count": n, "type": kind, **extra})

    attributes = {
        "POSITION": accessor(
            _FLOAT, "VEC3", min=[float(v) for v in decoded.min(axis=0)], max=[float(v) for v in decoded.max(axis=0)]
        ),
        "COLOR_0": accessor(_UBYTE, "VEC4", normalized=True),
        SCALE: accessor(_FLOAT, "VEC3"),
        ROTATION: accessor(_FLOAT, "VEC4"),
    }
    splatting = {**EXTENSION_OBJECT, "extensions": {COMPRESSION: {"bufferView": view}}}
    primitive = {"attributes": attributes, "mode": 0, "extensions": {EXTENSION: splatting}}
    mesh = glb.add("meshes", {"name": name, "primitives": [primitive]})
    glb.gltf["scenes"] = [{"nodes": [glb.add("nodes", {"name": name, "mesh": mesh})]}]
    glb.gltf["scene"] = 0
    return glb.to_glb()


def encode_tile_gltf_spz(content: TileContent, base_tile_m: float) -> bytes:
    """One tile (``base_tile_m`` unused: positions are world metres, no node transform)."""
    return encode_gltf_spz(content.splats, name=f"tile {content.key}")


def decode_gltf_spz(data: bytes) -> SplatCloud:
    """The splats of every SPZ-compressed splat primitive of a GLB, in world coordinates (node
    translation applied); ValueError if malformed or if it holds none."""
    glb = read_glb(data)
    clouds = []
    for prim, translation in splat_primitives(glb):
        nested = prim["extensions"][EXTENSION].get("extensions", {})
        if not isinstance(nested, dict) or not isinstance(nested.get(COMPRESSION), dict):
            continue
        cloud = decode_spz(glb.view_bytes(nested[COMPRESSION].get("bufferView")))
        if translation.any():
            cloud = SplatCloud.from_arrays(
                cloud.positions + translation, cloud.scales, cloud.rotations, cloud.opacities, cloud.colors
            )
        clouds.append(cloud)
    if not clouds:
        raise ValueError(f"the GLB holds no {COMPRESSION} primitive")
    cloud = SplatCloud.concat(clouds)
    if not cloud.is_finite():  # a huge translation can overflow float32
        raise ValueError("splat positions overflow float32")
    return cloud
