"""A full disk during a write: the server stays up, says so, and its store stays consistent.

The disk fills for real at the OS level: once a real server has stored some tiles, every one of
its processes (the server and its generation workers, which write the blobs) gets RLIMIT_FSIZE
of a few hundred bytes through prlimit(2), so writing a blob or the SQLite index past that fails
in the kernel with EFBIG, as a write to a full disk fails with ENOSPC (Python ignores SIGXFSZ, so
the write raises instead of killing). No mount and no privilege beyond the processes' own user.
"""

from __future__ import annotations

import hashlib
import resource
from pathlib import Path

import pytest

from bridge.client.client import ReceivedError, ReceivedTile, WorldBridgeClient
from bridge.client.server_process import ServerProcess, start_server
from bridge.stream.pose import Pose
from bridge.world.keys import TileKey
from tests.conftest import run
from tests.stream_support import small_photo
from tests.world.store_support import children, store_problems

FULL_AT_BYTES = 512  # no file of the server's may grow past this once the disk is "full"


def _fill_disk(server: ServerProcess, limit: int, writers: str) -> list[int]:
    """Set the file size limit of the server's ``writers``: "workers" (they write the tile
    blobs), "server" (it writes the SQLite index) or "all"; their pids."""
    pids, todo = [], [server.process.pid]
    while todo:
        pid = todo.pop()
        pids.append(pid)
        todo.extend(children(pid))
    if writers == "workers":
        pids = pids[1:]
    elif writers == "server":
        pids = pids[:1]
    for pid in pids:
        _, hard = resource.prlimit(pid, resource.RLIMIT_FSIZE)
        resource.prlimit(pid, resource.RLIMIT_FSIZE, (limit, hard))
    return pids


def _blob_files_hash_to_their_names(data: Path) -> list[str]:
    """Every file in the blob folder, temporary or not, that is not a whole blob."""
    return [
        str(path)
        for path in (data / "blobs").rglob("*")
        if path.is_file() and hashlib.sha256(path.read_bytes()).hexdigest() != path.parent.name + path.name
    ]


async def _stream_until_the_disk_fills(
    server: ServerProcess, writers: str
) -> tuple[str, dict[TileKey, str], list[str], int]:
    """Tiles stored while there is room; then the disk fills and the viewer walks onto new
    ground. Returns the world, the tiles received before, the errors after, and how many tiles
    still arrived after (none can have been stored)."""
    before: dict[TileKey, str] = {}
    errors: list[str] = []
    after = 0
    async with WorldBridgeClient(server.target) as client:
        world = await client.create_world(small_photo(), name="full disk")
        stream = client.stream(world.id)
        await stream.send(Pose((0, 3, 0), (0, 0, -1), radius_m=24), sequence=1, formats=["ply"])
        events = aiter(stream.events())
        async for event in events:
            if isinstance(event, ReceivedTile):
                before[event.key] = event.sha256
                await stream.ack([event.key])
                if len(before) >= 4:
                    break
        _fill_disk(server, FULL_AT_BYTES, writers)
        await stream.send(Pose((0, 3, -900), (0, 0, -1), radius_m=24), sequence=2)
        async for event in events:
            if isinstance(event, ReceivedTile):
                after += 1  # made before the disk filled, or found already stored
                await stream.ack([event.key])
            elif isinstance(event, ReceivedError):
                errors.append(event.message)
                if len(errors) >= 3:
                    break
        # Still serving: a unary call answers, and a tile stored before is read back.
        assert (await client.get_world(world.id)).id == world.id
        key, sha = next(iter(before.items()))
        assert (await client.get_tile(world.id, key)).sha256 == sha
        await stream.close()
        stream.cancel()
        # Room again: the same server stores tiles again (its index is not stuck mid-transaction).
        _fill_disk(server, resource.RLIM_INFINITY, writers)
        again = await client.get_tile(world.id, TileKey(0, 40, 40))
        assert again.splat_count > 0
        return world.id, before, errors, after


@pytest.mark.parametrize("writers", ["all", "server"])
def test_a_full_disk_mid_write_keeps_the_server_up_says_why_and_leaves_the_store_consistent(
    tmp_path: Path, writers: str
) -> None:
    """``all``: the blob writes fail first (in the workers); ``server``: the blobs are written but
    the index row is not (an unindexed blob is allowed: it is whole, and nothing names it)."""
    data = tmp_path / "data"
    server = start_server(data, workers=1)
    try:
        world_id, before, errors, _ = run(_stream_until_the_disk_fills(server, writers))
        assert server.process.poll() is None, "the server died when its disk filled"
        assert errors, "the viewer was not told that tiles could not be stored"
        for message in errors:
            assert "could not be stored: the server" in message, message
            assert writers == "server" or "the server's disk is full" in message, message
            assert str(data) not in message  # no server paths in what a client reads
        # Nothing half-written was left behind by the failed writes, even before any sweep.
        assert _blob_files_hash_to_their_names(data) == []
    finally:
        server.stop()

    assert store_problems(data, world_id, before) == []  # nothing stored before the disk filled was lost

    # With room again, a new server on the same folder serves what was stored and makes the rest.
    restarted = start_server(data, workers=1)
    try:

        async def after_restart() -> int:
            async with WorldBridgeClient(restarted.target) as client:
                key, sha = next(iter(before.items()))
                assert (await client.get_tile(world_id, key)).sha256 == sha
                return len((await client.get_tile(world_id, TileKey(0, 0, -113))).data)

        assert run(after_restart()) > FULL_AT_BYTES
    finally:
        assert restarted.stop() == 0
