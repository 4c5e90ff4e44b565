"""The HTTP/WebSocket face, in-process: REST, content-addressed tiles, the token guard, the stream's
refusals, back-pressure and graceful shutdown."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import math
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from bridge.api.http import SOCKETS, StreamState, build_app
from bridge.client.client import ReceivedError, ReceivedProgress, ReceivedTile
from bridge.client.ws_client import WsClosedError, WsTileStream, connect_stream
from bridge.core.pump import active_streams
from bridge.core.worlds import Worlds
from bridge.generate.base import GeneratorOptions
from bridge.stream.interest import StreamOptions
from bridge.stream.pose import Pose
from tests.conftest import run
from tests.stream_support import GatedPool, make_worlds, small_photo, world_dir

__all__ = ["world_dir"]


@contextlib.asynccontextmanager
async def serving(
    data_dir: Path, token: str | None = None
) -> AsyncIterator[tuple[Worlds, GatedPool, TestServer, aiohttp.ClientSession, str]]:
    worlds, pool = make_worlds(data_dir)
    server = TestServer(build_app(worlds, token=token))
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            yield worlds, pool, server, session, str(server.make_url("")).rstrip("/")
    finally:
        await server.close()
        await worlds.close()
        pool.shutdown()


async def collect_until_settled(stream: WsTileStream, sequence: int) -> tuple[dict, list[str]]:
    """Read (acking tiles) until progress for ``sequence`` shows nothing pending."""
    tiles: dict = {}
    errors: list[str] = []
    async for event in stream.events():
        if isinstance(event, ReceivedTile):
            tiles[event.key] = event.sha256
            await stream.ack([event.key])
        elif isinstance(event, ReceivedError):
            errors.append(event.message)
        elif isinstance(event, ReceivedProgress) and event.sequence >= sequence and event.tiles_pending == 0:
            break
    return tiles, errors


async def refusal(stream: WsTileStream) -> tuple[int | None, list[str]]:
    errors = []
    try:
        async for event in stream.events():
            if isinstance(event, ReceivedError):
                errors.append(event.message)
    except WsClosedError as exc:
        return exc.code, errors
    return stream.ws.close_code, errors


def test_worlds_are_listed_fetched_and_created_with_clear_errors(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        async with serving(data_dir) as (_, _, _, http, base):
            listed = await (await http.get(f"{base}/v1/worlds")).json()
            assert [w["id"] for w in listed["worlds"]] == [world_id] and listed["next_page_token"] == ""
            world = await (await http.get(f"{base}/v1/worlds/{world_id}")).json()
            assert world["base_tile_m"] == GeneratorOptions().base_tile_m and world["seed"] == "0"
            assert world["spawn"]["position"]["y"] > 0

            missing = await http.get(f"{base}/v1/worlds/no-such-world")
            assert missing.status == 404
            assert (await missing.json())["error"]["code"] == "NOT_FOUND"

            again = await http.post(f"{base}/v1/worlds", data=small_photo(), params={"name": "x"})
            assert again.status == 200 and (await again.json())["world"]["id"] == world_id
            form = aiohttp.FormData()
            form.add_field("photo", small_photo(), filename="p.png", content_type="image/png")
            assert (await (await http.post(f"{base}/v1/worlds", data=form)).json())["created"] is False

            for body, params, words in [
                (b"", {}, "no photo"),
                (b"hello, not a picture" * 10, {}, "not a readable image"),
                (small_photo()[:3000], {}, "truncated"),
                (small_photo(), {"base_tile_m": "abc"}, "not a number"),
                (small_photo(), {"base_tile_m": "nan"}, "not finite"),
                (small_photo(), {"base_tile_m": "1000"}, "outside"),
                (small_photo(), {"seed": "-1"}, ">= 0"),
                (small_photo(), {"generator": "nope"}, "no generator named"),
            ]:
                response = await http.post(f"{base}/v1/worlds", data=body, params=params)
                error = (await response.json())["error"]
                assert response.status == 400 and error["code"] == "INVALID_ARGUMENT", (params, error)
                assert words in error["message"], (words, error)
            assert (await http.get(f"{base}/v1/worlds", params={"page_size": "9999"})).status == 400
            assert (await http.get(f"{base}/v1/worlds", params={"page_token": "x"})).status == 400
            assert len((await (await http.get(f"{base}/v1/worlds")).json())["worlds"]) == 1  # nothing changed
            assert (await http.delete(f"{base}/v1/worlds")).status == 405

    run(scenario(), 120)


def test_tiles_redirect_to_immutable_content_addressed_urls_with_etags_and_ranges(
    world_dir: tuple[Path, str],
) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        async with serving(data_dir) as (_, _, _, http, base):
            tile = await http.get(f"{base}/v1/worlds/{world_id}/tiles/0/0/-1.ply", allow_redirects=False)
            assert tile.status == 302
            sha = tile.headers["X-Tile-Sha256"]
            assert tile.headers["Location"] == f"/v1/blobs/{sha}" and int(tile.headers["X-Splat-Count"]) > 1000

            blob = await http.get(f"{base}/v1/blobs/{sha}")
            data = await blob.read()
            assert blob.status == 200 and hashlib.sha256(data).hexdigest() == sha
            assert blob.headers["ETag"] == f'"{sha}"'
            assert blob.headers["Cache-Control"] == "public, max-age=31536000, immutable"
            assert blob.headers["Accept-Ranges"] == "bytes"
            followed = await http.get(f"{base}/v1/worlds/{world_id}/tiles/0/0/-1.ply")
            assert await followed.read() == data  # the redirect is followed by ordinary clients

            cached = await http.get(f"{base}/v1/blobs/{sha}", headers={"If-None-Match": f'"{sha}"'})
            assert cached.status == 304 and not await cached.read()
            size = len(data)
            for header, first, last in [
                ("bytes=10-19", 10, 19),
                ("bytes=-5", size - 5, size - 1),
                ("bytes=7-", 7, size - 1),
            ]:
                part = await http.get(f"{base}/v1/blobs/{sha}", headers={"Range": header})
                assert part.status == 206, header
                assert part.headers["Content-Range"] == f"bytes {first}-{last}/{size}"
                assert await part.read() == data[first : last + 1]
            beyond = await http.get(f"{base}/v1/blobs/{sha}", headers={"Range": f"bytes={size}-"})
            assert beyond.status == 416 and beyond.headers["Content-Range"] == f"bytes */{size}"
            stale = await http.get(f"{base}/v1/blobs/{sha}", headers={"Range": "bytes=0-9", "If-Range": '"other"'})
            assert stale.status == 200 and len(await stale.read()) == size
            head = await http.head(f"{base}/v1/blobs/{sha}")
            assert head.status == 200 and int(head.headers["Content-Length"]) == size

            for path, status in [
                (f"/v1/worlds/{world_id}/tiles/99/0/0.ply", 400),
                (f"/v1/worlds/{world_id}/tiles/0/{2**50}/0.ply", 400),
                (f"/v1/worlds/{world_id}/tiles/0/0/0.xyz", 400),
                ("/v1/worlds/no-such-world/tiles/0/0/0.ply", 404),
                (f"/v1/blobs/{'0' * 64}", 404),
                ("/v1/blobs/not-a-hash", 404),
                (f"/v1/worlds/{world_id}/assets/nope", 404),
            ]:
                response = await http.get(f"{base}{path}", allow_redirects=False)
                assert response.status == status, (path, await response.text())
                assert (await response.json())["error"]["message"]

            photo = await http.get(f"{base}/v1/worlds/{world_id}/assets/photo")
            assert photo.status == 200 and photo.content_type == "image/png"
            assert await photo.read() == small_photo()
            assert photo.headers["Cache-Control"].endswith("immutable")

    run(scenario(), 120)


def test_the_token_guards_every_call_by_header_or_first_websocket_message(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        async with serving(data_dir, token="s3cret") as (_, _, _, http, base):
            assert (await http.get(f"{base}/healthz")).status == 200  # health stays open, as over gRPC
            for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "s3cret"}):
                denied = await http.get(f"{base}/v1/worlds", headers=headers)
                assert denied.status == 401 and denied.headers["WWW-Authenticate"].startswith("Bearer")
                assert (await denied.json())["error"]["code"] == "UNAUTHENTICATED"
            ok = await http.get(f"{base}/v1/worlds", headers={"authorization": "Bearer s3cret"})
            assert ok.status == 200
            with pytest.raises(aiohttp.WSServerHandshakeError) as refused:
                await http.ws_connect(f"{base}/v1/worlds/{world_id}/stream", headers={"authorization": "Bearer no"})
            assert refused.value.status == 401

            for token, header in (("s3cret", True), ("s3cret", False)):
                stream = await connect_stream(http, base, world_id, token=token, header_token=header)
                await stream.send(Pose((0, 3, 0), (0, 0, -1), radius_m=48), sequence=1)
                tiles, _ = await collect_until_settled(stream, 1)
                assert tiles
                await stream.close()
            for first in ({"token": "wrong"}, {}):
                ws = await http.ws_connect(f"{base}/v1/worlds/{world_id}/stream")
                stream = WsTileStream(ws, world_id)
                await stream.send_raw({**first, "pose": {"position": {"y": 3}}})
                code, errors = await refusal(stream)
                assert code == 4401 and "token" in errors[0]

    run(scenario(), 120)


def test_web_pages_of_any_origin_may_call_the_api_and_preflights_need_no_token(world_dir: tuple[Path, str]) -> None:
    # A game exported for the web (the Godot example) is served from its own origin.
    data_dir, world_id = world_dir

    async def scenario() -> None:
        async with serving(data_dir, token="s3cret") as (_, _, _, http, base):
            origin = {"origin": "http://127.0.0.1:9999"}
            preflight = await http.options(
                f"{base}/v1/worlds/{world_id}",
                headers={
                    **origin,
                    "access-control-request-method": "GET",
                    "access-control-request-headers": "authorization",
                },
            )
            assert preflight.status == 204
            assert preflight.headers["Access-Control-Allow-Origin"] == "*"
            assert "authorization" in preflight.headers["Access-Control-Allow-Headers"]
            ok = await http.get(f"{base}/v1/worlds/{world_id}", headers={**origin, "authorization": "Bearer s3cret"})
            assert ok.status == 200 and ok.headers["Access-Control-Allow-Origin"] == "*"
            # The token still guards the call itself; the refusal is readable by the page.
            denied = await http.get(f"{base}/v1/worlds/{world_id}", headers=origin)
            assert denied.status == 401 and denied.headers["Access-Control-Allow-Origin"] == "*"
            page = await http.get(f"{base}/", headers=origin)  # the viewer's own page is not an API
            assert "Access-Control-Allow-Origin" not in page.headers

    run(scenario(), 60)


def test_a_stream_that_cannot_start_is_refused_with_a_reason(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        async with serving(data_dir) as (worlds, _, _, http, base):
            cases = [
                (world_id, json_of({"pose": {"position": {"x": math.nan}}}), 4400, "not finite"),
                (world_id, json_of({"pose": {"position": {"x": 1}}, "view_radius_m": 1e9}), 4400, "larger radii"),
                (world_id, "{not json", 4400, "not JSON"),
                (world_id, json_of([1, 2]), 4400, "JSON object"),
                (world_id, json_of({"pose": {"position": {"x": "far"}}}), 4400, "bad viewer update"),
                (world_id, json_of({"view_radius_m": 10}), 4400, "must carry a pose"),
                (world_id, json_of({"world_id": "other", "pose": {}}), 4400, "not other"),
                (world_id, b"\x00binary", 4400, "JSON text"),
                ("no-such-world", json_of({"pose": {}}), 4404, "no-such-world"),
            ]
            for target, first, code, words in cases:
                ws = await http.ws_connect(f"{base}/v1/worlds/{target}/stream")
                stream = WsTileStream(ws, target)
                await stream.send_raw(first)
                got, errors = await refusal(stream)
                assert got == code and errors and words in errors[0], (first, got, errors)
            assert active_streams(worlds) == 0

    run(scenario(), 120)


def json_of(value: object) -> str:
    return json.dumps(value)


def test_bad_updates_mid_stream_are_reported_and_change_nothing(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        async with serving(data_dir) as (_, _, _, http, base):
            stream = await connect_stream(http, base, world_id)
            # A budget of zero means the defaults: the stream works as if none was sent.
            await stream.send(Pose((0, 3, 0), (0, 0, -1), radius_m=48), sequence=1, formats=["spz"])
            await stream.send_raw({"budget": {"max_bytes_in_flight": 0, "max_resident_splats": 0}, "sequence": 2})
            before, _ = await collect_until_settled(stream, 2)
            await stream.send_raw("{broken")
            await stream.send_raw(b"\x01\x02")
            await stream.send_raw({"pose": {"position": {"x": "Infinity"}}, "sequence": 3})
            await stream.send_raw({"pose": {"position": {"x": 0, "y": 3}}, "view_radius_m": 5000, "sequence": 4})
            await stream.send_raw({"acks": [{"lod": 0, "ix": 77777, "iz": 0}], "sequence": 5})
            await stream.send_raw({"budget": {"formats": ["nope"]}, "sequence": 6})
            await stream.send_raw({"acks": [{"lod": 99, "ix": 0, "iz": 0}], "sequence": 7})
            await stream.send_raw({"sequence": 8})
            after, errors = await collect_until_settled(stream, 8)
            assert after == {} and len(before) > 4  # nothing new was wanted, nothing was sent again
            assert all(k.lod >= 0 for k in before)
            expected = [
                "not JSON",
                "binary frames",
                "not finite",
                "larger radii",
                "never sent",
                "unknown formats ['nope'] skipped",
                "lod",
            ]
            assert len(errors) == len(expected)
            for words, error in zip(expected, errors, strict=True):
                assert words in error, (words, error)
            await stream.close()

    run(scenario(), 120)


def test_a_viewer_that_stops_reading_is_not_buffered_without_bound(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        async with serving(data_dir) as (worlds, _, server, http, base):
            # Warm a wide area first, so the server could send ~70 MB at once if it buffered.
            warm = await connect_stream(http, base, world_id)
            await warm.send(Pose((0, 3, 0), (0, 0, -1), radius_m=256), sequence=1, formats=["ply"])
            warmed, _ = await collect_until_settled(warm, 1)
            await warm.close()
            total = sum(worlds.cached_tile_row(world_id, k, "ply").size for k in warmed)  # type: ignore[union-attr]
            assert total > 40_000_000

            def sockets() -> list[StreamState]:
                return list(server.app[SOCKETS].values())

            stalled = await connect_stream(http, base, world_id)
            await stalled.send(
                Pose((0, 3, 0), (0, 0, -1), radius_m=256), sequence=1, max_bytes_in_flight=2**40, formats=["ply"]
            )
            # Wait until the server is blocked writing to this viewer, then watch it stay blocked.
            await poll(lambda: any(s.sending and s.bytes_written > 1_000_000 for s in sockets()))
            peak = 0
            for _ in range(50):
                await poll(lambda: True)
                peak = max(peak, max(s.bytes_written for s in sockets()))
            assert peak < 24 * 1024 * 1024 < total  # socket buffers and one tile, not the ~70 MB
            # Reading again, the viewer gets everything: back-pressure, not loss.
            tiles, _ = await collect_until_settled(stalled, 1)
            assert set(tiles) == set(warmed)
            await stalled.close()

    run(scenario(), 180)


async def poll(condition: Callable[[], bool], timeout_s: float = 30.0) -> None:
    """Until ``condition`` holds (checked every 10 ms), failing after ``timeout_s``."""

    async def wait() -> None:
        while not condition():
            await asyncio.sleep(0.01)
        await asyncio.sleep(0.01)

    await asyncio.wait_for(wait(), timeout_s)


def test_graceful_shutdown_closes_open_websockets(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        worlds, pool = make_worlds(data_dir)
        server = TestServer(build_app(worlds))
        await server.start_server()
        async with aiohttp.ClientSession() as http:
            stream = await connect_stream(http, str(server.make_url("")).rstrip("/"), world_id)
            await stream.send(Pose((0, 3, 0), (0, 0, -1), radius_m=32), sequence=1)
            await collect_until_settled(stream, 1)

            async def read_to_the_end() -> None:
                async for _ in stream.events():
                    pass

            reader = asyncio.create_task(read_to_the_end())  # a viewer keeps reading
            await server.close()
            await asyncio.wait_for(reader, 10)
            assert stream.ws.close_code == aiohttp.WSCloseCode.GOING_AWAY
        assert active_streams(worlds) == 0
        await worlds.close()
        pool.shutdown()

    run(scenario(), 120)


def test_one_client_may_hold_only_so_many_streams(world_dir: tuple[Path, str]) -> None:
    data_dir, world_id = world_dir

    async def scenario() -> None:
        worlds, pool = make_worlds(data_dir)
        server = TestServer(build_app(worlds, stream_options=StreamOptions(max_streams_per_peer=2)))
        await server.start_server()
        base = str(server.make_url("")).rstrip("/")
        async with aiohttp.ClientSession() as http:
            open_ones = []
            for _ in range(2):
                stream = await connect_stream(http, base, world_id)
                await stream.send(Pose((0, 3, 0), (0, 0, -1), radius_m=32), sequence=1)
                await collect_until_settled(stream, 1)
                open_ones.append(stream)
            third = await connect_stream(http, base, world_id)
            await third.send(Pose((0, 3, 0), (0, 0, -1), radius_m=32), sequence=1)
            code, errors = await refusal(third)
            assert code == 4429 and "already has 2 streams open" in errors[0]
            await open_ones[0].close()
            await poll(lambda: active_streams(worlds) == 1)
            again = await connect_stream(http, base, world_id)  # room again
            await again.send(Pose((0, 3, 0), (0, 0, -1), radius_m=32), sequence=1)
            assert (await collect_until_settled(again, 1))[0]
            for stream in (open_ones[1], again):
                await stream.close()
        await server.close()
        await worlds.close()
        pool.shutdown()

    run(scenario(), 120)
