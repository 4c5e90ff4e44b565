"""A tile as a textured glTF 2.0 mesh (GLB): the fallback where splats are too heavy to draw.

What the file holds:
- one node, translated to the tile's corner (x0, 0, z0) in world metres, so vertex positions
  stay small float32 numbers however far the tile is from the origin (the translation is a JSON
  double). ``extras.worldbridge`` names the tile key and the base tile edge.
- one triangle mesh: the tile's heightfield ``heights[S+1, S+1]`` (row r at z0 + r * edge / S,
  column c at x0 + c * edge / S) as a regular grid, two triangles per cell, counter-clockwise
  seen from above (+Y), with per-vertex normals from the heightfield's slopes and UVs (u along
  +x, v along +z, both 0..1 across the tile). Neighbouring tiles of one LOD share their border
  samples, so their border vertices coincide exactly.
- skirts: each border repeated ``skirt_m`` lower, stitched to it by outward-facing quads. Where a
  tile meets a coarser (or finer) neighbour, the two borders differ by how the coarser one cuts
  between samples; the skirt hangs below both and fills that sliver, so no crack shows.
- a baseColor texture baked from the tile's splats seen from above (opacity-weighted splat
  colours deposited into a texel grid, smoothed by a normalised Gaussian at the splats' own size,
  holes filled from the nearest texel), sRGB as glTF requires, clamped at the edges. JPEG by
  default (quality 90, no chroma subsampling: ~44 dB against the baked image at a quarter of
  the PNG's bytes, and the texture is most of the file); PNG on request, lossless.
  The material is ``KHR_materials_unlit`` (with a plain PBR fallback, metallic 0, rough 1): the
  colours come from a photo and already hold its lighting, as the splats' do.

Frame: glTF's axes, right-handed, +Y up, metres -- our world frame, no conversion.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from PIL import Image

from bridge.formats._gltf import ELEMENT_ARRAY_BUFFER, GlbBuilder
from bridge.formats.mesh_standing import GUTTER, build_standing, find_blocks, ground_under
from bridge.formats.splats import TileContent
from bridge.formats.texture_bake import deposit, fill_holes, to_srgb8
from bridge.world.keys import TileKey

DEFAULT_TEXTURE_SIZE = 256
UNLIT = "KHR_materials_unlit"
# glTF sampler enums.
LINEAR = 9729
LINEAR_MIPMAP_LINEAR = 9987
CLAMP_TO_EDGE = 33071


def grid_vertices(heights: np.ndarray, edge: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(positions [V, 3] tile-local metres, normals [V, 3], uvs [V, 2]) of the heightfield grid,
    row-major: vertex r * (S + 1) + c sits at (c * edge / S, heights[r, c], r * edge / S)."""
    s = heights.shape[0] - 1
    spacing = edge / s
    coords = np.arange(s + 1) * spacing
    zz, xx = np.meshgrid(coords, coords, indexing="ij")
    positions = np.stack([xx, heights.astype(np.float64), zz], axis=-1).reshape(-1, 3)
    dh_dz, dh_dx = np.gradient(heights.astype(np.float64), spacing)
    normals = np.stack([-dh_dx, np.ones_like(dh_dx), -dh_dz], axis=-1).reshape(-1, 3)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    uv = np.arange(s + 1) / s
    vv, uu = np.meshgrid(uv, uv, indexing="ij")
    return positions, normals, np.stack([uu, vv], axis=-1).reshape(-1, 2)


def grid_triangles(s: int) -> np.ndarray:
    """[2 S^2, 3] indices, counter-clockwise seen from +Y (x right, z towards the viewer)."""
    r, c = np.meshgrid(np.arange(s), np.arange(s), indexing="ij")
    v00 = (r * (s + 1) + c).ravel()
    v01, v10, v11 = v00 + 1, v00 + s + 1, v00 + s + 2
    # (x, z) -> (x, z + dz) -> (x + dx, z): cross((0,0,1), (1,0,0)) = +Y, so this winding faces up.
    return np.concatenate([np.stack([v00, v10, v01], 1), np.stack([v01, v10, v11], 1)])


def border_loops(s: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """The four borders as (grid vertex indices in order, outward direction in x-z)."""
    idx = np.arange((s + 1) ** 2).reshape(s + 1, s + 1)
    return [
        (idx[0, :], np.array([0.0, -1.0])),  # z = z0
        (idx[-1, :], np.array([0.0, 1.0])),  # z = z1
        (idx[:, 0], np.array([-1.0, 0.0])),  # x = x0
        (idx[:, -1], np.array([1.0, 0.0])),  # x = x1
    ]


def default_skirt_m(heights: np.ndarray, edge: float) -> float:
    """How far skirts hang: enough to cover the gap to a neighbour up to 4x coarser.

    A coarser border interpolates linearly between every 2nd / 4th sample; the gap is the largest
    distance between this border and that interpolation. Twice that, and never under half a
    sample spacing or 0.25 m, so a flat tile still gets a skirt that hides float round-off.
    """
    s = heights.shape[0] - 1
    gap = 0.0
    for line in (heights[0], heights[-1], heights[:, 0], heights[:, -1]):
        for step in (2, 4):
            if s % step == 0:
                coarse = np.interp(np.arange(s + 1), np.arange(0, s + 1, step), line[::step])
                gap = max(gap, float(np.abs(line - coarse).max()))
    return max(2.0 * gap, 0.5 * edge / s, 0.25)


def build_mesh(heights: np.ndarray, edge: float, skirt_m: float) -> dict[str, np.ndarray]:
    """Vertex attributes and indices of the heightfield plus skirts, tile-local."""
    s = heights.shape[0] - 1
    positions, normals, uvs = grid_vertices(heights, edge)
    triangles = [grid_triangles(s)]
    extra_pos, extra_norm, extra_uv = [positions], [normals], [uvs]
    next_index = positions.shape[0]
    for loop, outward in border_loops(s):
        top = loop
        bottom = next_index + np.arange(loop.size)
        next_index += loop.size
        lowered = positions[loop].copy()
        lowered[:, 1] -= skirt_m
        extra_pos.append(lowered)
        extra_norm.append(normals[loop])
        extra_uv.append(uvs[loop])
        quads = np.concatenate(
            [np.stack([top[:-1], bottom[:-1], top[1:]], 1), np.stack([top[1:], bottom[:-1], bottom[1:]], 1)]
        )
        # Pick the winding whose face normal points out of the tile (front faces are CCW).
        a, b, c = (positions[top[0]], lowered[0], positions[top[1]])
        normal = np.cross(b - a, c - a)
        if normal[0] * outward[0] + normal[2] * outward[1] < 0:
            quads = quads[:, [0, 2, 1]]
        triangles.append(quads)
    return {
        "positions": np.concatenate(extra_pos).astype(np.float32),
        "normals": np.concatenate(extra_norm).astype(np.float32),
        "uvs": np.concatenate(extra_uv).astype(np.float32),
        "indices": np.concatenate(triangles).astype(np.int64),
    }


def bake_texture(
    content: TileContent, base_tile_m: float, size: int = DEFAULT_TEXTURE_SIZE, leave_out: np.ndarray | None = None
) -> np.ndarray:
    """[size, size, 3] uint8 sRGB: the tile's splats seen from straight above.

    Row i covers z0 + (i + 0.5) * edge / size (v grows with +z), column j likewise along +x.
    Splats near the ground count fully; those well above it (upright objects, a lifted photo's
    facades) fade to 5 %, so what stands on the ground tints it without painting over it.
    ``leave_out`` [N] bool: splats not painted at all (those the tile's blocks carry).
    """
    x0, z0, x1, _ = content.key.bounds(base_tile_m)
    edge = x1 - x0
    splats = content.splats
    texel = edge / size
    pos = splats.positions.astype(np.float64)
    fx = (pos[:, 0] - x0) / texel - 0.5
    fz = (pos[:, 2] - z0) / texel - 0.5
    inside = (fx > -1) & (fx < size) & (fz > -1) & (fz < size)
    # The smoothing follows all the tile's splats, those left out too: the ground stays as sharp
    # as it was when they were painted.
    sigma_from = inside.copy()
    if leave_out is not None:
        inside &= ~leave_out
    ground = ground_under(np.asarray(content.heights), edge, pos[:, 0] - x0, pos[:, 2] - z0)
    band = max(2.0, 4 * texel)
    height_weight = np.maximum(0.05, np.exp(-0.5 * ((pos[:, 1] - ground) / band) ** 2))
    footprint = np.sqrt(splats.scales[:, 0].astype(np.float64) * splats.scales[:, 2])
    weight = np.where(inside, splats.opacities * height_weight * np.maximum(footprint / texel, 0.25) ** 2, 0.0)
    sigma = float(np.clip(np.median(footprint[sigma_from]) / texel, 0.5, size / 8)) if sigma_from.any() else 1.0
    image, covered = deposit(fz, fx, weight, splats.colors, (size, size), sigma)
    if not covered.any():
        return np.full((size, size, 3), 128, dtype=np.uint8)  # an empty tile: neutral grey
    return to_srgb8(fill_holes(image, covered))


TEXTURE_FORMATS = {"jpeg": "image/jpeg", "png": "image/png"}


def encode_image(image: np.ndarray, texture_format: str = "jpeg") -> bytes:
    out = io.BytesIO()
    if texture_format == "jpeg":
        Image.fromarray(image, "RGB").save(out, format="JPEG", quality=90, subsampling=0)
    elif texture_format == "png":
        Image.fromarray(image, "RGB").save(out, format="PNG", compress_level=6)
    else:
        raise ValueError(f"texture format {texture_format!r} is not one of {', '.join(TEXTURE_FORMATS)}")
    return out.getvalue()


@dataclass(frozen=True)
class MeshTile:
    """One tile's mesh and baked texture, ready to be placed in a GLB (alone or with others)."""

    key: TileKey
    corner: tuple[float, float]  # (x0, z0), world metres: the node's translation
    base_tile_m: float
    skirt_m: float
    mesh: dict[str, np.ndarray]  # see build_mesh
    image: bytes  # the baked texture, encoded
    mime_type: str


def mesh_tile(
    content: TileContent,
    base_tile_m: float,
    *,
    texture_size: int = DEFAULT_TEXTURE_SIZE,
    texture_format: str = "jpeg",
    skirt_m: float | None = None,
    standing: bool = True,
) -> MeshTile:
    """The tile's heightfield mesh with skirts, the blocks of what stands on it (unless
    ``standing`` is False: the ground alone, as format revision 1 made it) and a texture baked
    from its splats."""
    heights = np.asarray(content.heights)
    if heights.ndim != 2 or heights.shape[0] != heights.shape[1] or heights.shape[0] < 2:
        raise ValueError(f"tile heights must be [S+1, S+1] with S >= 1, not {heights.shape}")
    if not np.isfinite(heights).all():
        raise ValueError("tile heights hold non-finite values")
    if texture_size < 1 or texture_size & (texture_size - 1):
        raise ValueError(f"texture size {texture_size} must be a power of two (for mipmaps)")
    if texture_format not in TEXTURE_FORMATS:
        raise ValueError(f"texture format {texture_format!r} is not one of {', '.join(TEXTURE_FORMATS)}")
    x0, z0, x1, _ = content.key.bounds(base_tile_m)
    edge = x1 - x0
    skirt = default_skirt_m(heights, edge) if skirt_m is None else float(skirt_m)
    mesh = build_mesh(heights, edge, skirt)
    blocks = find_blocks(content, edge, x0, z0) if standing and texture_size > 4 * GUTTER else None
    if blocks is None:  # bare ground: the ground texture alone, u and v 0..1 over the tile
        image = bake_texture(content, base_tile_m, texture_size)
    else:
        ground = bake_texture(content, base_tile_m, texture_size - 2 * GUTTER, leave_out=blocks.carried)
        extra = build_standing(content, blocks, x0, z0, texture_size, ground.astype(np.float64) / 255)
        scale, offset = extra.ground_uv
        mesh["uvs"] = (mesh["uvs"] * scale + offset).astype(np.float32)
        n = mesh["positions"].shape[0]
        for name in ("positions", "normals", "uvs"):
            mesh[name] = np.concatenate([mesh[name], extra.mesh[name].astype(np.float32)])
        mesh["indices"] = np.concatenate([mesh["indices"], extra.mesh["indices"] + n])
        image = to_srgb8(extra.atlas)
    return MeshTile(
        content.key,
        (x0, z0),
        base_tile_m,
        skirt,
        mesh,
        encode_image(image, texture_format),
        TEXTURE_FORMATS[texture_format],
    )


def encode_glb_mesh(
    content: TileContent,
    base_tile_m: float,
    *,
    texture_size: int = DEFAULT_TEXTURE_SIZE,
    texture_format: str = "jpeg",
    skirt_m: float | None = None,
    standing: bool = True,
) -> bytes:
    """The tile as a GLB: heightfield mesh with skirts, the blocks of what stands on it, and a
    texture baked from its splats (see :func:`mesh_tile`)."""
    tile = mesh_tile(
        content,
        base_tile_m,
        texture_size=texture_size,
        texture_format=texture_format,
        skirt_m=skirt_m,
        standing=standing,
    )
    return encode_glb_meshes([tile])


def encode_glb_meshes(tiles: Sequence[MeshTile]) -> bytes:
    """One GLB holding ``tiles``: a node per tile (at its corner), each with its own mesh,
    material and texture, all in one scene (a merged export: one file for a whole region)."""
    glb = GlbBuilder()
    glb.gltf["asset"]["generator"] = "WorldBridge glb_mesh"
    glb.use_extension(UNLIT)
    sampler: int | None = None
    nodes = []
    for tile in tiles:
        mesh = tile.mesh
        index_type = np.uint16 if mesh["positions"].shape[0] <= 0xFFFF else np.uint32
        attributes = {
            "POSITION": glb.accessor(mesh["positions"], bounds=True),
            "NORMAL": glb.accessor(mesh["normals"]),
            "TEXCOORD_0": glb.accessor(mesh["uvs"]),
        }
        indices = glb.accessor(mesh["indices"].reshape(-1).astype(index_type), target=ELEMENT_ARRAY_BUFFER)
        image = glb.image(tile.image, tile.mime_type)
        if sampler is None:  # one sampler serves every texture
            sampler = glb.add(
                "samplers",
                {
                    "magFilter": LINEAR,
                    "minFilter": LINEAR_MIPMAP_LINEAR,
                    "wrapS": CLAMP_TO_EDGE,
                    "wrapT": CLAMP_TO_EDGE,
                },
            )
        texture = glb.add("textures", {"sampler": sampler, "source": image})
        material: dict[str, Any] = {
            "name": "baked splats",
            "pbrMetallicRoughness": {
                "baseColorTexture": {"index": texture},
                "metallicFactor": 0.0,
                "roughnessFactor": 1.0,
            },
            "extensions": {UNLIT: {}},
        }
        primitive = {
            "attributes": attributes,
            "indices": indices,
            "material": glb.add("materials", material),
            "mode": 4,
        }
        mesh_index = glb.add("meshes", {"name": f"tile {tile.key}", "primitives": [primitive]})
        extras = {"worldbridge": {"key": str(tile.key), "base_tile_m": tile.base_tile_m, "skirt_m": tile.skirt_m}}
        node = {
            "name": f"tile {tile.key}",
            "mesh": mesh_index,
            "translation": [float(tile.corner[0]), 0.0, float(tile.corner[1])],
            "extras": extras,
        }
        nodes.append(glb.add("nodes", node))
    glb.gltf["scenes"] = [{"nodes": nodes}]
    glb.gltf["scene"] = 0
    return glb.to_glb()
