"""The in-memory Gaussian splat cloud every module of WorldBridge passes around, and a tile of it.

Frame: glTF's — right-handed, **Y up, metres**, -Z forward. Each file format converts to its own
frame when it writes (see the format modules); nothing else in the code base converts.

Field encodings (one row per splat, all float32):
- ``positions``  [N, 3]  centre, metres.
- ``scales``     [N, 3]  standard deviation along the local axes, metres (linear, *not* log).
- ``rotations``  [N, 4]  unit quaternion, **w, x, y, z** order (gsplat's and PLY ``rot_0..3``).
- ``opacities``  [N]     opacity after the sigmoid, in [0, 1].
- ``colors``     [N, 3]  the degree-0 colour in sRGB, nominally [0, 1]. It may stray slightly
                         outside [0, 1] where a colour fit asked for it; renderers clamp the
                         final pixel, as 3DGS does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from bridge.world.keys import TileKey

# What decoding one tile or file from untrusted bytes may allocate, at most. Each decoder states
# its measured peak per splat and refuses, from the header alone, a count that would pass this.
MAX_DECODE_BYTES = 256 * 2**20


def max_splats_within(peak_bytes_per_splat: int, max_bytes: int = MAX_DECODE_BYTES) -> int:
    """The most splats a decoder with this peak per splat may decode within ``max_bytes``."""
    return max_bytes // peak_bytes_per_splat


# The degree-0 real spherical-harmonic constant: colour = 0.5 + SH_C0 * f_dc (3DGS convention).
SH_C0 = 0.28209479177387814


@dataclass(frozen=True)
class SplatCloud:
    positions: np.ndarray  # [N, 3] float32, metres
    scales: np.ndarray  # [N, 3] float32, metres (std dev)
    rotations: np.ndarray  # [N, 4] float32, w x y z
    opacities: np.ndarray  # [N] float32, [0, 1]
    colors: np.ndarray  # [N, 3] float32, sRGB

    def __post_init__(self) -> None:
        n = self.positions.shape[0]
        expected = {
            "positions": (n, 3),
            "scales": (n, 3),
            "rotations": (n, 4),
            "opacities": (n,),
            "colors": (n, 3),
        }
        for name, shape in expected.items():
            array = getattr(self, name)
            if array.shape != shape:
                raise ValueError(f"SplatCloud.{name} has shape {array.shape}, expected {shape}")
            if array.dtype != np.float32:
                raise ValueError(f"SplatCloud.{name} has dtype {array.dtype}, expected float32")

    def __len__(self) -> int:
        return int(self.positions.shape[0])

    @classmethod
    def empty(cls) -> SplatCloud:
        return cls.from_arrays(np.zeros((0, 3)), np.zeros((0, 3)), np.zeros((0, 4)), np.zeros((0,)), np.zeros((0, 3)))

    @classmethod
    def from_arrays(
        cls,
        positions: np.ndarray,
        scales: np.ndarray,
        rotations: np.ndarray,
        opacities: np.ndarray,
        colors: np.ndarray,
    ) -> SplatCloud:
        """Build a cloud from any float arrays, casting to contiguous float32."""

        def f32(a: np.ndarray) -> np.ndarray:
            return np.ascontiguousarray(a, dtype=np.float32)

        return cls(f32(positions), f32(scales), f32(rotations), f32(opacities), f32(colors))

    @classmethod
    def concat(cls, clouds: list[SplatCloud]) -> SplatCloud:
        if not clouds:
            return cls.empty()
        return cls(
            *(
                np.concatenate([getattr(c, name) for c in clouds], axis=0)
                for name in ("positions", "scales", "rotations", "opacities", "colors")
            )
        )

    def subset(self, index: np.ndarray) -> SplatCloud:
        """Rows selected by a boolean mask or an index array, in that order."""
        return SplatCloud(
            self.positions[index],
            self.scales[index],
            self.rotations[index],
            self.opacities[index],
            self.colors[index],
        )

    def is_finite(self) -> bool:
        return all(
            bool(np.isfinite(a).all())
            for a in (self.positions, self.scales, self.rotations, self.opacities, self.colors)
        )

    def bounds(self) -> tuple[np.ndarray, np.ndarray]:
        """Axis-aligned (min, max) of the centres; raises on an empty cloud."""
        if len(self) == 0:
            raise ValueError("an empty SplatCloud has no bounds")
        return self.positions.min(axis=0), self.positions.max(axis=0)


def identity_rotations(n: int) -> np.ndarray:
    """[n, 4] float32 quaternions (w=1): splats aligned with the world axes."""
    q = np.zeros((n, 4), dtype=np.float32)
    q[:, 0] = 1.0
    return q


@dataclass(frozen=True)
class TileContent:
    """One generated tile.

    ``heights``: [S+1, S+1] float32 ground height (world Y, metres) on a regular grid over the
    tile's square, borders included, so neighbours share their border samples exactly.
    Row r, column c sits at (x0 + c * edge / S, z0 + r * edge / S). Between samples the ground is
    read by bilinear interpolation of the four around the point: that is how a caller with only
    this contract finds the ground under a viewer (the quality report's eye heights generate the
    LOD-0 tile there and do so; bridge/likeness.py, GroundSampler). A mesh built on the grid may
    split its cells into triangles instead; the two agree at the samples.
    """

    key: TileKey
    splats: SplatCloud
    heights: np.ndarray
