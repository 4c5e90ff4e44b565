"""Splat tiles made from real photos, for the format tests and benches (no generator needed).

Two shapes of data the formats must carry well:
- :func:`ground_tile`: a tile of ground -- a rolling heightfield covered by flat splats on a
  jittered grid, coloured from a photo's lower half (where the ground is), with the
  ``heights`` grid a mesh needs. This is what the generator's tiles are mostly made of.
- :func:`lifted_photo`: a photo lifted into 3D from its own camera, one splat per (downsampled)
  pixel at a depth from a ground-plane / backdrop guess -- the spawn view, where rendering from
  the photo's camera should give the photo back. Used to measure codec loss against a picture.

Both are deterministic: a pure function of the photo and the arguments.
"""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
from PIL import Image

from bridge.formats._quat import frame_from_axis, wxyz_from_matrix
from bridge.formats.splats import SplatCloud, TileContent
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey

PHOTOS = Path(__file__).resolve().parents[1].parent / "shared" / "photos"  # beside the checkout


def load_photo(path: str | Path, max_width: int | None = None) -> np.ndarray:
    """[H, W, 3] float32 sRGB in [0, 1], alpha dropped, optionally downsampled."""
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        if max_width is not None and rgb.width > max_width:
            rgb = rgb.resize((max_width, round(rgb.height * max_width / rgb.width)), Image.Resampling.LANCZOS)
        return np.asarray(rgb, dtype=np.float32) / 255.0


def _resample(image: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Bilinear lookup at fractional pixel coordinates (clamped to the image)."""
    h, w = image.shape[:2]
    r = np.clip(rows, 0, h - 1.000001)
    c = np.clip(cols, 0, w - 1.000001)
    r0, c0 = np.floor(r).astype(int), np.floor(c).astype(int)
    fr, fc = (r - r0)[..., None], (c - c0)[..., None]
    top = image[r0, c0] * (1 - fc) + image[r0, c0 + 1] * fc
    bottom = image[r0 + 1, c0] * (1 - fc) + image[r0 + 1, c0 + 1] * fc
    return top * (1 - fr) + bottom * fr


def _height(x: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Rolling ground (metres), a fixed function of world position so neighbours agree."""
    return (
        1.5 * np.sin(x * 0.07) * np.cos(z * 0.05) + 0.4 * np.sin(x * 0.31 + z * 0.17) + 0.1 * np.cos(x * 1.3 - z * 0.9)
    ).astype(np.float64)


def _quat_between_up_and(normals: np.ndarray, yaw: np.ndarray) -> np.ndarray:
    """w x y z quaternions turning local +y into ``normals`` after a yaw of ``yaw`` about +y."""
    up = np.array([0.0, 1.0, 0.0])
    axis = np.cross(up, normals)
    s = np.linalg.norm(axis, axis=1, keepdims=True)
    c = normals @ up
    angle = np.arctan2(s[:, 0], c)
    axis = np.where(s > 1e-9, axis / np.maximum(s, 1e-9), np.array([1.0, 0.0, 0.0]))
    tilt = np.concatenate([np.cos(angle / 2)[:, None], axis * np.sin(angle / 2)[:, None]], axis=1)
    twist = np.stack([np.cos(yaw / 2), np.zeros_like(yaw), np.sin(yaw / 2), np.zeros_like(yaw)], axis=1)
    # Hamilton product tilt * twist: twist first (about the local up), then tilt onto the normal.
    w1, x1, y1, z1 = tilt.T
    w2, x2, y2, z2 = twist.T
    return np.stack(
        [
            w1 * w2 - x1 * x2 - y1 * y2 - z1 * z2,
            w1 * x2 + x1 * w2 + y1 * z2 - z1 * y2,
            w1 * y2 - x1 * z2 + y1 * w2 + z1 * x2,
            w1 * z2 + x1 * y2 - y1 * x2 + z1 * w2,
        ],
        axis=1,
    )


def ground_tile(
    photo: np.ndarray,
    key: TileKey,
    base_tile_m: float = 32.0,
    *,
    per_side: int = 160,
    samples: int = 32,
    seed: int = 0,
) -> TileContent:
    """A ground tile of ``per_side**2`` splats textured with the photo's lower half."""
    rng = np.random.default_rng(seed)
    x0, z0, x1, _ = key.bounds(base_tile_m)
    edge = x1 - x0
    spacing = edge / per_side
    grid = (np.arange(per_side) + 0.5) * spacing
    gx, gz = np.meshgrid(grid, grid)
    x = x0 + gx.ravel() + rng.uniform(-0.3, 0.3, gx.size) * spacing
    z = z0 + gz.ravel() + rng.uniform(-0.3, 0.3, gz.size) * spacing
    y = _height(x, z)
    eps = 0.05
    dx = (_height(x + eps, z) - _height(x - eps, z)) / (2 * eps)
    dz = (_height(x, z + eps) - _height(x, z - eps)) / (2 * eps)
    normals = np.stack([-dx, np.ones_like(dx), -dz], axis=1)
    normals /= np.linalg.norm(normals, axis=1, keepdims=True)
    h, w = photo.shape[:2]
    # The photo's lower half, stretched over the tile: ground texture at the photo's own detail.
    rows = h * 0.5 + (z - z0) / edge * (h * 0.5 - 1)
    cols = (x - x0) / edge * (w - 1)
    colors = _resample(photo, rows, cols)
    n = x.size
    in_plane = spacing * rng.uniform(0.55, 0.9, (n, 2))
    scales = np.stack([in_plane[:, 0], spacing * 0.08 * np.ones(n), in_plane[:, 1]], axis=1)
    rotations = _quat_between_up_and(normals, rng.uniform(0, 2 * math.pi, n))
    opacities = np.clip(rng.normal(0.93, 0.05, n), 0.3, 0.999)
    splats = SplatCloud.from_arrays(np.stack([x, y, z], axis=1), scales, rotations, opacities, colors)
    s = np.linspace(0.0, edge, samples + 1)
    hz, hx = np.meshgrid(z0 + s, x0 + s, indexing="ij")  # row r <-> z, column c <-> x
    heights = _height(hx, hz).astype(np.float32)
    return TileContent(key=key, splats=splats, heights=heights)


def ground_camera(key: TileKey, base_tile_m: float = 32.0, width: int = 320, height: int = 240) -> Camera:
    """A walker's view across a ground tile: from its -z edge, 1.7 m up, looking along +z and down."""
    x0, z0, x1, z1 = key.bounds(base_tile_m)
    cx = 0.5 * (x0 + x1)
    eye = (cx, float(_height(np.array([cx]), np.array([z0]))[0]) + 1.7, z0 - 2.0)
    target = (cx, 0.0, z0 + 0.45 * (z1 - z0))
    forward = np.subtract(target, eye)
    return Camera.looking(eye, forward, Intrinsics.from_vertical_fov(60.0, width, height))


def lifted_photo(
    photo: np.ndarray, *, width: int = 320, vfov_deg: float = 55.0, horizon: float = 0.45
) -> tuple[SplatCloud, Camera, np.ndarray]:
    """The photo lifted to 3D from its camera: (splats, that camera, the photo at that size).

    Camera at the origin 1.6 m above the ground looking along -z; pixels below the horizon row
    land on the ground plane, the rest on a backdrop 60 m away. Each splat is sized to its
    pixel's footprint, so the render from the camera reproduces the (downsampled) photo.
    """
    h0, w0 = photo.shape[:2]
    height = round(h0 * width / w0)
    small = (
        np.asarray(
            Image.fromarray((photo * 255).astype(np.uint8)).resize((width, height), Image.Resampling.LANCZOS),
            dtype=np.float32,
        )
        / 255.0
    )
    k = Intrinsics.from_vertical_fov(vfov_deg, width, height)
    eye = np.array([0.0, 1.6, 0.0])
    camera = Camera.looking(eye, (0.0, -math.tan(math.radians(vfov_deg) * (horizon - 0.5)), -1.0), k)
    rays = camera.pixel_rays().reshape(-1, 3)
    t_ground = np.where(rays[:, 1] < -1e-3, -eye[1] / np.minimum(rays[:, 1], -1e-3), np.inf)
    t = np.minimum(t_ground, 60.0 / np.maximum(-rays[:, 2], 0.2))
    points = eye + rays * t[:, None]
    depth = t * (-rays[:, 2])  # distance along the view axis, near enough
    footprint = depth / k.fy
    n = points.shape[0]
    scales = np.repeat(footprint[:, None] * 0.75, 3, axis=1)
    # Flat splats facing the camera: thin along the view ray.
    scales[:, 2] *= 0.1
    # Local +z along the ray: the thin axis faces the camera.
    rotations = wxyz_from_matrix(frame_from_axis(rays))
    opacities = np.full(n, 0.97)
    cloud = SplatCloud.from_arrays(points, scales, rotations, opacities, small.reshape(-1, 3))
    return cloud, camera, small
