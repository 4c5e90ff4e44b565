"""Splat scenes for the import tests (no tests here): made from a sample photo's world, the way
a trainer or a world model writes one (the first camera at the file's origin)."""

from __future__ import annotations

from functools import cache

import numpy as np

from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions, PreparedWorld
from bridge.generate.photo import PhotoGenerator
from bridge.world.keys import TileKey
from bridge.world.photos import decode_photo
from tests.stream_support import small_photo

SCENE_RADIUS_M = 24.0


@cache
def photo_world() -> tuple[PhotoGenerator, PreparedWorld]:
    generator = PhotoGenerator()
    return generator, generator.prepare(decode_photo(small_photo()), GeneratorOptions())


@cache
def photo_scene() -> SplatCloud:
    """The small sample photo's world within 24 m of its spawn (the lifted photo and what stands
    round it, about 60k splats), moved so the photo's camera is at the origin: y up, -z forward.
    Its ground is at y = -(the camera's height, photo_world()[1].spawn.position[1])."""
    generator, world = photo_world()
    tiles = [generator.generate(world, TileKey(2, ix, iz)).splats for ix in (-1, 0) for iz in (-1, 0)]
    cloud = SplatCloud.concat(tiles)
    cloud = cloud.subset(np.hypot(cloud.positions[:, 0], cloud.positions[:, 2]) < SCENE_RADIUS_M)
    return SplatCloud(
        cloud.positions - world.spawn.position.astype(np.float32),
        cloud.scales,
        cloud.rotations,
        cloud.opacities,
        cloud.colors,
    )


def turned(cloud: SplatCloud, rotation: np.ndarray) -> SplatCloud:
    """``cloud`` with every splat turned by ``rotation`` [3, 3] about the origin."""
    from bridge.formats._quat import matrix_from_xyzw, normalised_xyzw, wxyz_from_matrix

    frames = rotation[None] @ matrix_from_xyzw(normalised_xyzw(cloud.rotations))
    return SplatCloud.from_arrays(
        cloud.positions @ rotation.T.astype(np.float32),
        cloud.scales,
        wxyz_from_matrix(frames),
        cloud.opacities,
        cloud.colors,
    )
