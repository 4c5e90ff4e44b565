"""ExportRegion over real gRPC and over HTTP: the same files, byte for byte, as the core's
export into a folder; refusals with their status before anything is made."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import aiohttp
import grpc

from bridge.core.export import ExportFile, ExportProgress, ExportRequest
from bridge.stream.interest import StreamOptions
from bridge.wire import export_wire
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from bridge.wire._proto.worldbridge.v1 import world_service_pb2_grpc as pb_grpc
from tests.conftest import run
from tests.export_support import export_to, folder_digests, request
from tests.stream_support import small_photo
from tests.transport_support import both_faces


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    for path, data in files.items():
        (folder / path).parent.mkdir(parents=True, exist_ok=True)
        (folder / path).write_bytes(data)
    return folder


async def _grpc_export(target: str, world_id: str, req: ExportRequest) -> tuple[dict[str, bytes], list[ExportProgress]]:
    async with grpc.aio.insecure_channel(target) as channel:
        stub = pb_grpc.WorldServiceStub(channel)
        call = stub.ExportRegion(export_wire.request_to_proto(world_id, req))
        files, progress = {}, []
        async for event in export_wire.read_events(call):
            if isinstance(event, ExportFile):
                files[event.path] = event.data
            else:
                progress.append(event)
    return files, progress


def test_grpc_and_http_exports_are_the_core_export_byte_for_byte(tmp_path: Path) -> None:
    async def scenario() -> tuple[dict[str, bytes], list[ExportProgress], bytes, dict[str, str], dict[str, bytes]]:
        async with both_faces(tmp_path / "data", StreamOptions()) as faces:
            world, _ = await faces.worlds.create_world(small_photo())
            await export_to(faces.worlds, world.id, request("3dtiles"), tmp_path / "core")
            await export_to(faces.worlds, world.id, request("gltf-spz"), tmp_path / "core-spz")
            files, progress = await _grpc_export(faces.grpc_target, world.id, request("3dtiles"))
            spz_files, _ = await _grpc_export(faces.grpc_target, world.id, request("gltf-spz"))
            body = json.dumps({"x0": 0, "z0": -8, "x1": 16, "z1": 0, "format": "3dtiles"})
            async with aiohttp.ClientSession() as http:
                url = f"{faces.http_url}/v1/worlds/{world.id}/export"
                async with http.post(url, data=body) as response:
                    assert response.status == 200, await response.text()
                    return files, progress, await response.read(), dict(response.headers), spz_files

    files, progress, zipped, headers, spz_files = run(scenario(), 180)
    expected = folder_digests(tmp_path / "core")
    assert folder_digests(_write(tmp_path / "grpc", files)) == expected
    assert folder_digests(_write(tmp_path / "grpc-spz", spz_files)) == folder_digests(tmp_path / "core-spz")
    assert list(files)[-1] == "manifest.json"
    assert [p.tiles_done for p in progress] == [0, 1, 2] and progress[-1].tiles_total == 2
    assert headers["Content-Type"] == "application/zip"
    assert "attachment" in headers["Content-Disposition"]
    with zipfile.ZipFile(io.BytesIO(zipped)) as archive:
        assert archive.testzip() is None
        unzipped = {name: archive.read(name) for name in archive.namelist()}
    assert folder_digests(_write(tmp_path / "http", unzipped)) == expected


def test_refusals_carry_their_status_and_make_nothing(tmp_path: Path) -> None:
    async def scenario() -> tuple[list[tuple[grpc.StatusCode, str]], list[tuple[int, str]], int]:
        async with both_faces(tmp_path / "data", StreamOptions()) as faces:
            world, _ = await faces.worlds.create_world(small_photo())
            before = faces.worlds.scheduler.stats().submitted
            bad = [
                pb.ExportRegionRequest(world_id=world.id, x0=0, z0=0, x1=float("nan"), z1=8, format="ply"),
                pb.ExportRegionRequest(world_id=world.id, x0=8, z0=0, x1=0, z1=8, format="ply"),
                pb.ExportRegionRequest(world_id=world.id, x0=0, z0=0, x1=8, z1=8, format="obj"),
                pb.ExportRegionRequest(world_id=world.id, x0=0, z0=0, x1=8, z1=8, format="ply", lod=99),
                pb.ExportRegionRequest(world_id="f" * 32, x0=0, z0=0, x1=8, z1=8, format="ply"),
            ]
            statuses = []
            async with grpc.aio.insecure_channel(faces.grpc_target) as channel:
                stub = pb_grpc.WorldServiceStub(channel)
                for message in bad:
                    try:
                        async for _ in stub.ExportRegion(message):
                            pass
                    except grpc.aio.AioRpcError as exc:
                        statuses.append((exc.code(), exc.details() or ""))
            answers = []
            async with aiohttp.ClientSession() as http:
                for url, body in [
                    (f"/v1/worlds/{world.id}/export", '{"x0": 8, "x1": 0, "z1": 8, "format": "ply"}'),
                    (f"/v1/worlds/{world.id}/export", '{"x0": "east"}'),
                    (f"/v1/worlds/{'f' * 32}/export", '{"x1": 8, "z1": 8, "format": "ply"}'),
                ]:
                    async with http.post(faces.http_url + url, data=body) as response:
                        answers.append((response.status, (await response.json())["error"]["message"]))
            return statuses, answers, faces.worlds.scheduler.stats().submitted - before

    statuses, answers, made = run(scenario(), 120)
    codes = [code for code, _ in statuses]
    assert codes == [grpc.StatusCode.INVALID_ARGUMENT] * 4 + [grpc.StatusCode.NOT_FOUND], statuses
    assert "finite" in statuses[0][1] and "inverted" in statuses[1][1] and "obj" in statuses[2][1]
    assert [status for status, _ in answers] == [400, 400, 404], answers
    assert "inverted" in answers[0][1]
    assert made == 0
