"""The INRIA 3D Gaussian Splatting PLY layout (binary little-endian), degree-0 colour.

Per vertex, float32: ``x y z nx ny nz f_dc_0 f_dc_1 f_dc_2 opacity scale_0 scale_1 scale_2
rot_0 rot_1 rot_2 rot_3`` with opacity as a logit, scales as natural logs, ``rot_0`` = w, and
``f_dc`` the degree-0 SH coefficient (colour = 0.5 + SH_C0 * f_dc).

Frame of the file: **RDF** (x right, y down, z forward) — the OpenCV frame that 3DGS trainers
write and that splat viewers expecting trainer output show upright. Our world frame is glTF's
RUB (x right, y up, z back); the conversion flips y and z, which is a 180-degree turn about x,
so quaternions map as (w, x, y, z) -> (w, x, -y, -z).
"""

from __future__ import annotations

import io

import numpy as np
from plyfile import PlyData, PlyElement

from bridge.formats.splats import SH_C0, SplatCloud

_FIELDS = (
    *("x", "y", "z", "nx", "ny", "nz", "f_dc_0", "f_dc_1", "f_dc_2", "opacity"),
    *("scale_0", "scale_1", "scale_2", "rot_0", "rot_1", "rot_2", "rot_3"),
)
_FLIP_YZ = np.array([1.0, -1.0, -1.0], dtype=np.float32)
_QUAT_FLIP_YZ = np.array([1.0, 1.0, -1.0, -1.0], dtype=np.float32)
# Opacity is stored as a logit: keep clear of 0 and 1 so it stays finite.
_OPACITY_EPS = 1e-6


def encode_ply(splats: SplatCloud) -> bytes:
    n = len(splats)
    vertex = np.zeros(n, dtype=[(name, "<f4") for name in _FIELDS])
    pos = splats.positions * _FLIP_YZ
    vertex["x"], vertex["y"], vertex["z"] = pos[:, 0], pos[:, 1], pos[:, 2]
    f_dc = (splats.colors - 0.5) / SH_C0
    for i in range(3):
        vertex[f"f_dc_{i}"] = f_dc[:, i]
    alpha = np.clip(splats.opacities.astype(np.float64), _OPACITY_EPS, 1.0 - _OPACITY_EPS)
    vertex["opacity"] = np.log(alpha / (1.0 - alpha))
    log_scales = np.log(np.maximum(splats.scales, 1e-12))
    for i in range(3):
        vertex[f"scale_{i}"] = log_scales[:, i]
    quat = splats.rotations * _QUAT_FLIP_YZ
    for i in range(4):
        vertex[f"rot_{i}"] = quat[:, i]
    out = io.BytesIO()
    PlyData([PlyElement.describe(vertex, "vertex")], text=False, byte_order="<").write(out)
    return out.getvalue()


def decode_ply(data: bytes) -> SplatCloud:
    """Read a 3DGS PLY (ours or any trainer's, degree-0 part); raises ValueError on anything else."""
    try:
        ply = PlyData.read(io.BytesIO(data))
        vertex = ply["vertex"].data
    except Exception as exc:  # plyfile raises a zoo of types on bad input
        raise ValueError(f"not a readable PLY file: {exc}") from exc
    names = set(vertex.dtype.names or ())
    missing = [f for f in _FIELDS if f not in names and not f.startswith("n")]
    if missing:
        raise ValueError(f"PLY lacks 3DGS fields: {', '.join(missing)}")

    def col(name: str) -> np.ndarray:
        return np.asarray(vertex[name], dtype=np.float64)

    pos = np.stack([col("x"), col("y"), col("z")], axis=1) * _FLIP_YZ
    colors = 0.5 + SH_C0 * np.stack([col(f"f_dc_{i}") for i in range(3)], axis=1)
    opacities = 1.0 / (1.0 + np.exp(-col("opacity")))
    scales = np.exp(np.stack([col(f"scale_{i}") for i in range(3)], axis=1))
    quat = np.stack([col(f"rot_{i}") for i in range(4)], axis=1)
    norm = np.linalg.norm(quat, axis=1, keepdims=True)
    quat = np.where(norm > 0, quat / np.maximum(norm, 1e-12), np.array([1.0, 0, 0, 0])) * _QUAT_FLIP_YZ
    cloud = SplatCloud.from_arrays(pos, scales, quat, opacities, colors)
    if not cloud.is_finite():
        raise ValueError("PLY holds non-finite splat values (NaN or infinity)")
    return cloud
