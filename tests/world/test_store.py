"""The world store: atomic blobs, the index, and crash safety under SIGKILL of a real server."""

from __future__ import annotations

import hashlib
import json
import os
import select
from pathlib import Path

from bridge.client.client import ReceivedTile, WorldBridgeClient
from bridge.client.server_process import start_server
from bridge.stream.pose import Pose
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey
from bridge.world.spec import WorldSpec
from bridge.world.store import BlobStore, TileRow, WorldStore
from tests.conftest import photo_path, run


def test_blobs_are_named_by_their_hash_and_written_once(tmp_path: Path) -> None:
    blobs = BlobStore(tmp_path)
    sha = blobs.put(b"tile bytes")
    assert sha == hashlib.sha256(b"tile bytes").hexdigest()
    assert blobs.get(sha) == b"tile bytes"
    assert blobs.put(b"tile bytes") == sha
    assert [p.name for p in tmp_path.rglob("*") if p.is_file()] == [sha[2:]]


def test_temporary_files_left_by_a_crash_are_swept_at_open(tmp_path: Path) -> None:
    (tmp_path / "blobs" / "ab").mkdir(parents=True)
    (tmp_path / "blobs" / "ab" / ".partial-xyz").write_bytes(b"half a tile")
    WorldStore(tmp_path).close()
    assert not list((tmp_path / "blobs").rglob(".partial-*"))


def test_an_index_row_cannot_name_a_missing_blob(tmp_path: Path) -> None:
    store = WorldStore(tmp_path)
    row = TileRow(TileKey(0, 0, 0), "ply", 0, "0" * 64, 10, 1)
    try:
        store.put_tile("w", row)
    except ValueError as exc:
        assert "not stored" in str(exc)
    else:
        raise AssertionError("put_tile accepted a blob that does not exist")
    assert store.tile_count() == 0


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (from /proc: field 4 of stat, after the command)."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue  # the process ended while we looked
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _wait_for_exit(pid: int, timeout_s: float) -> bool:
    """Whether process ``pid`` (not our child) ends within ``timeout_s``: waits on its pidfd."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return True
    try:
        return bool(select.select([fd], [], [], timeout_s)[0])
    finally:
        os.close(fd)


def test_sigkill_while_generating_loses_no_finished_tile_and_leaves_no_half_tile(tmp_path: Path) -> None:
    data = tmp_path / "data"
    server = start_server(data, workers=2)
    received: dict[TileKey, str] = {}
    workers: list[int] = []

    async def stream_until_some_tiles_arrive() -> str:
        async with WorldBridgeClient(server.target) as client:
            world = await client.create_world(photo_path("lyra2_03").read_bytes())
            stream = client.stream(world.id)
            # A wide radius: far more tiles than arrive before the kill, so generation is under way.
            await stream.send(Pose((0, 5, 0), (0, 0, -1), radius_m=1500), sequence=1, formats=["ply"])
            async for event in stream.events():
                if isinstance(event, ReceivedTile):
                    received[event.key] = event.sha256
                    await stream.ack([event.key])
                    if len(received) >= 12:
                        break
            workers.extend(_children(server.process.pid))
            server.kill()  # SIGKILL with generation jobs in flight
            stream.cancel()
            return world.id

    world_id = run(stream_until_some_tiles_arrive())
    assert server.process.returncode == -9
    # The killed server's generation workers (and multiprocessing's helper) end with it.
    assert len(workers) >= 2, workers
    lingering = [pid for pid in workers if not _wait_for_exit(pid, 30.0)]
    assert lingering == [], f"worker processes outlived the killed server: {lingering}"

    # Before the store sweeps anything: every file named like a blob holds exactly its hash.
    for blob in (data / "blobs").rglob("*"):
        if blob.is_file() and not blob.name.startswith(".partial-"):
            assert hashlib.sha256(blob.read_bytes()).hexdigest() == blob.parent.name + blob.name
    store = WorldStore(data)
    try:
        assert store.integrity_problems() == []
        for key, sha in received.items():
            row = store.get_tile(world_id, key, "ply")
            assert row is not None and row.sha256 == sha, f"finished tile {key} was lost"
    finally:
        store.close()

    # A new server on the same folder serves the same bytes for what was already made.
    restarted = start_server(data, workers=1)
    try:
        key, sha = next(iter(received.items()))

        async def fetch() -> str:
            async with WorldBridgeClient(restarted.target) as client:
                return (await client.get_tile(world_id, key)).sha256

        assert run(fetch()) == sha
    finally:
        assert restarted.stop() == 0


def test_a_world_spec_reads_back_as_stored(tmp_path: Path) -> None:
    spawn = Camera.looking((0.0, 1.6, 0.0), (0.1, -0.2, -1.0), Intrinsics(640, 480, 500.5, 500.5, 320.0, 240.0))
    spec = WorldSpec(base_tile_m=32.0, seed=7, spawn=spawn, photo_size=(640, 480))
    stored = json.loads(json.dumps(spec.to_json(), sort_keys=True))
    assert stored["options"] == {"base_tile_m": 32.0, "seed": 7} and stored["photo_size"] == [640, 480]
    assert WorldSpec.from_json(stored).to_json() == stored  # the store's bytes survive a read and a write
