"""Client mistakes over real gRPC: a clear status and message, and nothing changed."""

from __future__ import annotations

import io
import math

import grpc
import numpy as np
import pytest
from PIL import Image

from bridge.client.client import ReceivedError, ReceivedProgress, ReceivedTile, WorldBridgeClient
from bridge.client.server_process import ServerProcess
from bridge.formats.ply import encode_ply
from bridge.stream.pose import Pose
from bridge.wire._proto.worldbridge.v1 import types_pb2 as types
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.world.keys import TileKey
from tests.conftest import photo_path, run
from tests.scene_support import photo_scene


def _png(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    Image.fromarray(array).save(out, format="PNG")
    return out.getvalue()


def _bomb_png() -> bytes:
    """A 20000 x 20000 PNG: a few hundred KB on the wire, 1.2 GB once decoded."""
    out = io.BytesIO()
    Image.new("L", (20000, 20000)).save(out, format="PNG", optimize=False, compress_level=9)
    return out.getvalue()


async def _status_of(server: ServerProcess, call: str, *args: object) -> tuple[grpc.StatusCode, str]:
    async with WorldBridgeClient(server.target) as client:
        try:
            method = getattr(client, call)
            result = method(*args)
            if hasattr(result, "__aiter__"):
                async for _ in result:
                    pass
            else:
                await result
        except grpc.aio.AioRpcError as exc:
            return exc.code(), exc.details() or ""
    return grpc.StatusCode.OK, ""


async def _world_count(server: ServerProcess) -> int:
    async with WorldBridgeClient(server.target) as client:
        return len((await client.list_worlds(page_size=500)).worlds)


@pytest.mark.parametrize(
    ("name", "photo", "expected"),
    [
        ("empty", lambda: b"", "empty"),
        ("not an image", lambda: b"hello, this is not a picture" * 10, "not a readable image"),
        ("truncated png", lambda: photo_path().read_bytes()[:5000], "truncated"),
        ("decompression bomb", _bomb_png, "pixels"),
        ("tiny", lambda: _png(np.zeros((8, 8, 3), np.uint8)), ">= 64"),
        # A splat scene is read by the import generator: refused by its header, or by the worker.
        (
            "scene, huge",
            lambda: b"ply\nformat binary_little_endian 1.0\nelement vertex 99999999\nend_header\n",
            "at most",
        ),
        ("scene, cut short", lambda: encode_ply(photo_scene().subset(np.arange(500)))[:-100], "cannot be read"),
    ],
)
def test_bad_photos_are_refused_with_invalid_argument_and_no_world(
    server: ServerProcess, name: str, photo: object, expected: str
) -> None:
    before = run(_world_count(server))
    code, details = run(_status_of(server, "create_world", photo()))  # type: ignore[operator]
    assert code == grpc.StatusCode.INVALID_ARGUMENT, (name, code, details)
    assert expected in details
    assert run(_world_count(server)) == before


def test_odd_but_valid_photos_are_converted_and_accepted(server: ServerProcess) -> None:
    base = np.asarray(Image.open(photo_path()).convert("RGB").resize((320, 200)))
    rgba = np.concatenate([base, np.full((*base.shape[:2], 1), 255, np.uint8)], axis=2)
    grey16 = (base.mean(axis=2) * 257).astype(np.uint16)
    variants = {"rgba": _png(rgba), "grey": _png(base.mean(axis=2).astype(np.uint8)), "16-bit": _png(grey16)}

    async def create_all() -> list[pb.World]:
        async with WorldBridgeClient(server.target) as client:
            return [await client.create_world(data, name=n) for n, data in variants.items()]

    worlds = run(create_all(), timeout_s=240)
    assert all(w.photo_width == 320 and w.photo_height == 200 for w in worlds)
    assert len({w.id for w in worlds}) == 3


def test_unknown_world_and_bad_keys_and_formats(server: ServerProcess) -> None:
    code, details = run(_status_of(server, "get_world", "no-such-world"))
    assert code == grpc.StatusCode.NOT_FOUND and "no-such-world" in details
    code, _ = run(_status_of(server, "get_tile", "no-such-world", TileKey(0, 0, 0)))
    assert code == grpc.StatusCode.NOT_FOUND

    async def bad_tile_requests() -> list[grpc.StatusCode]:
        async with WorldBridgeClient(server.target) as client:
            world = await client.create_world(photo_path().read_bytes())
            codes = []
            for request in (
                pb.GetTileRequest(world_id=world.id, key=types.TileKey(lod=99, ix=0, iz=0)),
                pb.GetTileRequest(world_id=world.id, key=types.TileKey(lod=0, ix=2**50, iz=0)),
                pb.GetTileRequest(world_id=world.id, key=types.TileKey(lod=0), format=77),
            ):
                try:
                    async for _ in client.stub.GetTile(request):
                        pass
                    codes.append(grpc.StatusCode.OK)
                except grpc.aio.AioRpcError as exc:
                    codes.append(exc.code())
            return codes

    assert run(bad_tile_requests(), timeout_s=240) == [grpc.StatusCode.INVALID_ARGUMENT] * 3


def test_stream_refuses_a_nan_first_pose_and_reports_later_bad_updates(server: ServerProcess) -> None:
    async def scenario() -> tuple[grpc.StatusCode, list[str], int]:
        async with WorldBridgeClient(server.target) as client:
            world = await client.create_world(photo_path().read_bytes())
            stream = client.stream(world.id)
            await stream.send(Pose((math.nan, 0, 0), (0, 0, -1)))
            first_code = grpc.StatusCode.OK
            try:
                async for _ in stream.events():
                    pass
            except grpc.aio.AioRpcError as exc:
                first_code = exc.code()
            # A good stream: later bad updates are reported as errors and change nothing.
            stream = client.stream(world.id)
            await stream.send(Pose((0, 5, 0), (0, 0, -1), radius_m=40), sequence=1)
            await stream.send(Pose((0, 5, 0), (0, 0, -1), radius_m=1e9), sequence=2)
            await stream.send(Pose((0, math.inf, 0), (0, 0, -1)), sequence=3)
            await stream.ack([TileKey(0, 500, 500)])
            await stream.send(Pose((0, 5, 0), (0, 0, -1), radius_m=40), sequence=4)
            errors: list[str] = []
            wanted = -1
            async for event in stream.events():
                if isinstance(event, ReceivedTile):
                    await stream.ack([event.key])  # as a viewer that keeps what it gets does
                elif isinstance(event, ReceivedError):
                    errors.append(event.message)
                elif isinstance(event, ReceivedProgress) and event.sequence == 4 and event.tiles_pending == 0:
                    wanted = event.tiles_wanted
                    break
            await stream.close()
            stream.cancel()
            return first_code, errors, wanted

    first_code, errors, wanted = run(scenario(), timeout_s=240)
    assert first_code == grpc.StatusCode.INVALID_ARGUMENT
    assert any("view_radius_m" in e for e in errors)
    assert any("not finite" in e for e in errors)
    assert any("never sent" in e for e in errors)
    assert wanted > 0  # the stream went on serving the radius it had


def test_server_is_still_healthy_after_all_that(server: ServerProcess) -> None:
    assert server.process.poll() is None
