"""Splat scenes for the import tests (no tests here): made from a sample photo's world, the way
a trainer or a world model writes one (the first camera at the file's origin)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from functools import cache

import grpc
import numpy as np
import pytest

from bridge.client.server_process import ServerProcess
from bridge.core.errors import InvalidRequestError
from bridge.core.worlds import Worlds
from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions, PreparedWorld
from bridge.generate.photo import PhotoGenerator
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.wire._proto.worldbridge.v1 import world_service_pb2_grpc as pb_grpc
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


async def refusals(worlds: Worlds, attempts: list[tuple[bytes, GeneratorOptions]]) -> list[str]:
    """The message each attempt to create a world (data, options) is refused with; every one must be."""
    messages = []
    for data, options in attempts:
        try:
            await worlds.create_world(data, options=options)
        except InvalidRequestError as exc:
            messages.append(str(exc))
        else:
            raise AssertionError(f"{options} was not refused")
    return messages


def check_served_scene_option(
    server: ServerProcess, scene: bytes, options: pb.WorldOptions, field: str, bad_query: str, bad_reason: str
) -> None:
    """A server started on ``scene`` with an option (``options``, its field ``field``): the world
    it made lists the option; CreateWorld with the same options finds that world; the option is
    refused for a photo (INVALID_ARGUMENT); the HTTP world echoes it; a bad value in the HTTP
    query (``bad_query``) is refused with 400, saying ``bad_reason``."""
    expected = getattr(options, field)
    expected = list(expected) if not isinstance(expected, float) else expected
    with grpc.insecure_channel(server.target) as channel:
        stub = pb_grpc.WorldServiceStub(channel)
        served = stub.ListWorlds(pb.ListWorldsRequest()).worlds
        assert len(served) == 1
        got = getattr(served[0], field)
        assert (list(got) if not isinstance(got, float) else got) == pytest.approx(expected)
        same = stub.CreateWorld(pb.CreateWorldRequest(photo=scene, options=options))
        assert (same.world.id, same.created) == (served[0].id, False)
        with pytest.raises(grpc.RpcError) as caught:
            stub.CreateWorld(pb.CreateWorldRequest(photo=small_photo(), options=options))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "for imported splat scenes" in (caught.value.details() or "")
    with urllib.request.urlopen(f"{server.http_url}/v1/worlds/{served[0].id}", timeout=60) as response:
        assert json.loads(response.read())[field] == pytest.approx(expected)
    bad = urllib.request.Request(f"{server.http_url}/v1/worlds?{bad_query}", data=scene, method="POST")
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(bad, timeout=60)
    assert refused.value.code == 400 and bad_reason in refused.value.read().decode()
