"""The web viewer in a real headless Chromium (Debian's ``chromium`` through playwright-core, WebGL2
on SwiftShader), against a real ``worldbridge serve``: the spawn view is the photo, walking loads
new tiles, no console errors, mesh mode (glb tiles), the token prompt, and reconnection (resuming) after the
server comes back.

These tests fail, never skip, when Chromium, node or web/node_modules are missing (CI installs
them: ``bash scripts/install.sh --dev``).
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
import trimesh
from google.protobuf import json_format
from PIL import Image

from bridge.client.cameras import spawn_camera
from bridge.client.server_process import ServerProcess, start_server
from bridge.client.views import render_view
from bridge.formats import decode_splats
from bridge.formats.splats import SplatCloud
from bridge.render.images import psnr
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from tests.conftest import photo_path
from tests.stream_schema import problems
from tests.web_browser import ViewerDriver, missing_tools

PHOTO = "lyra2_06"
VIEW_WIDTH = 640
# Measured: 38.4 dB for lyra2_06 at 640 x 400 (the server's own renderer: 38.4 dB on the same
# tiles). The bar is the design target; the match with the server's renderer is checked apart.
SPAWN_PSNR_DB = 30.0
MATCH_SERVER_PSNR_DB = 45.0  # browser render against the server's renderer, same tiles and camera
WALK_M = 200.0
# Mesh mode (glb tiles: heightfield + baked texture), bottom quarter of the spawn view against the
# photo: measured 19.6 dB on lyra2_06; the sky alone there gives 4.5 dB, flat mid-grey 11.3 dB.
MESH_GROUND_PSNR_DB = 15.0
NEW_TILES = 10  # tiles not held at the spawn, loaded after the walk
TOKEN = "viewer-test-token"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Server:
    """One ``worldbridge serve`` on a fixed HTTP port, restartable on that port with the same data."""

    def __init__(self, data_dir: Path, photo: Path) -> None:
        self.data_dir = data_dir
        self.photo = photo
        self.http_port = _free_port()
        self.process: ServerProcess | None = None
        self.token: str | None = None

    def start(self, token: str | None = None) -> None:
        self.stop()
        args = ["--photo", str(self.photo), "--http-port", str(self.http_port)]
        self.process = start_server(self.data_dir, workers=2, extra_args=args, token=token)
        self.token = token
        assert self.process.http_port == self.http_port

    def stop(self) -> None:
        if self.process is not None:
            assert self.process.stop() == 0, f"the server did not stop cleanly; see {self.process.log_path}"
            self.process = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def get(self, path: str) -> bytes:
        request = urllib.request.Request(self.url + path)
        if self.token:
            request.add_header("authorization", f"Bearer {self.token}")
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.read()


def served(tmp_path_factory: pytest.TempPathFactory, source: Path) -> Iterator[Server]:
    """A module's server fixture: ``worldbridge serve --photo SOURCE`` (a photo or a splat
    scene) for the browser, stopped when the module is done; fails if the browser tools are missing."""
    problem = missing_tools()
    if problem:
        pytest.fail(f"the browser tests cannot run: {problem}")
    running = Server(tmp_path_factory.mktemp("viewer-data"), source)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    yield from served(tmp_path_factory, photo_path(PHOTO))


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ViewerDriver]:
    with ViewerDriver(tmp_path_factory.mktemp("viewer-driver") / "driver.log") as driver:
        yield driver


def _open(browser: ViewerDriver, server: Server, query: str = "") -> int:
    """Open the page in a viewport of the photo's aspect, VIEW_WIDTH wide; returns its height."""
    width, height = Image.open(server.photo).size
    view_height = round(height * VIEW_WIDTH / width)
    browser.call("open", url=f"{server.url}/{query}", width=VIEW_WIDTH, height=view_height)
    return view_height


def _image(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("RGB"))


def _errors(browser: ViewerDriver) -> list[dict]:
    return [m for m in browser.call("console")["messages"] if m["type"] in ("error", "pageerror")]


def _settled_spawn(server: Server, browser: ViewerDriver, tmp_path: Path) -> tuple[int, np.ndarray]:
    """The page open at the spawn (the server started without a token), every tile in: the view's
    height and its picture (also saved as before.png)."""
    if server.process is None or server.token:
        server.start()
    height = _open(browser, server)
    browser.call("waitIdle", timeoutMs=150_000)
    browser.call("capture", path=str(tmp_path / "before.png"))
    return height, _image(tmp_path / "before.png")


def _server_render(server: Server, world_id: str, keys: list[dict], height: int) -> np.ndarray:
    """The server's own renderer over the tiles the page holds, from the same spawn camera."""
    world = json_format.ParseDict(json.loads(server.get(f"/v1/worlds/{world_id}")), pb.World())
    clouds = [
        decode_splats(server.get(f"/v1/worlds/{world_id}/tiles/{k['lod']}/{k['ix']}/{k['iz']}.stream"), "stream")
        for k in sorted(keys, key=lambda k: (k["lod"], k["ix"], k["iz"]))  # HeldTiles' order
    ]
    sky = np.asarray(Image.open(io.BytesIO(server.get(f"/v1/worlds/{world_id}/assets/sky"))).convert("RGB"))
    camera = spawn_camera(world, VIEW_WIDTH)
    assert camera.intrinsics.height == height
    return render_view(SplatCloud.concat(clouds), camera, sky)


def test_spawn_is_the_photo_and_walking_loads_new_tiles(server: Server, browser: ViewerDriver, tmp_path: Path) -> None:
    if server.process is None or server.token:
        server.start()
    height = _open(browser, server)
    spawn = browser.call("waitIdle", timeoutMs=150_000)["status"]
    assert spawn["tilesLoaded"] > 0 and spawn["splatsResident"] > 0, spawn
    assert spawn["splatsDrawn"] > 0 and spawn["floatTarget"] in ("float32", "float16"), spawn
    browser.call("capture", path=str(tmp_path / "spawn.png"))
    rendered = _image(tmp_path / "spawn.png")
    assert rendered.shape == (height, VIEW_WIDTH, 3)

    reference = np.asarray(Image.open(server.photo).convert("RGB").resize((VIEW_WIDTH, height), Image.Resampling.BOX))
    spawn_db = psnr(rendered, reference)
    assert spawn_db > SPAWN_PSNR_DB, f"browser spawn view vs photo: {spawn_db:.2f} dB"
    server_view = _server_render(server, spawn["worldId"], spawn["tileKeys"], height)
    match_db = psnr(rendered, server_view)
    assert match_db > MATCH_SERVER_PSNR_DB, f"browser vs server renderer: {match_db:.2f} dB"

    # Walk forward 200 m with real key presses, at a brisk speed set on the slider.
    browser.call("setSpeed", slider=70)
    walked = browser.call("walk", metres=WALK_M, timeoutMs=60_000)
    assert np.hypot(walked["end"][0] - walked["start"][0], walked["end"][2] - walked["start"][2]) >= WALK_M
    # New tiles arrive for where we now stand (waiting for them all would time the server's generator).
    before_keys = sorted({(k["lod"], k["ix"], k["iz"]) for k in spawn["tileKeys"]})
    new_tiles = (
        f"(() => {{ const old = new Set({json.dumps([f'{lod}/{ix}/{iz}' for lod, ix, iz in before_keys])});"
        " return window.worldbridge.tileKeys.filter((k) => !old.has(`${k.lod}/${k.ix}/${k.iz}`)).length"
        f" >= {NEW_TILES}; }})()"
    )
    after = browser.call("waitFor", expr=new_tiles, timeoutMs=150_000)["status"]
    assert after["tilesReceived"] > spawn["tilesReceived"]
    browser.call("capture", path=str(tmp_path / "walk.png"))
    moved_db = psnr(_image(tmp_path / "walk.png"), rendered)
    assert moved_db < 20.0, f"the view barely changed after walking 200 m ({moved_db:.1f} dB from the spawn view)"

    assert _errors(browser) == []
    _assert_messages_follow_the_schema(browser)


def _assert_messages_follow_the_schema(browser: ViewerDriver) -> list[dict]:
    """Every WebSocket text message the page sent and received validates in its direction."""
    frames = browser.call("wsText")["frames"]
    assert any(f["sent"] for f in frames) and any(not f["sent"] for f in frames)
    for frame in frames:
        assert problems(json.loads(frame["text"]), frame["sent"]) == [], frame
    return frames


def test_reconnects_when_the_server_comes_back(server: Server, browser: ViewerDriver) -> None:
    if server.process is None or server.token:
        server.start()
    _open(browser, server)
    first = browser.call("waitIdle", timeoutMs=90_000)["status"]
    assert first["tilesLoaded"] > 0
    server.stop()
    gone = browser.call("waitFor", expr="window.worldbridge.connection === 'offline'", timeoutMs=30_000)["status"]
    assert "reconnecting" in gone["banner"], gone["banner"]
    server.start()
    # Back: the banner goes, and the viewer resumes: it lists the tiles it holds, the restarted
    # server finds them unchanged in its store, and sends none of them again.
    recovered = "window.worldbridge.reconnects >= 1 && window.worldbridge.tilesLoaded > 0 && !window.worldbridge.banner"
    back = browser.call("waitFor", expr=recovered, timeoutMs=90_000)["status"]
    assert back["connection"] == "streaming"
    settled = browser.call("waitIdle", timeoutMs=90_000)["status"]
    assert (settled["tilesReceived"], settled["tilesLoaded"]) == (first["tilesReceived"], first["tilesLoaded"])
    resumed = [json.loads(f["text"]) for f in _assert_messages_follow_the_schema(browser) if f["sent"]]
    assert any(m.get("resume_session_id") and m.get("held") for m in resumed)  # the reconnect said what it held


def test_token_prompt_and_token(server: Server, browser: ViewerDriver) -> None:
    server.start(token=TOKEN)  # the other tests restart it without one when they need to
    prompt_shown = "document.querySelector('#token-form') && !document.querySelector('#token-form').hidden"
    streaming = "window.worldbridge.tilesLoaded > 0 && !window.worldbridge.banner"
    # No token: the page says the server wants one, and shows the field for it.
    _open(browser, server)
    prompt = browser.call("waitFor", expr=prompt_shown)["status"]
    assert "token" in prompt["banner"] and prompt["tilesLoaded"] == 0, prompt
    # Typing it in connects.
    browser.call("fill", selector="#token", value=TOKEN)
    browser.call("press", selector="#token", key="Enter")
    assert browser.call("waitFor", expr=streaming, timeoutMs=60_000)["status"]["connection"] == "streaming"
    # ?token= works from the start; a wrong one brings the prompt back.
    _open(browser, server, f"?token={TOKEN}")
    assert browser.call("waitFor", expr=streaming, timeoutMs=60_000)["status"]["connection"] == "streaming"
    _open(browser, server, "?token=wrong")
    wrong = browser.call("waitFor", expr=prompt_shown)["status"]
    assert "token" in wrong["banner"] and wrong["tilesLoaded"] == 0


def test_mesh_mode_draws_the_glb_tiles(server: Server, browser: ViewerDriver, tmp_path: Path) -> None:
    if server.process is None or server.token:
        server.start()
    height = _open(browser, server, "?format=glb")
    meshes = browser.call("waitIdle", timeoutMs=150_000)["status"]
    assert meshes["tilesLoaded"] > 0 and meshes["splatsResident"] == 0, meshes
    browser.call("capture", path=str(tmp_path / "mesh.png"))
    rendered = _image(tmp_path / "mesh.png").astype(np.float32) / 255
    reference = np.asarray(Image.open(server.photo).convert("RGB").resize((VIEW_WIDTH, height), Image.Resampling.BOX))
    ground = slice(height * 3 // 4, height)  # the bottom quarter: ground at the photo's feet, a mesh there
    ground_db = psnr(rendered[ground], reference[ground].astype(np.float32) / 255)
    assert ground_db > MESH_GROUND_PSNR_DB, f"mesh mode's ground vs the photo's: {ground_db:.2f} dB"
    assert _errors(browser) == []


def test_steering_from_the_page_changes_the_view_and_undo_brings_it_back(
    server: Server, browser: ViewerDriver, tmp_path: Path
) -> None:
    """Paint tool: click the ground in front; the server regenerates what the directive touches and
    the page redraws it; Undo reverts it and the same view comes back."""
    height, before = _settled_spawn(server, browser, tmp_path)
    received = browser.call("status")["status"]["tilesReceived"]
    browser.call("select", selector="#tool", value="paint")
    browser.call("select", selector="#ground", value="snow")
    browser.call("fill", selector="#radius", value="6")
    browser.call("click", selector="#arm")
    browser.call("clickAt", x=VIEW_WIDTH // 2, y=round(height * 0.85))  # the ground a few metres ahead
    applied = "document.querySelector('#steer-status').textContent.startsWith('Version 1')"
    browser.call("waitFor", expr=applied, timeoutMs=30_000)
    changed = f"window.worldbridge.tilesReceived > {received} && window.worldbridge.idle"
    browser.call("waitFor", expr=changed, timeoutMs=120_000)
    browser.call("capture", path=str(tmp_path / "painted.png"))
    painted = _image(tmp_path / "painted.png")
    assert psnr(painted, before) < 30.0, "the painted ground does not show"
    # Snow is bright: the bottom of the view got brighter.
    bottom = slice(height * 3 // 4, height)
    assert painted[bottom].mean() > before[bottom].mean() + 5

    browser.call("click", selector="#undo")
    undone = "document.querySelector('#steer-status').textContent.startsWith('Version 2')"
    browser.call("waitFor", expr=undone, timeoutMs=30_000)
    browser.call(
        "waitFor",
        expr=f"window.worldbridge.tilesReceived > {received + 1} && window.worldbridge.idle",
        timeoutMs=120_000,
    )
    browser.call("capture", path=str(tmp_path / "undone.png"))
    assert psnr(_image(tmp_path / "undone.png"), before) > 40.0, "undo did not bring the first view back"
    assert _errors(browser) == []
    _assert_messages_follow_the_schema(browser)


def _magenta_box_glb(edge_m: float) -> bytes:
    """A cube of `edge_m` metres, every face magenta (a colour no sample photo has)."""
    box = trimesh.creation.box((edge_m, edge_m, edge_m))
    box.visual.face_colors = [255, 0, 255, 255]
    return trimesh.Scene(box).export(file_type="glb")


def _magenta_pixels(image: np.ndarray) -> int:
    r, g, b = (image[..., i].astype(int) for i in range(3))
    return int(np.count_nonzero((r > 170) & (b > 170) & (g < 90)))


@pytest.mark.timeout(600)  # three waits for the page to settle (spawn, placed, undone)
def test_a_glb_picked_in_the_place_tool_is_uploaded_and_placed_where_clicked(
    server: Server, browser: ViewerDriver, tmp_path: Path
) -> None:
    """Place tool with a model: pick a GLB (a magenta cube) in the file picker; the page uploads
    it, widens the radius to the model's footprint, and the click places it: the cube shows in
    the view, the server's log names the file's sha256; Undo takes it away again."""
    height, before = _settled_spawn(server, browser, tmp_path)
    glb = tmp_path / "cube.glb"
    glb.write_bytes(_magenta_box_glb(2.0))
    browser.call("select", selector="#tool", value="place")
    browser.call("fill", selector="#radius", value="1")
    browser.call("setFiles", selector="#glb", paths=[str(glb)])
    status = "document.querySelector('#steer-status').textContent"
    browser.call("waitFor", expr=f"{status}.startsWith('cube.glb: 2.0 × 2.0 × 2.0 m, 12 triangles')")
    # hypot(2, 2) / 2 + 0.25 m, rounded up: the cube's footprint fits the circle.
    browser.call("waitFor", expr="document.querySelector('#radius').value === '2'", timeoutMs=1000)
    received = browser.call("status")["status"]["tilesReceived"]
    browser.call("click", selector="#arm")
    browser.call("clickAt", x=VIEW_WIDTH // 2, y=round(height * 0.85))
    browser.call("waitFor", expr=f"{status}.startsWith('Version')", timeoutMs=60_000)
    arrived = "window.worldbridge.tilesReceived > {} && window.worldbridge.idle"
    browser.call("waitFor", expr=arrived.format(received), timeoutMs=120_000)
    browser.call("capture", path=str(tmp_path / "placed.png"))
    placed = _image(tmp_path / "placed.png")
    assert _magenta_pixels(before) == 0
    assert _magenta_pixels(placed) > 0.005 * placed.shape[0] * placed.shape[1], "the cube does not show"
    world_id = json.loads(server.get("/v1/worlds"))["worlds"][0]["id"]
    newest = json.loads(server.get(f"/v1/worlds/{world_id}/directives"))["entries"][-1]
    directive = newest["directive"]
    assert directive["kind"] == "place" and directive["glb"] == hashlib.sha256(glb.read_bytes()).hexdigest()
    assert directive["region"]["circle"]["radius"] == 2

    received = browser.call("status")["status"]["tilesReceived"]
    browser.call("click", selector="#undo")
    browser.call("waitFor", expr=f"{status}.startsWith('Version {newest['version'] + 1}')", timeoutMs=30_000)
    browser.call("waitFor", expr=arrived.format(received), timeoutMs=120_000)
    browser.call("capture", path=str(tmp_path / "undone.png"))
    assert psnr(_image(tmp_path / "undone.png"), before) > 40.0, "undo did not take the cube away"
    assert _errors(browser) == []
