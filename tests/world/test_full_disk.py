"""A full disk during a write: the server stays up, says so, and its store stays consistent.

Two ways to fill the disk for real, at the OS level, once a real server has stored some tiles:

- a full filesystem: the server's data folder is on a small tmpfs mounted by the test, and a
  file of zeros takes every block left, so the next blob or index write fails in the kernel with
  ENOSPC (SQLite: SQLITE_FULL); deleting the file gives the room back. Mounting needs root with
  CAP_SYS_ADMIN: where the test cannot mount (an unprivileged container) it is skipped, saying why;
- a file size limit (always runs): every one of the server's processes (the server and its
  generation workers, which write the blobs) gets RLIMIT_FSIZE of a few hundred bytes through
  prlimit(2), so writing a blob or the SQLite index past that fails with EFBIG (Python ignores
  SIGXFSZ, so the write raises instead of killing). No privilege beyond the processes' own user.
"""

from __future__ import annotations

import errno
import hashlib
import os
import resource
import shutil
import subprocess
from collections.abc import Callable, Iterator
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
DISK_BYTES = 64 * 1024 * 1024  # the tmpfs: room for the world and its first tiles


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


def _fill_filesystem(filler: Path) -> None:
    """Take every block left on ``filler``'s filesystem with zeros (ENOSPC ends it)."""
    with filler.open("wb", buffering=0) as out:
        for size in (1 << 20, 1 << 12):  # megabytes first, then the last pages
            while True:
                try:
                    out.write(bytes(size))
                except OSError as exc:
                    if exc.errno != errno.ENOSPC:
                        raise
                    break


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A tmpfs of DISK_BYTES mounted for the test, or a skip saying why it cannot be."""
    disk = tmp_path / "disk"
    disk.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root and mount(8); the RLIMIT_FSIZE variant runs instead")
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={DISK_BYTES},mode=0700", "tmpfs", str(disk)],
        capture_output=True,
        text=True,
        check=False,
    )
    if mounted.returncode != 0:
        pytest.skip(
            f"cannot mount a tmpfs here ({mounted.stderr.strip()}; a container without CAP_SYS_ADMIN); "
            "the RLIMIT_FSIZE variant runs instead"
        )
    try:
        yield disk
    finally:
        if subprocess.run(["umount", str(disk)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(disk)], check=False)  # a process still holds it


async def _stream_until_the_disk_fills(
    server: ServerProcess, fill: Callable[[], None], make_room: Callable[[], None]
) -> tuple[str, dict[TileKey, str], list[str], int]:
    """Tiles stored while there is room; then ``fill`` fills the disk and the viewer walks onto
    new ground; then ``make_room`` gives room back. Returns the world, the tiles received
    before, the errors after, and how many tiles still arrived after (none can have been stored)."""
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
        fill()
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
        make_room()
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
    _full_disk_then_room(
        data,
        lambda server: _fill_disk(server, FULL_AT_BYTES, writers),
        lambda server: _fill_disk(server, resource.RLIM_INFINITY, writers),
        says_full=writers != "server",
    )


def test_a_full_filesystem_mid_write_keeps_the_server_up_says_why_and_leaves_the_store_consistent(
    small_disk: Path,
) -> None:
    """The data folder on a tmpfs that really fills (ENOSPC for the workers' blobs and the
    server's SQLite index alike), then gets its room back."""
    filler = small_disk / "filler"
    _full_disk_then_room(
        small_disk / "data", lambda _: _fill_filesystem(filler), lambda _: filler.unlink(), says_full=True
    )


def _full_disk_then_room(
    data: Path,
    fill: Callable[[ServerProcess], None],
    make_room: Callable[[ServerProcess], None],
    says_full: bool,
) -> None:
    """The whole check: a server streaming tiles has its disk filled, stays up, says why, keeps
    its store consistent, stores again once there is room, and after a restart still has every
    tile stored before. ``says_full``: the errors say the disk is full (not only "could not write")."""
    server = start_server(data, workers=1)
    try:
        world_id, before, errors, _ = run(
            _stream_until_the_disk_fills(server, lambda: fill(server), lambda: make_room(server))
        )
        assert server.process.poll() is None, "the server died when its disk filled"
        assert errors, "the viewer was not told that tiles could not be stored"
        for message in errors:
            assert "could not be stored: the server" in message, message
            assert not says_full or "the server's disk is full" in message, message
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
