"""Tile formats by name: what the server streams, the CLI writes and the exports hold.

=============== ================================================== =========================
name            what                                               file frame
=============== ================================================== =========================
``ply``         INRIA 3DGS PLY, degree-0 colour                    RDF (y down, z forward)
``spz``         Niantic SPZ version 3                              RUB (= our world frame)
``glb``         glTF 2.0 mesh: heightfield, skirts, baked texture  glTF (= our world frame)
``gltf-splats`` glTF 2.0 with KHR_gaussian_splatting               glTF (= our world frame)
``stream``      WorldBridge tile codec (quantised + zstd)          glTF (= our world frame)
=============== ================================================== =========================

Each module documents its byte layout next to its code.
"""

from __future__ import annotations

from collections.abc import Callable

from bridge.formats.glb_mesh import encode_glb_mesh
from bridge.formats.gltf_splats import decode_gltf_splats, encode_tile_gltf_splats
from bridge.formats.ply import decode_ply, encode_ply
from bridge.formats.splats import SplatCloud, TileContent
from bridge.formats.spz import decode_spz, encode_spz
from bridge.formats.tilecodec import decode_tile
from bridge.formats.tilecodec import encode_tile as encode_stream

FORMATS: tuple[str, ...] = ("ply", "spz", "glb", "gltf-splats", "stream")
MEDIA_TYPES: dict[str, str] = {
    "ply": "application/ply",
    "spz": "application/x-spz",
    "glb": "model/gltf-binary",
    "gltf-splats": "model/gltf-binary",
    "stream": "application/vnd.worldbridge.tile",
}
FILE_EXTENSIONS: dict[str, str] = {
    "ply": ".ply",
    "spz": ".spz",
    "glb": ".glb",
    "gltf-splats": ".glb",
    "stream": ".wbtc",
}
SPLAT_FORMATS: tuple[str, ...] = ("ply", "spz", "gltf-splats", "stream")  # decode_splats reads these

_ENCODERS: dict[str, Callable[[TileContent, float], bytes]] = {
    "ply": lambda content, base: encode_ply(content.splats),
    "spz": lambda content, base: encode_spz(content.splats, version=3),
    "glb": encode_glb_mesh,
    "gltf-splats": encode_tile_gltf_splats,
    "stream": lambda content, base: encode_stream(content.splats),
}
_DECODERS: dict[str, Callable[[bytes], SplatCloud]] = {
    "ply": decode_ply,
    "spz": decode_spz,
    "gltf-splats": decode_gltf_splats,
    "stream": decode_tile,
}


def encode_tile(content: TileContent, fmt: str, base_tile_m: float) -> bytes:
    """One tile in format ``fmt`` (one of ``FORMATS``); ValueError for an unknown name."""
    try:
        encoder = _ENCODERS[fmt]
    except KeyError:
        raise ValueError(f"unknown tile format {fmt!r}; known: {', '.join(FORMATS)}") from None
    return encoder(content, base_tile_m)


def decode_splats(data: bytes, fmt: str) -> SplatCloud:
    """The splats in ``data`` (world frame); ValueError if malformed or ``fmt`` holds no splats."""
    if fmt == "glb":
        raise ValueError("a 'glb' tile is a mesh; it holds no splats to decode")
    try:
        decoder = _DECODERS[fmt]
    except KeyError:
        raise ValueError(f"unknown tile format {fmt!r}; known: {', '.join(FORMATS)}") from None
    return decoder(data)
