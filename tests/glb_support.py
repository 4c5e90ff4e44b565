"""GLB files for the landmark tests, made with trimesh from real shapes and real photo pixels."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import numpy as np
import trimesh
from PIL import Image

from bench import glb_tower
from bench.glb_tower import TOWER_M, tower_glb
from bridge.formats._gltf import GlbBuilder, read_glb
from tests.conftest import photo_path

__all__ = ["TOWER_M", "edit_glb_json", "many_instances_glb", "nan_glb", "points_only_glb", "red_lacquer", "tower_glb"]


def red_lacquer() -> Image.Image:
    return glb_tower.red_lacquer(photo_path("lyra2_01"))


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


def edit_glb_json(glb: bytes, change: Callable[[dict[str, Any]], object], binary: bytes | None = None) -> bytes:
    """The same GLB with its JSON edited by ``change`` and, if given, another binary chunk."""
    g = read_glb(glb)
    gltf = json.loads(json.dumps(g.gltf))
    change(gltf)
    builder = GlbBuilder(gltf)
    builder._blob += g.binary if binary is None else binary
    return builder.to_glb()
