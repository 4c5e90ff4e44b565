"""What the mountains wear: the photo's own far terrain, dressed on the world's steep slopes.

A landscape photo's mountains are rock, snow and forest seen from far away; the ground at its
foot is what the ground materials read. Where the continuation's terrain rises steeply (the
valley's slopes, see terrain.Valley) it wears the largest square of the photo's far terrain
(what the scene reading calls far terrain, above the horizon), read at the photo's own
resolution, so its mountains look like the photo's mountains rather than its valley floor stood
on end. A square that reads as built (its edges running along its rows and columns: a castle
taken for far terrain) is no face.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import ndimage

from bridge.generate.photo.analysis import PhotoAnalysis
from bridge.generate.photo.reading import FAR_TERRAIN_M
from bridge.generate.photo.scene import LAYER_FAR
from bridge.generate.photo.texture import EXEMPLAR_TEXELS

MIN_HALF_SIDE_PX = 8  # working pixels: a smaller square of far terrain is too little to dress slopes with
HORIZON_MARGIN_PX = 2  # rows just above the horizon are haze and valley floor as often as mountain
# Slopes between these angles blend from the ground's materials to the far terrain's face.
FACE_FROM_DEG = 22.0
FACE_FULL_DEG = 38.0
# Share of the face's edge strength running within AXIS_BAND_DEG of its rows or columns above which
# it is built (walls, windows), not terrain: rock, snow and forest have edges every way (0.21 on
# lyra2_07's mountains, 0.42 on lyra2_03's castle; isotropic edges give 0.22).
MAX_AXIS_SHARE = 0.3
AXIS_BAND_DEG = 10.0


@dataclass(frozen=True)
class FarFace:
    """A texture for steep slopes, from the photo's far terrain (laid on them by the generator)."""

    texture: np.ndarray  # [256, 256, 3] float32 in [0, 1]
    texel_m: float


def far_face(analysis: PhotoAnalysis, layers: np.ndarray, source: np.ndarray) -> FarFace | None:
    """The largest axis-aligned square of far terrain (``layers`` == LAYER_FAR) above the horizon,
    read from ``source`` (the photo at any resolution, same framing), or None where the photo shows
    too little of it."""
    h, w = layers.shape
    top_rows = int(np.clip(np.floor(analysis.horizon_v) - HORIZON_MARGIN_PX, 0, h))
    terrain = np.zeros((h + 2, w + 2), dtype=bool)  # a border of False: squares stay in the frame
    terrain[1 : top_rows + 1, 1 : w + 1] = layers[:top_rows] == LAYER_FAR
    # Chessboard distance to the nearest pixel outside: the half side of the largest square there.
    half = ndimage.distance_transform_cdt(terrain, metric="chessboard")[1:-1, 1:-1]
    best = int(np.argmax(half))
    row, col = divmod(best, w)
    half_side = int(half[row, col]) - 1
    if half_side < MIN_HALF_SIDE_PX:
        return None
    scale = source.shape[1] / w
    box = [round(v * scale) for v in (col - half_side, row - half_side, col + half_side + 1, row + half_side + 1)]
    crop = np.round(np.clip(source[box[1] : box[3], box[0] : box[2]], 0.0, 1.0) * 255).astype(np.uint8)
    resized = Image.fromarray(crop).resize((EXEMPLAR_TEXELS, EXEMPLAR_TEXELS), Image.Resampling.LANCZOS)
    face = np.asarray(resized, dtype=np.float32) / 255.0
    if axis_aligned_share(face) > MAX_AXIS_SHARE:
        return None
    side_m = (2 * half_side + 1) * FAR_TERRAIN_M / analysis.camera.intrinsics.fx
    return FarFace(face, side_m / EXEMPLAR_TEXELS)


def axis_aligned_share(texture: np.ndarray) -> float:
    """Share of ``texture``'s gradient magnitude whose direction lies within AXIS_BAND_DEG of its
    rows or columns."""
    grey = texture.mean(axis=2)
    gx, gy = ndimage.sobel(grey, axis=1), ndimage.sobel(grey, axis=0)
    magnitude = np.hypot(gx, gy)
    angle = np.degrees(np.arctan2(gy, gx)) % 90.0
    along = (angle < AXIS_BAND_DEG) | (angle > 90.0 - AXIS_BAND_DEG)
    return float((magnitude * along).sum() / max(float(magnitude.sum()), 1e-9))


def face_weight(normals: np.ndarray) -> np.ndarray:
    """[N] 0..1: how much of the far terrain's face a surface with unit ``normals`` [N, 3] wears."""
    slope = np.degrees(np.arccos(np.clip(normals[:, 1], -1.0, 1.0)))
    t = np.clip((slope - FACE_FROM_DEG) / (FACE_FULL_DEG - FACE_FROM_DEG), 0.0, 1.0)
    return t * t * (3 - 2 * t)
