"""A pinhole camera as a value type.

World frame: glTF (Y up, metres, -Z forward). The camera's own axes follow glTF/OpenGL too:
x right, y up, looking down -z. Rasterisers (ours and gsplat) want the OpenCV camera frame
(x right, y down, z forward); :meth:`Camera.view_matrix_opencv` is the one place that converts.

Pixel convention: pixel (row i, column j) is sampled at its centre, u = j + 0.5, v = i + 0.5,
as gsplat does. ``cx = width / 2`` therefore puts the principal point on the image centre.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

# OpenGL camera axes (x right, y up, -z forward) -> OpenCV axes (x right, y down, +z forward).
_GL_TO_CV = np.diag([1.0, -1.0, -1.0])


@dataclass(frozen=True)
class Intrinsics:
    width: int  # pixels
    height: int  # pixels
    fx: float  # focal length, pixels
    fy: float  # focal length, pixels
    cx: float  # principal point, pixels from the left edge
    cy: float  # principal point, pixels from the top edge

    @classmethod
    def from_vertical_fov(cls, vfov_deg: float, width: int, height: int) -> Intrinsics:
        f = (height / 2.0) / math.tan(math.radians(vfov_deg) / 2.0)
        return cls(width, height, f, f, width / 2.0, height / 2.0)

    @property
    def vertical_fov_deg(self) -> float:
        return math.degrees(2.0 * math.atan(self.height / 2.0 / self.fy))

    def matrix(self) -> np.ndarray:
        """[3, 3] float64 K."""
        return np.array([[self.fx, 0.0, self.cx], [0.0, self.fy, self.cy], [0.0, 0.0, 1.0]])

    def scaled(self, width: int, height: int) -> Intrinsics:
        """The same field of view at another resolution."""
        sx, sy = width / self.width, height / self.height
        return Intrinsics(width, height, self.fx * sx, self.fy * sy, self.cx * sx, self.cy * sy)


@dataclass(frozen=True)
class Camera:
    intrinsics: Intrinsics
    position: np.ndarray  # [3] world, metres
    rotation: np.ndarray  # [3, 3] world-from-camera; columns are the camera's x, y, z in world

    @classmethod
    def looking(
        cls,
        position: np.ndarray | tuple[float, float, float],
        forward: np.ndarray | tuple[float, float, float],
        intrinsics: Intrinsics,
        up: np.ndarray | tuple[float, float, float] = (0.0, 1.0, 0.0),
    ) -> Camera:
        """A camera at ``position`` looking along ``forward`` with no roll about ``up``."""
        f = np.asarray(forward, dtype=np.float64)
        f = f / np.linalg.norm(f)
        right = np.cross(f, np.asarray(up, dtype=np.float64))
        if np.linalg.norm(right) < 1e-9:  # looking straight up or down: any right will do
            right = np.array([1.0, 0.0, 0.0])
        right /= np.linalg.norm(right)
        cam_up = np.cross(right, f)
        rotation = np.stack([right, cam_up, -f], axis=1)
        return cls(intrinsics, np.asarray(position, dtype=np.float64), rotation)

    @property
    def forward(self) -> np.ndarray:
        return -self.rotation[:, 2]

    def moved(self, offset: np.ndarray | tuple[float, float, float]) -> Camera:
        return Camera(self.intrinsics, self.position + np.asarray(offset, dtype=np.float64), self.rotation)

    def with_intrinsics(self, intrinsics: Intrinsics) -> Camera:
        return Camera(intrinsics, self.position, self.rotation)

    def to_json(self) -> dict:
        """The camera as JSON (how the store and prepared worlds keep it); :meth:`from_json` reads it."""
        k = self.intrinsics
        return {
            "intrinsics": [k.width, k.height, k.fx, k.fy, k.cx, k.cy],
            "position": [float(v) for v in self.position],
            "rotation": [float(v) for v in self.rotation.ravel()],
        }

    @classmethod
    def from_json(cls, data: dict) -> Camera:
        w, h, fx, fy, cx, cy = data["intrinsics"]
        return cls(
            Intrinsics(int(w), int(h), fx, fy, cx, cy),
            np.asarray(data["position"], dtype=np.float64),
            np.asarray(data["rotation"], dtype=np.float64).reshape(3, 3),
        )

    def view_matrix_opencv(self) -> np.ndarray:
        """[4, 4] float64 world-to-camera matrix in the OpenCV camera frame (gsplat's ``viewmats``)."""
        r_cv = self.rotation @ _GL_TO_CV  # world-from-camera(cv)
        view = np.eye(4)
        view[:3, :3] = r_cv.T
        view[:3, 3] = -r_cv.T @ self.position
        return view

    def project(self, points: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """World points [N, 3] -> (pixel coordinates [N, 2] as (u, v), depth along the view axis [N])."""
        view = self.view_matrix_opencv()
        cam = points @ view[:3, :3].T + view[:3, 3]
        z = cam[:, 2]
        k = self.intrinsics
        with np.errstate(divide="ignore", invalid="ignore"):
            u = k.fx * cam[:, 0] / z + k.cx
            v = k.fy * cam[:, 1] / z + k.cy
        return np.stack([u, v], axis=1), z

    def rays_through(self, u: np.ndarray, v: np.ndarray) -> np.ndarray:
        """[..., 3] float64 unit world-frame directions through pixel coordinates (u, v)."""
        k = self.intrinsics
        u = np.asarray(u, dtype=np.float64)
        v = np.asarray(v, dtype=np.float64)
        # OpenCV camera-frame directions, then into the world.
        d_cv = np.stack([(u - k.cx) / k.fx, (v - k.cy) / k.fy, np.ones_like(u)], axis=-1)
        d = d_cv @ (self.rotation @ _GL_TO_CV).T
        return d / np.linalg.norm(d, axis=-1, keepdims=True)

    def pixel_rays(self) -> np.ndarray:
        """[H, W, 3] float64 unit world-frame directions through every pixel centre."""
        k = self.intrinsics
        uu, vv = np.meshgrid(np.arange(k.width) + 0.5, np.arange(k.height) + 0.5)
        return self.rays_through(uu, vv)
