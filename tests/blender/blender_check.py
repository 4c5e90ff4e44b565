"""Run by a Python that has Blender's ``bpy`` (see tests/blender/README.md): import each file
given with Blender's own importers, as an artist would, and print one JSON object per file:
the objects made, their vertex counts, the vertex attributes, and the world-space bounds in
Blender's frame (Z up). Use: python blender_check.py FILE.glb|FILE.ply ..."""

from __future__ import annotations

import json
import sys

import bpy
from mathutils import Vector


def _import(path: str) -> list:
    bpy.ops.wm.read_factory_settings(use_empty=True)
    if path.endswith(".glb") or path.endswith(".gltf"):
        bpy.ops.import_scene.gltf(filepath=path)
    elif path.endswith(".ply"):
        bpy.ops.wm.ply_import(filepath=path)
    else:
        raise SystemExit(f"no Blender importer for {path}")
    return [o for o in bpy.context.scene.objects if o.type == "MESH"]


def _report(path: str) -> dict:
    objects = _import(path)
    corners = [o.matrix_world @ Vector(c) for o in objects for c in o.bound_box]
    lo = [min(c[i] for c in corners) for i in range(3)] if corners else []
    hi = [max(c[i] for c in corners) for i in range(3)] if corners else []
    return {
        "blender": bpy.app.version_string,
        "objects": len(objects),
        "vertices": sum(len(o.data.vertices) for o in objects),
        "images": len(bpy.data.images),
        "attributes": sorted({a.name for o in objects for a in o.data.attributes}),
        "bounds": [lo, hi],
    }


print(json.dumps({path: _report(path) for path in sys.argv[1:]}))
