"""GLB files for the landmark tests, made with trimesh from real shapes and real photo pixels."""

from __future__ import annotations

import numpy as np
import trimesh
from PIL import Image

from tests.conftest import photo_path

TOWER_M = (6.0, 18.0, 6.0)  # width, height, depth


def red_lacquer() -> Image.Image:
    """The reddest 96 x 96 patch of the pagoda photo (its lacquered pillars): the tower's texture."""
    photo = np.asarray(Image.open(photo_path("lyra2_01")).convert("RGB"), np.float64)
    redness = photo[..., 0] - photo[..., 1:].max(axis=2)
    best, at = -1.0, (0, 0)
    for y in range(0, photo.shape[0] - 96, 32):
        for x in range(0, photo.shape[1] - 96, 32):
            score = float(redness[y : y + 96, x : x + 96].mean())
            if score > best:
                best, at = score, (y, x)
    y, x = at
    return Image.fromarray(photo[y : y + 96, x : x + 96].astype(np.uint8))


def tower_glb(texture: Image.Image) -> bytes:
    """A square tower, its walls and top wearing ``texture`` (each face the whole patch), foot at y = 0."""
    box = trimesh.creation.box(TOWER_M)
    box.apply_translation([0, TOWER_M[1] / 2, 0])
    box.unmerge_vertices()  # each face its own corners, so each face its own UVs
    corners = box.vertices[box.faces]  # [m, 3, 3]
    axis = np.abs(box.face_normals).argmax(axis=1)
    lo, hi = box.bounds
    uv = np.zeros((len(box.vertices), 2))
    for f, a in enumerate(axis):
        across = [(2, 1), (0, 2), (0, 1)][a]  # the two axes spanning the face
        for k in range(3):
            p = (corners[f, k] - lo) / (hi - lo)
            uv[box.faces[f, k]] = [p[across[0]], p[across[1]]]
    box.visual = trimesh.visual.TextureVisuals(
        uv=uv, material=trimesh.visual.material.PBRMaterial(baseColorTexture=texture)
    )
    return trimesh.Scene(box).export(file_type="glb")


def points_only_glb() -> bytes:
    """A GLB with a point cloud and no triangles."""
    cloud = trimesh.PointCloud(np.asarray(trimesh.creation.box((2, 2, 2)).vertices))
    return trimesh.Scene(cloud).export(file_type="glb")


def many_instances_glb(instances: int) -> bytes:
    """One 81,920-triangle sphere placed ``instances`` times: a small file of many triangles."""
    sphere = trimesh.creation.icosphere(subdivisions=6)
    scene = trimesh.Scene()
    for i in range(instances):
        scene.add_geometry(
            sphere,
            geom_name="sphere",
            node_name=f"sphere{i}",
            transform=trimesh.transformations.translation_matrix([3.0 * i, 0, 0]),
        )
    return scene.export(file_type="glb")


def nan_glb() -> bytes:
    box = trimesh.creation.box((2, 2, 2))
    vertices = np.asarray(box.vertices).copy()
    vertices[3] = [np.nan, 0.0, 0.0]
    return trimesh.Scene(trimesh.Trimesh(vertices, box.faces, process=False)).export(file_type="glb")
