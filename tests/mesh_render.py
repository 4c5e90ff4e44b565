"""A small textured-triangle rasteriser for GLB mesh tiles (test and bench support, no tests here).

It draws what an engine would: every node's primitives (node translation applied), back faces
culled (glTF materials are single-sided unless they say otherwise), a depth buffer, and the
baseColor texture sampled bilinearly at perspective-correct UVs (no mipmaps). Triangles that
cross the camera's near plane are left out; keep the camera a little away from the mesh.
Small scenes only: it makes every (triangle, pixel) pair of each triangle's bounding box.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

import numpy as np
from PIL import Image

from bridge.formats._gltf import read_glb
from bridge.world.camera import Camera

NEAR = 0.05


@dataclass(frozen=True)
class MeshImage:
    image: np.ndarray  # [H, W, 3] float in [0, 1]; background where nothing was drawn
    covered: np.ndarray  # [H, W] bool
    depth: np.ndarray  # [H, W] view depth, inf where nothing was drawn
    world: np.ndarray  # [H, W, 3] the surface point drawn, NaN where nothing was


@dataclass(frozen=True)
class Triangles:
    corners: np.ndarray  # [T, 3, 3] world metres
    uvs: np.ndarray  # [T, 3, 2]
    texture: np.ndarray  # [T] index into textures
    textures: list[np.ndarray]  # [h, w, 3] float images


def glb_triangles(glbs: list[bytes]) -> Triangles:
    """Every triangle of every primitive of every GLB, in world coordinates."""
    corners, uvs, tex_ids, textures = [], [], [], []
    for glb in glbs:
        g = read_glb(glb)
        for node in g.gltf["nodes"]:
            offset = np.asarray(node.get("translation", [0.0, 0.0, 0.0]))
            for prim in g.gltf["meshes"][node["mesh"]]["primitives"]:
                pos = g.accessor(prim["attributes"]["POSITION"]).astype(np.float64) + offset
                uv = g.accessor(prim["attributes"]["TEXCOORD_0"]).astype(np.float64)
                tri = g.accessor(prim["indices"]).astype(np.int64).reshape(-1, 3)
                material = g.gltf["materials"][prim["material"]]
                source = g.gltf["textures"][material["pbrMetallicRoughness"]["baseColorTexture"]["index"]]["source"]
                data = g.view_bytes(g.gltf["images"][source]["bufferView"])
                textures.append(np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), np.float64) / 255)
                corners.append(pos[tri])
                uvs.append(uv[tri])
                tex_ids.append(np.full(len(tri), len(textures) - 1))
    return Triangles(np.concatenate(corners), np.concatenate(uvs), np.concatenate(tex_ids), textures)


def _sample(texture: np.ndarray, uv: np.ndarray) -> np.ndarray:
    """Bilinear, clamped to the edge (the tiles' sampler)."""
    h, w = texture.shape[:2]
    x = np.clip(uv[:, 0] * w - 0.5, 0, w - 1)
    y = np.clip(uv[:, 1] * h - 0.5, 0, h - 1)
    x0, y0 = (
        np.minimum(np.floor(x).astype(int), w - 2 if w > 1 else 0),
        np.minimum(np.floor(y).astype(int), h - 2 if h > 1 else 0),
    )
    x1, y1 = np.minimum(x0 + 1, w - 1), np.minimum(y0 + 1, h - 1)
    fx, fy = (x - x0)[:, None], (y - y0)[:, None]
    top = texture[y0, x0] * (1 - fx) + texture[y0, x1] * fx
    bottom = texture[y1, x0] * (1 - fx) + texture[y1, x1] * fx
    return top * (1 - fy) + bottom * fy


def render_triangles(
    tris: Triangles,
    camera: Camera,
    background: tuple[float, float, float] = (0.0, 0.0, 0.0),
    *,
    cull: bool = True,
    chunk: int = 4096,
) -> MeshImage:
    """Draw ``tris`` through ``camera``; ``cull=False`` draws back faces too (to find holes:
    through a hole in a closed surface one sees a back face first)."""
    k = camera.intrinsics
    width, height = k.width, k.height
    view = camera.view_matrix_opencv()
    cam = tris.corners @ view[:3, :3].T + view[:3, 3]  # [T, 3, 3], OpenCV: x right, y down, z ahead
    normal = np.cross(tris.corners[:, 1] - tris.corners[:, 0], tris.corners[:, 2] - tris.corners[:, 0])
    front = np.einsum("ij,ij->i", normal, tris.corners[:, 0] - camera.position) < 0
    keep = np.flatnonzero((front | (not cull)) & (cam[:, :, 2] > NEAR).all(axis=1))
    best_depth = np.full(width * height, np.inf)
    best_tri = np.full(width * height, -1)
    best_bary = np.zeros((width * height, 3))
    for start in range(0, len(keep), chunk):
        ids = keep[start : start + chunk]
        c = cam[ids]
        sx = k.fx * c[:, :, 0] / c[:, :, 2] + k.cx
        sy = k.fy * c[:, :, 1] / c[:, :, 2] + k.cy
        x_lo = np.clip(np.ceil(sx.min(1) - 0.5), 0, width).astype(np.int64)
        x_hi = np.clip(np.floor(sx.max(1) - 0.5) + 1, 0, width).astype(np.int64)
        y_lo = np.clip(np.ceil(sy.min(1) - 0.5), 0, height).astype(np.int64)
        y_hi = np.clip(np.floor(sy.max(1) - 0.5) + 1, 0, height).astype(np.int64)
        bw, bh = np.maximum(x_hi - x_lo, 0), np.maximum(y_hi - y_lo, 0)
        counts = bw * bh
        if counts.sum() == 0:
            continue
        owner = np.repeat(np.arange(len(ids)), counts)
        local = np.arange(counts.sum()) - np.repeat(np.cumsum(counts) - counts, counts)
        px = x_lo[owner] + local % bw[owner]
        py = y_lo[owner] + local // bw[owner]
        fx, fy = px + 0.5, py + 0.5
        ax, ay = sx[owner, 0], sy[owner, 0]
        bx, by = sx[owner, 1], sy[owner, 1]
        cx, cy = sx[owner, 2], sy[owner, 2]
        area = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)
        with np.errstate(divide="ignore", invalid="ignore"):
            w0 = ((bx - fx) * (cy - fy) - (by - fy) * (cx - fx)) / area
            w1 = ((cx - fx) * (ay - fy) - (cy - fy) * (ax - fx)) / area
        w2 = 1 - w0 - w1
        inside = (w0 >= 0) & (w1 >= 0) & (w2 >= 0) & (area != 0)
        bary = np.stack([w0, w1, w2], 1)[inside]
        owner, pixel = owner[inside], (py * width + px)[inside]
        inv_z = bary / c[owner, :, 2]  # perspective-correct weights
        depth = 1.0 / inv_z.sum(1)
        persp = inv_z * depth[:, None]
        order = np.lexsort((depth, pixel))
        pixel, depth, persp, owner = pixel[order], depth[order], persp[order], owner[order]
        first = np.ones(len(pixel), bool)
        first[1:] = pixel[1:] != pixel[:-1]
        pixel, depth, persp, owner = pixel[first], depth[first], persp[first], owner[first]
        better = depth < best_depth[pixel]
        best_depth[pixel[better]] = depth[better]
        best_tri[pixel[better]] = ids[owner[better]]
        best_bary[pixel[better]] = persp[better]
    image = np.tile(np.asarray(background, np.float64), (width * height, 1))
    world = np.full((width * height, 3), np.nan)
    drawn = np.flatnonzero(best_tri >= 0)
    tri, bary = best_tri[drawn], best_bary[drawn]
    uv = np.einsum("pi,pij->pj", bary, tris.uvs[tri])
    world[drawn] = np.einsum("pi,pij->pj", bary, tris.corners[tri])
    for t, texture in enumerate(tris.textures):
        mine = tris.texture[tri] == t
        image[drawn[mine]] = _sample(texture, uv[mine])
    return MeshImage(
        image.reshape(height, width, 3),
        (best_tri >= 0).reshape(height, width),
        best_depth.reshape(height, width),
        world.reshape(height, width, 3),
    )


def render_glbs(
    glbs: list[bytes], camera: Camera, background: tuple[float, float, float] = (0.0, 0.0, 0.0)
) -> MeshImage:
    return render_triangles(glb_triangles(glbs), camera, background)
