"""Worlds being created never stop other worlds' streams, against a real server over gRPC:
with two workers, preparations take one at most, and tiles flow on the other."""

from __future__ import annotations

import asyncio
import io
from pathlib import Path

from PIL import Image

from bridge.client.client import ReceivedProgress, ReceivedTile, WorldBridgeClient
from bridge.client.server_process import start_server
from bridge.stream.pose import Pose
from tests.conftest import photo_path, run
from tests.stream_support import small_photo

HERE = Pose((0, 3, 0), (0, 0, -1), radius_m=48)


def portrait(name: str) -> bytes:
    """A portrait photo: seconds of preparation, in the generator's working memory bounds."""
    out = io.BytesIO()
    Image.open(photo_path(name)).convert("RGB").resize((400, 600)).save(out, format="PNG")
    return out.getvalue()


def test_tiles_flow_while_two_other_worlds_are_prepared(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", workers=2)
    slow = [portrait("lyra2_01"), portrait("lyra2_02")]

    async def scenario() -> tuple[int, list[bool]]:
        async with WorldBridgeClient(server.target) as client:
            world = (await client.create_world(small_photo(), name="walking")).id
            creations = [asyncio.create_task(client.create_world(p, name=f"slow-{i}")) for i, p in enumerate(slow)]
            stream = client.stream(world)
            try:
                await stream.send(HERE, sequence=1)
                tiles = 0
                async for event in stream.events():
                    if isinstance(event, ReceivedTile):
                        tiles += 1
                        await stream.ack([event.key])
                    elif isinstance(event, ReceivedProgress) and event.sequence == 1 and event.tiles_pending == 0:
                        break
                # Taken the moment the walking world's view is complete.
                unfinished = [not c.done() for c in creations]
            finally:
                stream.cancel()
            await asyncio.gather(*creations)
            return tiles, unfinished

    try:
        tiles, unfinished = run(scenario(), 240)
    finally:
        assert server.stop(60) == 0, f"the server did not stop cleanly; see {server.log_path}"
    assert tiles > 0
    # Both preparations were asked for before the view's first tile. Holding both workers, they
    # ran side by side and the view waited for them; with one worker left to tiles they run one
    # after the other and the view is complete before the second is done.
    assert any(unfinished), "the view waited for every preparation"
