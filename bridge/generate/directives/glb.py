"""Uploaded GLB landmarks for ``place`` directives: checked on upload, turned into splats per tile.

A GLB is read with trimesh, every mesh instance in its scene flattened into the file's frame
(glTF: Y up, metres, like the world). Its surface is sampled on a grid of flat two-sided discs
oriented by the face normals, at a spacing the tile's detail sets, with the colour at each disc
from the glTF material: base colour texture (sRGB) times base colour factor times vertex colours
(both linear), written back as sRGB. A model with no colour at all wears the world's wall colour.

Everything here is a pure function of the file's bytes and the spacing: the same splats anywhere.
"""

from __future__ import annotations

import io
import json
import math
import struct
import threading
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np

from bridge.formats._quat import wxyz_from_matrix
from bridge.formats.splats import SplatCloud
from bridge.generate.directives.surfaces import COVER, THICKNESS
from bridge.generate.hashing import hash_to_unit

MAX_GLB_BYTES = 32 * 1024 * 1024
MAX_TRIANGLES = 2_000_000
MAX_EXTENT_M = 2048.0  # a model's size either way, after its scale: no larger than a region
MAX_MODEL_SPLATS = 600_000  # per model: a coarse tile over a huge model samples it more sparsely
MEDIA_TYPE = "model/gltf-binary"
_GLB_MAGIC = b"glTF"


class GlbError(ValueError):
    """A GLB the server will not take; the message says why."""


@dataclass(frozen=True)
class Part:
    """One mesh instance, in the file's frame, with its colour source."""

    vertices: np.ndarray  # [n, 3] float64
    faces: np.ndarray  # [m, 3] int64
    factor: np.ndarray | None  # [3] linear base colour factor
    vertex_linear: np.ndarray | None  # [n, 3] linear vertex colours
    uv: np.ndarray | None  # [n, 2], v up (trimesh's convention)
    texture: np.ndarray | None  # [h, w, 3] sRGB in [0, 1]


@dataclass(frozen=True)
class GlbModel:
    parts: tuple[Part, ...]
    triangles: int

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        allv = np.concatenate([p.vertices for p in self.parts])
        return allv.min(axis=0), allv.max(axis=0)

    def footprint_xz(self, scale: float) -> np.ndarray:
        """[k, 2] the model's vertices on the ground plane in its standing frame (centred, scaled)."""
        lo, hi = self.bounds()
        centre = (lo + hi) / 2
        allv = np.concatenate([p.vertices for p in self.parts])
        xz = (allv[:, [0, 2]] - centre[[0, 2]]) * scale
        return np.unique(np.round(xz, 2), axis=0)  # a tower's thousand vertices share a few columns


def check_header(data: bytes) -> None:
    """The cheap checks first, before trimesh reads anything: size, magic, version, length."""
    if len(data) > MAX_GLB_BYTES:
        raise GlbError(f"the GLB is {len(data)} bytes; at most {MAX_GLB_BYTES} are accepted")
    if len(data) < 20 or data[:4] != _GLB_MAGIC:
        raise GlbError("not a GLB (binary glTF 2.0): it does not start with 'glTF'")
    version, length = struct.unpack_from("<II", data, 4)
    if version != 2:
        raise GlbError(f"GLB version {version}; only glTF 2.0 is read")
    if length != len(data):
        raise GlbError(f"the GLB says it is {length} bytes but {len(data)} arrived (truncated or padded)")
    chunk_length, chunk_type = struct.unpack_from("<II", data, 12)
    if chunk_type != 0x4E4F534A or 20 + chunk_length > len(data):  # "JSON"
        raise GlbError("the GLB's first chunk is not a whole JSON chunk")
    try:
        gltf = json.loads(data[20 : 20 + chunk_length])
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise GlbError(f"the GLB's JSON chunk does not parse: {exc}") from exc
    for buffer in gltf.get("buffers", []) if isinstance(gltf, dict) else []:
        if isinstance(buffer, dict) and "uri" in buffer:
            raise GlbError("the GLB refers to an outside file; a GLB must carry all its data")


def load_glb(data: bytes) -> GlbModel:
    """Read and check a GLB; GlbError names what is wrong (nothing about it is kept)."""
    import trimesh  # here: only workers and uploads need it, not every process

    check_header(data)
    try:
        scene = trimesh.load(io.BytesIO(data), file_type="glb", force="scene", process=False)
    except Exception as exc:  # trimesh raises whatever its parsers meet in a damaged file
        raise GlbError(f"the GLB does not read: {type(exc).__name__}: {exc}") from exc
    instances = []
    triangles = 0
    for node in scene.graph.nodes_geometry:
        transform, name = scene.graph[node]
        mesh = scene.geometry.get(name)
        if isinstance(mesh, trimesh.Trimesh) and len(mesh.faces):
            triangles += len(mesh.faces)
            if triangles > MAX_TRIANGLES:  # counted before any instance is copied
                raise GlbError(f"the GLB has more than {MAX_TRIANGLES} triangles")
            instances.append((np.asarray(transform, np.float64), mesh))
    if not instances:
        raise GlbError("the GLB holds no triangle mesh")
    parts = tuple(_part(transform, mesh) for transform, mesh in instances)
    for part in parts:
        if not np.isfinite(part.vertices).all():
            raise GlbError("the GLB has vertices that are not finite numbers")
    model = GlbModel(parts, triangles)
    lo, hi = model.bounds()
    if float((hi - lo).max()) > 100 * MAX_EXTENT_M:
        raise GlbError(f"the model spans {float((hi - lo).max()):.0f} m; far larger than any region")
    if not any(_areas(p.vertices, p.faces).max() > 0 for p in parts):
        raise GlbError("the GLB's triangles have no area")
    return model


def _part(transform: np.ndarray, mesh: object) -> Part:
    vertices = np.asarray(mesh.vertices, np.float64)  # type: ignore[attr-defined]
    vertices = vertices @ transform[:3, :3].T + transform[:3, 3]
    faces = np.asarray(mesh.faces, np.int64)  # type: ignore[attr-defined]
    if faces.size and (faces.min() < 0 or faces.max() >= len(vertices)):
        raise GlbError("the GLB has triangles that name vertices it does not have")
    visual = mesh.visual  # type: ignore[attr-defined]
    factor = vertex_linear = uv = texture = None
    if getattr(visual, "kind", None) == "vertex":
        vertex_linear = np.asarray(visual.vertex_colors, np.float64)[:, :3] / 255.0
    elif getattr(visual, "kind", None) == "face":
        # Per-face colours become per-corner ones on unshared vertices.
        colours = np.asarray(visual.face_colors, np.float64)[:, :3] / 255.0
        vertices, faces = vertices[faces].reshape(-1, 3), np.arange(faces.size).reshape(-1, 3)
        vertex_linear = np.repeat(colours, 3, axis=0)
    material = getattr(visual, "material", None)
    if material is not None:
        raw = getattr(material, "baseColorFactor", None)
        if raw is not None:  # trimesh keeps it as RGBA bytes
            factor = np.asarray(raw, np.float64)[:3] / 255.0
        image = getattr(material, "baseColorTexture", None)
        if image is not None and getattr(visual, "uv", None) is not None:
            uv = np.asarray(visual.uv, np.float64)
            texture = np.asarray(image.convert("RGB"), np.float64) / 255.0
    return Part(vertices, faces, factor, vertex_linear, uv, texture)


def _areas(v: np.ndarray, f: np.ndarray) -> np.ndarray:
    return 0.5 * np.linalg.norm(np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]), axis=1)


def srgb_to_linear(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def linear_to_srgb(c: np.ndarray) -> np.ndarray:
    c = np.clip(c, 0.0, 1.0)
    return np.where(c <= 0.0031308, c * 12.92, 1.055 * c ** (1 / 2.4) - 0.055)


def model_splats(model: GlbModel, scale: float, spacing: float, plain: np.ndarray) -> SplatCloud:
    """The model's surface as splats in its standing frame: centred on x and z, its lowest point at
    y = 0, scaled; discs about ``spacing`` apart (wider if the model would pass MAX_MODEL_SPLATS).
    ``plain``: the sRGB colour of a model that carries none."""
    lo, hi = model.bounds()
    offset = np.array([(lo[0] + hi[0]) / 2, lo[1], (lo[2] + hi[2]) / 2])
    parts = [(p, (p.vertices - offset) * scale) for p in model.parts]
    area = sum(float(_areas(v, p.faces).sum()) for p, v in parts)
    spacing = max(spacing, math.sqrt(area / MAX_MODEL_SPLATS) * 1.4)  # rows round up: headroom
    clouds = [_sample_part(p, v, spacing, index, plain) for index, (p, v) in enumerate(parts)]
    return SplatCloud.concat([c for c in clouds if len(c)])


def _sample_part(part: Part, v: np.ndarray, s: float, index: int, plain: np.ndarray) -> SplatCloud:
    """Discs on each triangle in rows parallel to its longest edge, ``s`` apart along and across
    the rows; a triangle smaller than a disc keeps one with a chance of its area over a disc's."""
    f = part.faces
    corners = v[f]  # [m, 3, 3]
    edges = np.linalg.norm(corners[:, [1, 2, 0]] - corners, axis=2)  # edge k runs corner k -> k+1
    first = np.argmax(edges, axis=1)  # the longest edge's start: a -> b, apex c
    order = np.stack([first, (first + 1) % 3, (first + 2) % 3], axis=1)
    tri_faces = np.take_along_axis(f, order, axis=1)
    a, b, c = (v[tri_faces[:, k]] for k in range(3))
    base = np.linalg.norm(b - a, axis=1)
    cross = np.cross(b - a, c - a)
    double_area = np.linalg.norm(cross, axis=1)
    ok = double_area > 1e-12
    small = ok & (base < s) & (double_area / np.maximum(base, 1e-12) < s)
    # Deterministic thinning of triangles smaller than a disc: their density stays area / s^2.
    chance = np.where(small, 0.5 * double_area / (s * s), 1.0)
    keep = ok & (hash_to_unit(np.arange(len(f)), index, 31) < chance)
    tri = np.flatnonzero(keep)
    if tri.size == 0:
        return SplatCloud.empty()
    height = double_area[tri] / base[tri]
    rows = np.maximum(1, np.ceil(height / s)).astype(np.int64)
    row_tri = np.repeat(tri, rows)
    row_idx = np.arange(row_tri.size) - np.repeat(np.cumsum(rows) - rows, rows)
    t = (row_idx + 0.5) / np.repeat(rows, rows)
    row_len = (1 - t) * base[row_tri]
    per_row = np.maximum(1, np.ceil(row_len / s)).astype(np.int64)
    tri_s = np.repeat(row_tri, per_row)
    t_s = np.repeat(t, per_row)
    i_s = np.arange(tri_s.size) - np.repeat(np.cumsum(per_row) - per_row, per_row)
    u_s = (i_s + 0.5) / np.repeat(per_row, per_row)
    bary = np.stack([1 - t_s - u_s * (1 - t_s), u_s * (1 - t_s), t_s], axis=1)
    positions = bary[:, 0:1] * a[tri_s] + bary[:, 1:2] * b[tri_s] + bary[:, 2:3] * c[tri_s]
    step_u = np.repeat(row_len / per_row, per_row)
    step_v = np.repeat(np.repeat(height / rows, rows), per_row)
    tiny = small[tri_s]  # one disc stands for a whole s x s patch
    step_u, step_v = np.where(tiny, s, step_u), np.where(tiny, s, step_v)
    du = (b - a)[tri_s] / base[tri_s, None]
    normal = cross[tri_s] / double_area[tri_s, None]
    dv = np.cross(normal, du)
    frames = np.stack([du, dv, normal], axis=2)
    scales = np.stack([step_u * COVER, step_v * COVER, np.minimum(step_u, step_v) * COVER * THICKNESS], axis=1)
    colours = _colours(part, tri_faces[tri_s], bary, plain)
    n = len(positions)
    return SplatCloud.from_arrays(positions, scales, wxyz_from_matrix(frames), np.ones(n), colours)


def _colours(part: Part, corners: np.ndarray, bary: np.ndarray, plain: np.ndarray) -> np.ndarray:
    """sRGB at each sample from the part's material (see the module doc)."""
    if part.texture is None and part.factor is None and part.vertex_linear is None:
        return np.broadcast_to(np.asarray(plain, np.float64), (len(bary), 3)).copy()
    linear = np.ones((len(bary), 3))
    if part.texture is not None and part.uv is not None:
        uv = np.einsum("nk,nkj->nj", bary, part.uv[corners])
        h, w = part.texture.shape[:2]
        col = np.floor(np.mod(uv[:, 0], 1.0) * w).astype(np.int64) % w  # repeat wrapping, nearest texel
        row = np.floor(np.mod(1.0 - uv[:, 1], 1.0) * h).astype(np.int64) % h
        linear *= srgb_to_linear(part.texture[row, col])
    if part.factor is not None:
        linear *= part.factor[None, :]
    if part.vertex_linear is not None:
        linear *= np.einsum("nk,nkj->nj", bary, part.vertex_linear[corners])
    return linear_to_srgb(linear)


class ModelCache:
    """Parsed models by sha256, a few at a time (a worker meets the same landmark tile after tile).
    Thread-safe: the server checks places in threads, and thread-pool workers share it."""

    def __init__(self, size: int = 4) -> None:
        self._items: OrderedDict[str, GlbModel] = OrderedDict()
        self._splats: OrderedDict[tuple[str, float, float, tuple[float, ...]], SplatCloud] = OrderedDict()
        self._size = size
        self._lock = threading.RLock()

    def model(self, sha256: str, load: object) -> GlbModel:
        with self._lock:
            return self._model(sha256, load)

    def _model(self, sha256: str, load: object) -> GlbModel:
        found = self._items.get(sha256)
        if found is None:
            found = load_glb(load(sha256))  # type: ignore[operator]
            self._items[sha256] = found
            while len(self._items) > self._size:
                self._items.popitem(last=False)
        else:
            self._items.move_to_end(sha256)
        return found

    def splats(self, sha256: str, load: object, scale: float, spacing: float, plain: np.ndarray) -> SplatCloud:
        key = (sha256, scale, spacing, tuple(float(x) for x in plain))
        with self._lock:
            found = self._splats.get(key)
            if found is None:
                found = model_splats(self._model(sha256, load), scale, spacing, plain)
                self._splats[key] = found
                while len(self._splats) > 4 * self._size:
                    self._splats.popitem(last=False)
            return found


MODELS = ModelCache()
