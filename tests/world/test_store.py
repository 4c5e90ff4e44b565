"""The world store: atomic blobs, the index, and crash safety under SIGKILL of a real server."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import select
from pathlib import Path

from bridge.client.client import ReceivedTile, WorldBridgeClient
from bridge.client.server_process import ServerProcess, start_server
from bridge.formats import format_revisions
from bridge.stream.pose import Pose
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey
from bridge.world.spec import WorldSpec
from bridge.world.store import BlobStore, TileRow, WorldRow, WorldStore
from tests.conftest import photo_path, run
from tests.stream_support import small_photo
from tests.transport_support import opened
from tests.world.store_support import children, store_problems


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
            workers.extend(children(server.process.pid))
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
    assert store_problems(data, world_id, received) == []

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


CRASHES = 20
CRASH_SEED = 20  # the kill moments are random, but the same on every run
CRASH_VIEWERS = (("grpc", 0.0), ("websocket", 120.0), ("grpc", -120.0))  # transport, x of its walk


async def _view_until_killed(
    server: ServerProcess, transport: str, world_id: str, start: Pose, acked: dict[TileKey, str], arrived: asyncio.Event
) -> None:
    """One viewer walking from ``start``: keeps every tile it receives (and acks it) until the
    connection dies with the server."""
    with contextlib.suppress(Exception):
        async with opened(server, transport, world_id) as stream:
            await stream.send(start, sequence=1, formats=["ply"], max_resident_splats=300_000)
            sequence = 1
            async for event in stream.events():
                if isinstance(event, ReceivedTile):
                    acked[event.key] = event.sha256
                    await stream.ack([event.key])
                    arrived.set()
                    sequence += 1  # a step on per tile: the walk keeps generation busy
                    x, y, z = start.position
                    await stream.send(Pose((x, y, z - 4.0 * sequence), start.forward, radius_m=24), sequence=sequence)


async def _generate_then_kill(
    server: ServerProcess, world_id: str, crash: int, after_tiles: int, tiles: dict[TileKey, str]
) -> list[int]:
    """Viewers stream until ``after_tiles`` tiles have arrived; then SIGKILL. The received tiles
    go into ``tiles``; returns the server's worker processes as they were at the kill."""
    arrived = asyncio.Event()
    got: dict[TileKey, str] = {}
    viewers = [
        asyncio.create_task(
            _view_until_killed(
                server, transport, world_id, Pose((x, 3, -60.0 * crash), (0, 0, -1), radius_m=24), got, arrived
            )
        )
        for transport, x in CRASH_VIEWERS
    ]
    while len(got) < after_tiles:
        arrived.clear()
        await asyncio.wait_for(arrived.wait(), 60)
    workers = children(server.process.pid)
    server.kill()
    tiles.update(got)
    await asyncio.gather(*viewers)
    return workers


async def _create_world(target: str) -> str:
    async with WorldBridgeClient(target) as client:
        return (await client.create_world(small_photo(), name="crashes")).id


def test_twenty_sigkills_at_random_moments_lose_no_acked_tile_and_leave_no_temporary_file(tmp_path: Path) -> None:
    """A real server generating for three viewers (both transports) is SIGKILLed 20 times, each
    after a random number of tiles (0-6: often mid-generation, with its worker mid-write). After
    each: the index and every blob check out, every tile a viewer received before the kill is
    indexed with its sha256, and no temporary file outlives the restart."""
    data = tmp_path / "data"
    rng = random.Random(CRASH_SEED)
    tiles: dict[TileKey, str] = {}  # every tile received before any kill: key -> sha256 (ply)
    world_id = ""
    for crash in range(CRASHES + 1):  # the last start only checks what the last kill left
        server = start_server(data, workers=1)
        # The ready line comes after the store's sweep, before any viewer: nothing half-written left.
        assert not list((data / "blobs").rglob(".partial-*")), f"temporary files survived restart {crash}"
        if world_id:
            assert store_problems(data, world_id, tiles) == [], f"after kill {crash}"
        else:
            world_id = run(_create_world(server.target), 120)
        if crash == CRASHES:
            assert server.stop() == 0
            break
        workers = run(_generate_then_kill(server, world_id, crash, rng.randint(0, 6), tiles), 120)
        assert server.process.returncode == -9
        lingering = [pid for pid in workers if not _wait_for_exit(pid, 30.0)]
        assert lingering == [], f"workers outlived kill {crash}: {lingering}"
    assert len(tiles) >= CRASHES, "too few tiles arrived for the kills to land among writes"


def test_a_mesh_tile_of_an_older_format_revision_is_made_again_not_served(tmp_path: Path) -> None:
    """The store files tiles under their format's revision (bridge/formats: glb is 2 since its
    meshes carry what stands on the ground): a revision-1 row is not what a lookup finds."""
    store = WorldStore(tmp_path, format_revisions())
    spawn = Camera.looking((0.0, 1.6, 0.0), (0.0, 0.0, -1.0), Intrinsics.from_vertical_fov(60.0, 64, 48))
    store.add_world(WorldRow("w", "w", "0" * 64, "photo", "0", WorldSpec(8.0, 0, spawn, (64, 48)), "1" * 64, 0), [])
    sha = store.blobs.put(b"revision 1 mesh bytes")
    key = TileKey(0, 1, 2)
    with store._transaction() as db:  # the row as a revision-1 server filed it
        db.execute("INSERT INTO tiles VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", ("w", 0, 1, 2, "glb", 0, sha, 21, 0, 0))
    assert store.get_tile("w", key, "glb") is None
    new = store.blobs.put(b"revision 2 mesh bytes")
    store.put_tile("w", TileRow(key, "glb", 0, new, 21, 0))
    assert store.get_tile("w", key, "glb") == TileRow(key, "glb", 0, new, 21, 0)
    assert store.tile_naming(new) == ("w", TileRow(key, "glb", 0, new, 21, 0))
    ply = store.blobs.put(b"ply bytes")  # a format still at revision 1 is filed by its name
    store.put_tile("w", TileRow(key, "ply", 0, ply, 9, 1))
    with store._transaction() as db:
        assert db.execute("SELECT format FROM tiles WHERE sha256 = ?", (ply,)).fetchone()[0] == "ply"
    store.close()
