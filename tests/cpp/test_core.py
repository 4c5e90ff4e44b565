"""The C++ core (unreal_plugin/WorldBridge/Source/WorldBridgeCore), built here with ASan and UBSan:
its GoogleTest tests through ctest, then its program streaming a world from the real Python server,
every tile compared with the Python decoder's values for the same bytes."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from bridge.client.client import WorldBridgeClient
from bridge.client.server_process import ServerProcess, start_server
from bridge.formats import decode_splats
from bridge.formats._gltf import read_glb
from bridge.formats.tilecodec import decoded_bytes
from bridge.stream.handover import tiles_to_draw
from bridge.world.keys import TileKey
from tests.conftest import photo_path, run
from tests.cpp.core_build import CoreBuild, build_core, needs_cpp_toolchain

pytestmark = [needs_cpp_toolchain, pytest.mark.slow]

# A short walk in a small radius: enough tiles of several LODs to compare, little time under ASan.
WALK = ["--walk", "48", "--step", "16", "--radius", "96", "--timeout", "120"]
STREAM_TIMEOUT_S = 240
# LeakSanitizer stays on; gRPC's process-wide singletons are freed at exit, so none are reported.
SANITIZER_ENV = {"ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0", "UBSAN_OPTIONS": "print_stacktrace=1"}


@pytest.fixture(scope="module")
def core() -> CoreBuild:
    return build_core()


@pytest.fixture(scope="module")
def world_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ServerProcess, str]]:
    process = start_server(tmp_path_factory.mktemp("cpp-server"), workers=1)
    try:

        async def create() -> str:
            async with WorldBridgeClient(process.target) as client:
                world = await client.create_world(photo_path("lyra2_06").read_bytes())
                return world.id

        yield process, run(create())
    finally:
        assert process.stop() == 0, f"the server did not stop cleanly; see {process.log_path}"


def stream(core: CoreBuild, server: ServerProcess, world_id: str, out: Path, *extra: str) -> dict:
    """Run worldbridge-core-stream; its JSON report (the test fails on a non-zero exit)."""
    args = [str(core.stream_program), "--server", server.target, "--world", world_id, "--out", str(out), *WALK, *extra]
    done = subprocess.run(
        args, capture_output=True, text=True, timeout=STREAM_TIMEOUT_S, env={**os.environ, **SANITIZER_ENV}
    )
    failed = f"worldbridge-core-stream failed ({done.returncode}):\n{done.stdout[-3000:]}\n{done.stderr[-6000:]}"
    assert done.returncode == 0, failed
    assert "runtime error" not in done.stderr, done.stderr[-6000:]  # UBSan's report
    return json.loads(done.stdout)


def blob(server: ServerProcess, sha256: str) -> bytes:
    with urllib.request.urlopen(f"{server.http_url}/v1/blobs/{sha256}", timeout=60) as response:
        data = response.read()
    assert hashlib.sha256(data).hexdigest() == sha256
    return data


def keys(rows: list[list[int]]) -> set[TileKey]:
    return {TileKey(*row) for row in rows}


@needs_cpp_toolchain
def test_the_unit_tests_pass_under_asan_and_ubsan(core: CoreBuild) -> None:
    done = subprocess.run(
        ["ctest", "--test-dir", str(core.build_dir), "--output-on-failure", "-j2"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stdout[-6000:] + done.stderr[-2000:]
    assert "100% tests passed" in done.stdout
    assert "tests passed, 0 tests failed out of" in done.stdout


@pytest.mark.parametrize("fmt", ["splat-textures", "stream", "spz"])
def test_every_streamed_tile_decodes_to_the_python_decoders_values(
    core: CoreBuild, world_server: tuple[ServerProcess, str], tmp_path: Path, fmt: str
) -> None:
    server, world_id = world_server
    report = stream(core, server, world_id, tmp_path, "--format", fmt, "--raw")
    assert report["settled"] and report["decode_errors"] == 0 and report["stream_errors"] == 0
    tiles = report["tiles"]
    assert len(tiles) >= 20, report
    assert len({t["key"][0] for t in tiles}) >= 2, "the walk should bring more than one LOD"
    for tile in tiles:
        stem = "_".join(str(v) for v in tile["key"])
        cloud = decode_splats(blob(server, tile["sha256"]), fmt)
        cpp = (tmp_path / "raw" / f"{stem}.f32").read_bytes()
        assert cpp == decoded_bytes(cloud), f"{stem} ({fmt}): the C++ decoder's values differ from Python's"
        # The PLY the program writes: INRIA layout, glTF frame, the same positions.
        ply = (tmp_path / f"{stem}.ply").read_bytes()
        head, _, body = ply.partition(b"end_header\n")
        assert b"comment frame glTF" in head and f"element vertex {len(cloud)}\n".encode() in head
        rows = np.frombuffer(body, dtype="<f4").reshape(len(cloud), 17)
        np.testing.assert_array_equal(rows[:, :3], cloud.positions)
        np.testing.assert_array_equal(rows[:, 13:17], cloud.rotations)
    # The hand-over rule, both languages: the drawn set is Python's for the held set.
    assert report["drawn_agrees"]
    assert keys(report["drawn"]) == tiles_to_draw(keys(report["held"]))
    assert report["get_tile_agrees"], "GetTile through the core should give the streamed content"


def test_meshes_pass_through_and_their_arrays_read_as_python_reads_them(
    core: CoreBuild, world_server: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, world_id = world_server
    # Mesh tiles bake a texture each (the slowest tiles to make): the spawn's alone.
    report = stream(core, server, world_id, tmp_path, "--format", "glb", "--raw", "--walk", "0", "--radius", "64")
    assert report["settled"] and report["decode_errors"] == 0 and report["tiles"]
    for tile in report["tiles"]:
        stem = "_".join(str(v) for v in tile["key"])
        glb = (tmp_path / f"{stem}.glb").read_bytes()
        assert hashlib.sha256(glb).hexdigest() == tile["sha256"]
        parsed = read_glb(glb)
        primitive = parsed.gltf["meshes"][0]["primitives"][0]
        raw = tmp_path / "raw"
        positions = np.fromfile(raw / f"{stem}.positions.f32", dtype="<f4").reshape(-1, 3)
        np.testing.assert_array_equal(positions, parsed.accessor(primitive["attributes"]["POSITION"]))
        uvs = np.fromfile(raw / f"{stem}.uvs.f32", dtype="<f4").reshape(-1, 2)
        np.testing.assert_array_equal(uvs, parsed.accessor(primitive["attributes"]["TEXCOORD_0"]))
        indices = np.fromfile(raw / f"{stem}.indices.u32", dtype="<u4")
        np.testing.assert_array_equal(indices, parsed.accessor(primitive["indices"]).astype(np.uint32))
    assert report["mesh_vertices_received"] > 0


def test_a_dropped_connection_reconnects_and_resumes_without_resending_held_tiles(
    core: CoreBuild, world_server: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, world_id = world_server
    report = stream(core, server, world_id, tmp_path, "--format", "stream", "--drop-at", "16")
    assert report["settled"], report["failure"]
    assert report["reconnects"] == 1
    assert report["resumed_streams"] == 1
    assert report["resent_tiles"] == 0
    assert report["drawn_agrees"]


def test_an_unknown_world_is_refused_with_the_servers_reason(
    core: CoreBuild, world_server: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    server, _ = world_server
    args = [str(core.stream_program), "--server", server.target, "--world", "0" * 32, "--out", str(tmp_path), *WALK]
    done = subprocess.run(args, capture_output=True, text=True, timeout=60, env={**os.environ, **SANITIZER_ENV})
    assert done.returncode == 1
    assert "GetWorld" in done.stderr and "gRPC status 5" in done.stderr, done.stderr  # NOT_FOUND


def test_the_program_explains_its_usage(core: CoreBuild) -> None:
    done = subprocess.run([str(core.stream_program), "--walk", "ten"], capture_output=True, text=True, timeout=30)
    assert done.returncode == 2
    assert "--walk wants a number, not 'ten'" in done.stderr


def test_a_restarted_server_is_reached_again_with_backoff_and_held_tiles_are_not_resent(
    core: CoreBuild, tmp_path: Path
) -> None:
    # The server stops while the walk is paused and comes back on the same port with the same data;
    # session ids do not survive a restart, so the held tiles' hashes are what resume the stream.
    data = tmp_path / "data"
    first = start_server(data, workers=1)
    try:

        async def create() -> str:
            async with WorldBridgeClient(first.target) as client:
                return (await client.create_world(photo_path("lyra2_06").read_bytes())).id

        world_id = run(create())
        args = [str(core.stream_program), "--server", first.target, "--world", world_id, "--out", str(tmp_path / "out")]
        program = subprocess.Popen(
            [*args, *WALK, "--format", "stream", "--pause-at", "16"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, **SANITIZER_ENV},
        )
        paused = threading.Event()
        errors: list[str] = []
        output: list[str] = []

        def read_errors() -> None:
            assert program.stderr is not None
            for line in program.stderr:
                errors.append(line)
                if line.startswith("paused at"):
                    paused.set()

        readers = [
            threading.Thread(target=read_errors, daemon=True),
            threading.Thread(target=lambda: output.append(program.stdout.read()), daemon=True),  # type: ignore[union-attr]
        ]
        for reader in readers:
            reader.start()
        assert paused.wait(STREAM_TIMEOUT_S), "".join(errors)[-4000:]
        assert first.stop() == 0
        assert program.stdin is not None
        program.stdin.write("\n")  # walk on while the server is down: the session retries with backoff
        program.stdin.flush()
        second = start_server(data, workers=1, extra_args=["--port", str(first.port)])
        try:
            assert program.wait(STREAM_TIMEOUT_S) == 0, "".join(errors)[-6000:]
            for reader in readers:
                reader.join(30)
        finally:
            assert second.stop() == 0
    finally:
        first.stop()
    report = json.loads(output[0])
    assert report["settled"] and report["reconnects"] >= 1
    assert report["resumed_tiles"] > 0, "the held tiles should count as held after the restart"
    assert report["resent_tiles"] == 0
    assert any("reconnecting in" in line for line in errors), "the session should have backed off"


def test_a_directive_while_streaming_replaces_exactly_the_changed_tiles_and_a_revert_restores_them(
    core: CoreBuild, world_server: tuple[ServerProcess, str], tmp_path: Path
) -> None:
    # Last in the file: it steers the module's world (and reverts, leaving its tiles as they were).
    server, world_id = world_server
    tower = {"kind": "place", "region": {"circle": {"center": [0, -40], "radius": 6}}, "structure": "a stone tower"}
    report = stream(
        core, server, world_id, tmp_path, "--format", "stream", "--raw", "--walk", "0", "--radius", "64",
        "--directive", json.dumps(tower), "--revert",
    )  # fmt: skip
    assert report["settled"], report["failure"]
    applied, reverted = report["steer"]
    assert applied["settled"] and reverted["settled"]
    assert reverted["directive_id"] == applied["directive_id"] and reverted["version"] == applied["version"] + 1
    before = {TileKey(*t["key"]): t["sha256"] for t in applied["before"]}
    for step in (applied, reverted):
        changed = keys([c["key"] for c in step["changed"]])
        assert changed and changed <= set(before), "the changed events name held tiles"
        assert len(changed) <= step["touched_tiles"]
        assert {c["directive_version"] for c in step["changed"]} == {step["version"]}
        # Each changed tile came again, once, with other content than it had; nothing else came.
        replaced = {TileKey(*t["key"]): t["sha256"] for t in step["replaced"]}
        assert len(step["replaced"]) == len(changed) and set(replaced) == changed
        held_then = {TileKey(*t["key"]): t["sha256"] for t in step["before"]}
        assert all(replaced[k] != held_then[k] for k in changed)
        untouched = set(held_then) - changed
        assert untouched, "the walk should hold tiles the directive does not touch"
        if step is applied:
            after = {TileKey(*t["key"]): t["sha256"] for t in reverted["before"]}
            assert {k: after[k] for k in untouched} == {k: before[k] for k in untouched}
            # The new bytes are the server's, and the core decoded them as Python does.
            for key, sha in replaced.items():
                cloud = decode_splats(blob(server, sha), "stream")
                cpp = (tmp_path / "raw" / f"{key.lod}_{key.ix}_{key.iz}.{sha}.f32").read_bytes()
                assert cpp == decoded_bytes(cloud), f"{key}: the C++ decoder's values differ from Python's"
    assert keys([c["key"] for c in reverted["changed"]]) == keys([c["key"] for c in applied["changed"]])
    # The revert brought back exactly the bytes held before the directive, and the session agrees.
    final = {TileKey(*t["key"]): t["sha256"] for t in report["tiles"]}
    assert final == before
    assert report["tiles_changed"] == report["changes_replaced"] == 2 * len(applied["changed"])
    assert report["stale_tiles"] == 0 and report["resent_tiles"] == 0 and report["decode_errors"] == 0
