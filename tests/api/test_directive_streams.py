"""Directives through the real faces: two viewers (gRPC and WebSocket) hold a world; a third
client applies a place directive; both receive exactly the tiles it changed, every other tile
keeps its bytes, and a revert brings back the earlier bytes exactly. Bad directives get a clear
refusal over gRPC and HTTP and change nothing."""

from __future__ import annotations

import json
import math
from pathlib import Path

import aiohttp
import grpc
import pytest

from bridge.client.client import (
    ReceivedChanged,
    ReceivedError,
    ReceivedProgress,
    ReceivedTile,
    ReceivedUnload,
    WorldBridgeClient,
)
from bridge.client.ws_client import connect_stream
from bridge.stream.interest import StreamOptions
from bridge.stream.pose import Pose
from bridge.world.directives import parse_directive
from bridge.world.keys import TileKey
from tests.conftest import run
from tests.stream_support import small_photo
from tests.transport_support import Stream, both_faces

RADIUS_M = 96.0


async def read_until_settled(
    stream: Stream, sequence: int, need_change: bool
) -> tuple[dict[TileKey, str], set[TileKey], list[str]]:
    """Read, acking every tile, until everything wanted is here (after a TileChanged, if
    ``need_change``): (tiles by key, keys said to have changed, errors)."""
    tiles: dict[TileKey, str] = {}
    changed: set[TileKey] = set()
    errors: list[str] = []
    async for event in stream.events():
        if isinstance(event, ReceivedTile):
            tiles[event.key] = event.sha256
            await stream.ack([event.key])
        elif isinstance(event, ReceivedChanged):
            changed.add(event.key)
        elif isinstance(event, ReceivedUnload):
            tiles.pop(event.key, None)
        elif isinstance(event, ReceivedError):
            errors.append(event.message)
        elif isinstance(event, ReceivedProgress) and event.sequence >= sequence and event.tiles_pending == 0:  # noqa: SIM102
            # A change is said before its tiles, and they are pending until they come.
            if changed or not need_change:
                break
    return tiles, changed, errors


def test_a_place_directive_reaches_both_viewers_and_a_revert_restores_the_bytes(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with both_faces(tmp_path, StreamOptions()) as faces, aiohttp.ClientSession() as http:
            world, _ = await faces.worlds.create_world(small_photo(), name="directives")
            spawn = world.spec.spawn
            x, y, z = (float(v) for v in spawn.position)
            forward = spawn.forward
            heading = math.atan2(float(forward[0]), -float(forward[2]))
            centre = [x + 40 * math.sin(heading), z - 40 * math.cos(heading)]
            pose = Pose((x, y, z), (float(forward[0]), 0.0, float(forward[2])), radius_m=RADIUS_M)
            async with WorldBridgeClient(faces.grpc_target) as client:
                over_grpc = client.stream(world.id)
                over_ws = await connect_stream(http, faces.http_url, world.id, max_chunk_bytes=1 << 20)
                try:
                    held = []
                    for stream in (over_grpc, over_ws):
                        await stream.send(pose, sequence=1)
                        tiles, _, errors = await read_until_settled(stream, 1, need_change=False)
                        assert not errors and len(tiles) > 10
                        held.append(tiles)
                    assert held[0] == held[1]
                    before = held[0]

                    # A third client applies the directive, over gRPC.
                    directive = {
                        "kind": "place",
                        "region": {"circle": {"center": centre, "radius": 14}},
                        "structure": "a gothic church with a red roof",
                    }
                    result = await client.apply_directive(world.id, json.dumps(directive))
                    assert result.version == 1 and result.directive_id == 1 and result.touched_tiles > 0
                    touches = parse_directive(directive)
                    expected = {k for k in before if touches.touches(k, world.spec.base_tile_m)}
                    assert expected
                    after = []
                    for stream in (over_grpc, over_ws):
                        tiles, changed, errors = await read_until_settled(stream, 1, need_change=True)
                        assert not errors
                        assert changed == expected, "told of exactly the tiles the directive touched"
                        assert set(tiles) == expected, "sent again exactly those"
                        after.append(tiles)
                    assert after[0] == after[1]
                    centre_tile = next(k for k in expected if k.lod == 0 and k.distance_m(*centre, 8.0) == 0)
                    assert after[0][centre_tile] != before[centre_tile]
                    # Untouched tiles keep their bytes: asked again, the server gives the same ones.
                    untouched = [k for k in before if k not in expected][:6]
                    for key in untouched:
                        assert (await client.get_tile(world.id, key, "spz")).sha256 == before[key]

                    # Undo: a new version; the same tiles change back to exactly their first bytes.
                    async with http.post(f"{faces.http_url}/v1/worlds/{world.id}/directives/1/revert") as response:
                        assert response.status == 200
                        assert (await response.json())["version"] == 2
                    for stream in (over_grpc, over_ws):
                        tiles, changed, errors = await read_until_settled(stream, 1, need_change=True)
                        assert not errors and changed == expected
                        assert tiles == {k: before[k] for k in expected}
                    listing = await client.list_directives(world.id)
                    assert [(e.version, e.op, e.directive_id, e.in_effect) for e in listing.entries] == [
                        (1, "apply", 1, False),
                        (2, "revert", 1, False),
                    ]
                finally:
                    over_grpc.cancel()
                    await over_ws.close()

    run(scenario(), 240)


BAD = [
    ({"kind": "explode", "region": {"circle": {"center": [0, 0], "radius": 5}}}, "unknown directive kind"),
    ({"kind": "paint", "region": {"circle": {"center": [0, 0], "radius": 1e9}}, "ground": "sand"}, "radius"),
    ({"kind": "paint", "region": {"polygon": [[0, 0], [1, 0]]}, "ground": "sand"}, "polygon has 3"),
    ({"kind": "paint", "region": {"circle": {"center": [0, 0], "radius": 5}}, "ground": "custard"}, "custard"),
    ({"kind": "terrain", "region": {"circle": {"center": [0, 0], "radius": 5}}, "op": "raise"}, "needs 'amount'"),
    (
        {"kind": "place", "region": {"circle": {"center": [0, 0], "radius": 5}}, "structure": "a purple spaceship"},
        "'purple', 'spaceship'",
    ),
    ('{"kind": "paint", "region": {"circle": {"center": [NaN, 0], "radius": 5}}, "ground": "sand"}', "finite"),
    ("not json", "not JSON"),
]


def test_bad_directives_are_refused_with_the_reason_and_change_nothing(tmp_path: Path) -> None:
    async def scenario() -> None:
        async with both_faces(tmp_path, StreamOptions()) as faces, aiohttp.ClientSession() as http:
            world, _ = await faces.worlds.create_world(small_photo(), name="bad-directives")
            url = f"{faces.http_url}/v1/worlds/{world.id}/directives"
            async with WorldBridgeClient(faces.grpc_target) as client:
                for directive, reason in BAD:
                    text = directive if isinstance(directive, str) else json.dumps(directive)
                    with pytest.raises(grpc.aio.AioRpcError) as refused:
                        await client.apply_directive(world.id, text)
                    assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                    assert reason in (refused.value.details() or "")
                    async with http.post(url, data=text) as response:
                        assert response.status == 400
                        assert reason in (await response.json())["error"]["message"]
                with pytest.raises(grpc.aio.AioRpcError) as refused:
                    await client.revert_directive(world.id, 7)
                assert refused.value.code() == grpc.StatusCode.INVALID_ARGUMENT
                assert "directive 7 does not exist" in (refused.value.details() or "")
                with pytest.raises(grpc.aio.AioRpcError) as missing:
                    await client.list_directives("no-such-world")
                assert missing.value.code() == grpc.StatusCode.NOT_FOUND
                assert (await client.list_directives(world.id)).version == 0  # nothing changed
            async with http.get(url) as response:
                assert response.status == 200 and (await response.json()) == {"version": 0, "entries": []}

    run(scenario(), 120)


def test_the_websocket_says_a_tile_changed_as_its_schema_describes() -> None:
    from bridge.stream.messages import TileChanged
    from bridge.wire.websocket import event_json
    from tests.stream_schema import problems

    message = json.loads(event_json(TileChanged(TileKey(2, -1, 3), 7)))
    assert message == {"changed": {"key": {"lod": 2, "ix": -1, "iz": 3}, "directive_version": 7}}
    assert problems(message, sent_by_viewer=False) == []
