"""Hostile photos against a real server over real gRPC and HTTP: refused from their headers, fast,
with the limit in the message, and the store left as it was."""

from __future__ import annotations

import io
import time
from collections.abc import Iterator
from pathlib import Path

import aiohttp
import grpc
import pytest
from PIL import Image

from bridge.client.client import WorldBridgeClient
from bridge.client.server_process import ServerProcess, start_server
from bridge.world.photos import MAX_JPEG_SCANS
from tests.conftest import run

TOKEN = "hostile-photos"
REFUSAL_BOUND_S = 10.0  # a refusal from the headers takes milliseconds; a decode would take far longer


@pytest.fixture(scope="module")
def guarded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    process = start_server(tmp_path_factory.mktemp("hostile-photos"), workers=2, token=TOKEN)
    try:
        yield process
    finally:
        assert process.stop() == 0, f"the server did not stop cleanly; see {process.log_path}"


def tall_png(width: int = 64, height: int = 16_000) -> bytes:
    """A few hundred kilobytes that decode to a thin sliver of a world the generator cannot bear."""
    image = Image.linear_gradient("L").resize((width, height)).convert("RGB")
    out = io.BytesIO()
    image.save(out, format="PNG")
    return out.getvalue()


def scan_bomb(side: int = 2048, extra_scans: int = 3 * MAX_JPEG_SCANS) -> bytes:
    """A small progressive JPEG whose last scan is repeated: every copy is a pass over the image."""
    out = io.BytesIO()
    Image.new("RGB", (side, side), (120, 130, 140)).save(out, format="JPEG", progressive=True)
    data = out.getvalue()
    last_scan = data[data.rfind(b"\xff\xda") : -2]
    return data[:-2] + last_scan * extra_scans + b"\xff\xd9"


async def refusals(server: ServerProcess, photo: bytes) -> tuple[grpc.StatusCode, str, int, str, int, float]:
    """Create a world from ``photo`` over both transports: (gRPC code, its message, HTTP status,
    its message, worlds stored afterwards, the slower refusal's seconds)."""
    async with WorldBridgeClient(server.target, token=TOKEN) as client:
        started = time.perf_counter()
        try:
            await client.create_world(photo, name="hostile")
            code, detail = grpc.StatusCode.OK, ""
        except grpc.aio.AioRpcError as exc:
            code, detail = exc.code(), exc.details() or ""
        grpc_s = time.perf_counter() - started
        async with aiohttp.ClientSession(headers={"authorization": f"Bearer {TOKEN}"}) as http:
            started = time.perf_counter()
            async with http.post(f"{server.http_url}/v1/worlds", data=photo) as answer:
                status, body = answer.status, await answer.json()
            http_s = time.perf_counter() - started
        stored = len((await client.list_worlds()).worlds)
    return code, detail, status, body["error"]["message"], stored, max(grpc_s, http_s)


def test_a_photo_of_absurd_shape_is_refused_before_a_pixel_is_decoded(guarded: ServerProcess) -> None:
    photo = tall_png()
    assert len(photo) < 1024 * 1024
    code, detail, status, message, stored, seconds = run(refusals(guarded, photo), 60)
    assert code == grpc.StatusCode.INVALID_ARGUMENT, detail
    assert "64x16000" in detail and "height/width may be at most 16/9" in detail
    assert status == 400 and message == detail
    assert stored == 0
    assert seconds < REFUSAL_BOUND_S
    assert guarded.process.poll() is None


def test_a_jpeg_scan_bomb_is_refused_by_counting_its_scans(guarded: ServerProcess) -> None:
    photo = scan_bomb()
    assert len(photo) < 64 * 1024
    code, detail, status, message, stored, seconds = run(refusals(guarded, photo), 60)
    assert code == grpc.StatusCode.INVALID_ARGUMENT, detail
    assert f"more than {MAX_JPEG_SCANS} scans" in detail
    assert status == 400 and message == detail
    assert stored == 0
    assert seconds < REFUSAL_BOUND_S


def test_photos_within_the_limits_still_make_worlds(guarded: ServerProcess, tmp_path: Path) -> None:
    """The widest shape accepted, as a progressive JPEG (about 10 scans), makes a world."""
    out = io.BytesIO()
    Image.linear_gradient("L").resize((256, 64)).convert("RGB").save(out, format="JPEG", progressive=True)

    async def create() -> bool:
        async with WorldBridgeClient(guarded.target, token=TOKEN) as client:
            world = await client.create_world(out.getvalue(), name="wide")
            return bool(world.id)

    assert run(create(), 120)


def test_an_mpo_photo_from_a_phone_camera_makes_a_world(guarded: ServerProcess) -> None:
    """MPO (a JPEG followed by more pictures, as many phones write) is read as its first picture."""
    first = Image.linear_gradient("L").resize((160, 120)).convert("RGB")
    second = first.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    out = io.BytesIO()
    first.save(out, format="MPO", save_all=True, append_images=[second])
    assert Image.open(io.BytesIO(out.getvalue())).format == "MPO"

    async def create() -> tuple[int, dict]:
        async with (
            aiohttp.ClientSession(headers={"authorization": f"Bearer {TOKEN}"}) as http,
            http.post(f"{guarded.http_url}/v1/worlds", data=out.getvalue()) as answer,
        ):
            return answer.status, await answer.json()

    status, body = run(create(), 120)
    assert status == 201, body
    assert body["world"]["spawn"]


def test_refusals_say_what_was_wrong_without_internal_addresses(guarded: ServerProcess) -> None:
    code, detail, status, message, _, _ = run(refusals(guarded, b"GIF89a, or some other thing" * 4), 60)
    assert code == grpc.StatusCode.INVALID_ARGUMENT and status == 400
    assert "first bytes are 47 49 46 38 39 61" in detail and message == detail
    assert " at 0x" not in detail
