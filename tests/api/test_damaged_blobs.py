"""Blobs damaged on disk, against a real server and its real store: every read is checked against
the blob's hash, so damaged bytes are never served; a tile's blob is made again (and logged), an
asset's is refused with a clear error."""

from __future__ import annotations

import hashlib
from pathlib import Path

import aiohttp

from bridge.client.client import ReceivedTile, WorldBridgeClient
from bridge.client.server_process import ServerProcess, start_server
from bridge.stream.pose import Pose
from bridge.world.keys import TileKey
from tests.conftest import run
from tests.stream_support import small_photo
from tests.transport_support import opened

HERE = Pose((0, 3, 0), (0, 0, -1), radius_m=24)


def blob_path(data_dir: Path, sha: str) -> Path:
    return data_dir / "blobs" / sha[:2] / sha[2:]


def damage(path: Path) -> None:
    """One byte changed in the middle: the size stays, the hash does not."""
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))


async def settled_tiles(server: ServerProcess, transport: str, world_id: str) -> dict[TileKey, tuple[str, str]]:
    """Stream the spawn until served: key -> (the sha256 the server named, the sha256 of the bytes)."""
    tiles = {}
    async with opened(server, transport, world_id) as stream:
        await stream.send(HERE, sequence=1)
        async for event in stream.events():
            if isinstance(event, ReceivedTile):
                tiles[event.key] = (event.sha256, hashlib.sha256(event.data).hexdigest())
                await stream.ack([event.key])
            elif type(event).__name__ == "Progress" and event.sequence == 1 and event.tiles_pending == 0:  # type: ignore[union-attr]
                return tiles
            elif type(event).__name__ == "StreamErrorEvent":
                raise AssertionError(f"stream error: {event}")
    raise AssertionError("the stream ended before the spawn was served")


async def asset_answer(server: ServerProcess, world_id: str, name: str) -> tuple[int, str, bytes]:
    url = f"{server.http_url}/v1/worlds/{world_id}/assets/{name}"
    async with aiohttp.ClientSession() as http, http.get(url) as got:
        return got.status, got.headers.get("ETag", ""), await got.read()


def test_damaged_blobs_are_found_on_read_tiles_made_again_and_nothing_damaged_served(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_server(data_dir, workers=1)
    try:

        async def make() -> tuple[str, dict[TileKey, tuple[str, str]], str]:
            async with WorldBridgeClient(first.target) as client:
                world_id = (await client.create_world(small_photo(), name="damaged")).id
            tiles = await settled_tiles(first, "grpc", world_id)
            _, etag, _ = await asset_answer(first, world_id, "sky")
            return world_id, tiles, etag.strip('"')

        world_id, before, sky_sha = run(make(), 120)
    finally:
        assert first.stop() == 0
    assert before and all(named == got for named, got in before.values())
    for sha, _ in before.values():
        damage(blob_path(data_dir, sha))
    damage(blob_path(data_dir, sky_sha))

    second = start_server(data_dir, workers=1)
    try:

        async def read_back() -> tuple[dict[TileKey, tuple[str, str]], tuple[str, str], tuple[int, str, bytes]]:
            streamed = await settled_tiles(second, "websocket", world_id)
            key = next(iter(before))
            async with WorldBridgeClient(second.target) as client:
                fetched = await client.get_tile(world_id, key, fmt="spz")
            return (
                streamed,
                (fetched.sha256, hashlib.sha256(fetched.data).hexdigest()),
                await asset_answer(second, world_id, "sky"),
            )

        streamed, fetched, (sky_status, _, sky_body) = run(read_back(), 120)
    finally:
        assert second.stop() == 0
    # Every tile came back with the bytes it had before the damage, over the stream and GetTile.
    assert streamed == before
    assert fetched == before[next(iter(before))]
    # The asset cannot be made again: refused, its damaged bytes never sent.
    assert sky_status == 500 and b"damaged on disk" in sky_body
    log = second.log_path.read_text()
    assert log.count('"msg": "damaged blob"') >= len(before) + 1
    assert '"msg": "tile made again"' in log
    for sha, _ in before.values():
        assert hashlib.sha256(blob_path(data_dir, sha).read_bytes()).hexdigest() == sha


def test_a_damaged_tile_under_a_directive_is_made_again_with_it(tmp_path: Path) -> None:
    """A tile a directive changed carries its stamp: made again, it is made with that directive
    (without it the bytes would differ and the tile would be refused as damaged)."""
    import json

    data_dir = tmp_path / "data"
    paint = {"kind": "paint", "region": {"circle": {"center": [0, -6], "radius": 12}}, "ground": "sand"}
    first = start_server(data_dir, workers=1)
    try:

        async def make() -> tuple[str, dict[TileKey, tuple[str, str]]]:
            async with WorldBridgeClient(first.target) as client:
                world_id = (await client.create_world(small_photo(), name="painted")).id
                await client.apply_directive(world_id, json.dumps(paint))
            return world_id, await settled_tiles(first, "grpc", world_id)

        world_id, before = run(make(), 120)
    finally:
        assert first.stop() == 0
    for sha, _ in before.values():
        damage(blob_path(data_dir, sha))
    second = start_server(data_dir, workers=1)
    try:
        streamed = run(settled_tiles(second, "grpc", world_id), 120)
    finally:
        assert second.stop() == 0
    assert streamed == before
    assert '"msg": "tile made again"' in second.log_path.read_text()
