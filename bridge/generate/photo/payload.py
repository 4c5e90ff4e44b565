"""What the photo backend's ``prepare`` hands to ``generate``: one record, persisted as named arrays.

A PreparedWorld's payload is a dict of arrays (the .npz a store keeps). :class:`PhotoPayload`
names each of them; :meth:`PhotoPayload.to_arrays` and :meth:`PhotoPayload.from_arrays` are the only
places that know the keys. The arrays, keys and bytes are those of generator 0.6.0, so worlds
prepared before this record read the same:

    image               [h, w, 3] float32  the photo at analysis resolution
    colours             [h, w, 3] float32  solved splat colours of the lifted photo
    extension           [h, w, 3] float32  the photo's ground colours, blurred, for the hand-over
    sky_mask            [h, w]    bool     sky pixels
    depth               [h, w]    float32  distance along each pixel's ray, metres; inf for sky
    kind                [h, w]    uint8    per-pixel kind (analysis.KIND_*)
    material_textures   [M, 256, 256, 3] float32  each ground material's top-down exemplar
    material_shares     [M]       float64  each material's share of the photo's ground squares
    material_variation  [M]       float64  each material's lightness spread (0.11.0; zeros before)
    scalars             [7]       float64  horizon_v, lift radius (m), texel (m), fx, fy, cx, cy
    camera_pose         [12]      float64  the camera's position (3), then its rotation (3 x 3, row-major)
    scene_*                                the scene reading (SceneReading.to_payload)
    far_face_texture    [256, 256, 3] float32  what steep slopes wear (0.12.3; absent: none)
    far_face_texel_m    [1]       float64  its metres per texel
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from bridge.generate.photo.scene import SceneReading
from bridge.generate.photo.slopes import FarFace
from bridge.world.camera import Camera, Intrinsics


@dataclass(frozen=True)
class PhotoPayload:
    image: np.ndarray
    colours: np.ndarray
    extension: np.ndarray
    sky: np.ndarray
    depth: np.ndarray
    kind: np.ndarray
    material_textures: np.ndarray
    material_shares: np.ndarray
    material_variation: np.ndarray
    horizon_v: float  # image row of the horizon, analysis pixels
    lift_radius_m: float  # how far from the spawn the photo is lifted
    texel_m: float  # the ground materials' texel size
    camera: Camera  # the spawn camera at analysis resolution (its size is ``kind``'s)
    reading: SceneReading
    far_face: FarFace | None = None  # see slopes.far_face

    def to_arrays(self) -> dict[str, np.ndarray]:
        k = self.camera.intrinsics
        return {
            "image": self.image,
            "colours": self.colours,
            "extension": self.extension,
            "sky_mask": self.sky,
            "depth": self.depth,
            "kind": self.kind,
            "material_textures": self.material_textures,
            "material_shares": self.material_shares,
            "material_variation": self.material_variation,
            "scalars": np.array(
                [self.horizon_v, self.lift_radius_m, self.texel_m, k.fx, k.fy, k.cx, k.cy], dtype=np.float64
            ),
            "camera_pose": np.concatenate([self.camera.position, self.camera.rotation.ravel()]).astype(np.float64),
            **self.reading.to_payload(),
            **(
                {}
                if self.far_face is None
                else {
                    "far_face_texture": self.far_face.texture,
                    "far_face_texel_m": np.array([self.far_face.texel_m], dtype=np.float64),
                }
            ),
        }

    @classmethod
    def from_arrays(cls, arrays: Mapping[str, np.ndarray]) -> PhotoPayload:
        horizon_v, lift_radius, texel_m, fx, fy, cx, cy = (float(v) for v in arrays["scalars"])
        h, w = arrays["kind"].shape
        pose = arrays["camera_pose"]
        return cls(
            image=arrays["image"],
            colours=arrays["colours"],
            extension=arrays["extension"],
            sky=arrays["sky_mask"].astype(bool),
            depth=arrays["depth"],
            kind=arrays["kind"],
            material_textures=arrays["material_textures"],
            material_shares=arrays["material_shares"],
            material_variation=arrays.get("material_variation", np.zeros(len(arrays["material_shares"]))),
            horizon_v=horizon_v,
            lift_radius_m=lift_radius,
            texel_m=texel_m,
            camera=Camera(Intrinsics(w, h, fx, fy, cx, cy), pose[:3].copy(), pose[3:].reshape(3, 3).copy()),
            reading=SceneReading.from_payload(arrays),
            far_face=FarFace(arrays["far_face_texture"], float(arrays["far_face_texel_m"][0]))
            if "far_face_texture" in arrays
            else None,
        )


FINGERPRINT_STRIDE = 7  # pixels between the solved colours sampled into a fingerprint


def payload_fingerprint(arrays: Mapping[str, np.ndarray]) -> str:
    """Tells one prepared world's payload from another without parsing it (a cache key): the
    scalars and camera pose, and a digest of a sparse grid of the solved colours. Geometry alone
    is not enough: two photos of one size whose horizons land on the same row have the same
    camera, and one generator may serve both."""
    scalars, pose, colours = arrays["scalars"], arrays["camera_pose"], arrays["colours"]
    sampled = np.ascontiguousarray(colours[::FINGERPRINT_STRIDE, ::FINGERPRINT_STRIDE])
    digest = hashlib.blake2b(sampled.tobytes(), digest_size=16).hexdigest()
    return f"{scalars.tobytes().hex()}|{pose.tobytes().hex()}|{colours.shape}|{digest}"
