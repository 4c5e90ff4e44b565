"""The web viewer on an imported splat scene: a real ``worldbridge serve --photo SCENE.ply`` and
headless Chromium, as tests/api/test_web_viewer.py does for a photo. The page streams the scene's
tiles and the continuation's around them, draws what the server's own renderer draws from the
same tiles, and shows the scene where the scene is.

Like the photo's, these tests fail, never skip, when Chromium, node or web/node_modules are missing.
"""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import json_format
from PIL import Image

from bridge.client.cameras import spawn_camera
from bridge.formats.ply import encode_ply
from bridge.render.images import psnr
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from tests.api.test_web_viewer import (
    MATCH_SERVER_PSNR_DB,
    VIEW_WIDTH,
    Server,
    _errors,
    _image,
    _server_render,
    served,
)
from tests.scene_support import photo_scene
from tests.web_browser import ViewerDriver

# The page's spawn view against the scene seen from the spawn (the import's own picture of it,
# the `scene_view` asset, 512 x 288 made larger), over the middle of the view where the scene
# stands (the continuation fills the sides, which the scene view leaves empty). Measured 18.3 dB
# on the tests' scene; the middle's mean colour alone gives 11.6 dB, a sky-blue page 8.3 dB.
SCENE_MIDDLE_PSNR_DB = 15.0


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    scene = tmp_path_factory.mktemp("scene") / "scene.ply"
    scene.write_bytes(encode_ply(photo_scene()))
    yield from served(tmp_path_factory, scene)


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ViewerDriver]:
    with ViewerDriver(tmp_path_factory.mktemp("viewer-import-driver") / "driver.log") as driver:
        yield driver


def test_an_imported_scene_streams_to_the_web_viewer(server: Server, browser: ViewerDriver, tmp_path: Path) -> None:
    listed = json.loads(server.get("/v1/worlds"))["worlds"]
    assert len(listed) == 1 and listed[0]["generator"] == "import", listed
    world = json_format.ParseDict(json.loads(server.get(f"/v1/worlds/{listed[0]['id']}")), pb.World())
    height = spawn_camera(world, VIEW_WIDTH).intrinsics.height
    browser.call("open", url=f"{server.url}/", width=VIEW_WIDTH, height=height)
    spawn = browser.call("waitIdle", timeoutMs=150_000)["status"]
    assert spawn["worldId"] == world.id
    assert spawn["tilesLoaded"] > 0 and spawn["splatsDrawn"] > 0, spawn
    browser.call("capture", path=str(tmp_path / "spawn.png"))
    rendered = _image(tmp_path / "spawn.png")
    assert rendered.shape == (height, VIEW_WIDTH, 3)

    server_view = _server_render(server, world.id, spawn["tileKeys"], height)
    match_db = psnr(rendered, server_view)
    assert match_db > MATCH_SERVER_PSNR_DB, f"browser vs server renderer: {match_db:.2f} dB"

    scene_view = Image.open(io.BytesIO(server.get(f"/v1/worlds/{world.id}/assets/scene_view"))).convert("RGB")
    reference = np.asarray(scene_view.resize((VIEW_WIDTH, height), Image.Resampling.BOX))
    middle = np.s_[height // 4 : 3 * height // 4, VIEW_WIDTH // 4 : 3 * VIEW_WIDTH // 4]
    scene_db = psnr(rendered[middle], reference[middle])
    assert scene_db > SCENE_MIDDLE_PSNR_DB, f"the scene's middle in the browser vs the scene view: {scene_db:.2f} dB"
    assert _errors(browser) == []
