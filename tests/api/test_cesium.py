"""The live 3D Tiles endpoint against a real ``worldbridge serve`` and real CesiumJS (npm
``@cesium/engine``, which reads KHR_gaussian_splatting_compression_spz_2) in headless Chromium:

- the HTTP side: tileset JSON, subtree and content bytes, ETag / 304, determinism, 400 / 404 with
  reasons, the token guard;
- CesiumJS (no imagery, terrain, globe or Ion; tests/cesium_browser.py) loads the splat tileset at
  the spawn camera and draws it; the mesh tileset (``?content=mesh``) loads and draws, then moving
  the camera 500 m makes it fetch tiles it had not fetched (the implicit tiling is the same for
  both contents, and meshes are the cheaper to draw in software: the splat test took 253 s with the
  move, 190 s without); neither logs a console error.
  They run at a coarse screen-space error, drawn at the CSS size; the spawn view against the photo
  (>= 20 dB at ``maximumScreenSpaceError`` 4, drawn at twice the size) is bench/cesium_spawn.py
  (bench/README.md). Even so a tile under the camera is refined down to LOD 0 (its distance is
  zero), so each view is ~150 tiles and a million splats. After the move the test waits for the
  tiles to be selected and loaded, not drawn (a draw at the new place is bench/cesium_spawn.py's
  job): the splat test takes 190 s on two cores and the mesh test 61 s, hence ``slow``.

The browser tests fail, never skip, when Chromium, node or tests/js/node_modules are missing.
"""

from __future__ import annotations

import hashlib
import io
import json
import struct
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from google.protobuf import json_format
from PIL import Image

from bridge.client.server_process import ServerProcess, start_server
from bridge.core.tiles3d_live import enu_transform
from bridge.formats._gltf import read_glb
from bridge.formats.gltf_spz import COMPRESSION
from bridge.formats.spz import decode_spz
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from tests.cesium_browser import StaticSite, View, cesium_site, missing_cesium_tools, run_view, spawn_job, spawn_psnr
from tests.conftest import photo_path

PHOTO = "lyra2_06"
TOKEN = "cesium-test-token"
GEO = (46.5, 6.6, 372.0)  # somewhere real (Lausanne), so the ENU frame is not the trivial one
WIDTH = 320  # CSS pixels: SwiftShader draws every splat on the CPU
SSE = 64.0  # coarse, so a fresh world's spawn view is a few dozen tiles (bench/cesium_spawn.py runs 4)
SCALE = 1.0  # drawn at the CSS size: cheapest, though Cesium then drops the sub-pixel photo splats
MOVE_M = 500.0
MIN_COVERAGE = 0.5  # the spawn view looks along a street: tiles cover most of it
MIN_NEW_TILES = 4  # content first fetched after the move
MIN_GAIN_DB = 3.0  # the frame over the sky beats the sky alone against the photo by this much


class Server:
    def __init__(self, process: ServerProcess) -> None:
        self.process = process
        self.url = f"http://127.0.0.1:{process.http_port}"

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
        request = urllib.request.Request(
            self.url + path, headers={"authorization": f"Bearer {TOKEN}", **(headers or {})}
        )
        try:
            with urllib.request.urlopen(request, timeout=300) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    args = ["--photo", str(photo_path(PHOTO)), "--geo", ",".join(map(str, GEO))]
    process = start_server(tmp_path_factory.mktemp("cesium-data"), workers=2, extra_args=args, token=TOKEN)
    try:
        yield Server(process)
    finally:
        assert process.stop() == 0, f"the server did not stop cleanly; see {process.log_path}"


@pytest.fixture(scope="module")
def world(server: Server) -> pb.World:
    status, _, body = server.get("/v1/worlds")
    assert status == 200
    world = json.loads(body)["worlds"][0]
    return json_format.ParseDict(world, pb.World(), ignore_unknown_fields=True)


def test_tileset_subtree_and_content_over_http(server: Server, world: pb.World) -> None:
    status, headers, body = server.get(f"/v1/worlds/{world.id}/tileset.json")
    assert status == 200 and headers["Cache-Control"] == "no-cache"
    tileset = json.loads(body)
    assert tileset["asset"]["version"] == "1.1"
    root = tileset["root"]
    assert root["transform"] == pytest.approx(enu_transform(*GEO))
    assert len(root["children"]) == 4
    child = root["children"][0]
    tiling = child["implicitTiling"]
    assert tiling["subdivisionScheme"] == "QUADTREE" and tiling["availableLevels"] >= 8
    assert child["geometricError"] == pytest.approx(root["geometricError"] / 2)
    # Same request, same bytes; a matching ETag gets a 304.
    again = server.get(f"/v1/worlds/{world.id}/tileset.json")
    assert again[2] == body
    assert server.get(f"/v1/worlds/{world.id}/tileset.json", {"If-None-Match": headers["ETag"]})[0] == 304

    base = f"/v1/worlds/{world.id}/" + child["implicitTiling"]["subtrees"]["uri"].split("{level}")[0]
    status, _, subtree = server.get(base + "0/0/0.subtree")
    assert status == 200 and subtree[:4] == b"subt"
    version, json_length, binary_length = struct.unpack_from("<IQQ", subtree, 4)
    assert version == 1 and binary_length == 0 and json_length % 8 == 0
    assert json.loads(subtree[24 : 24 + json_length])["tileAvailability"] == {"constant": 1}

    # The deepest level (LOD 0) tile just north-east of the spawn corner, as glTF + SPZ.
    level = tiling["availableLevels"] - 1
    content = f"/v1/worlds/{world.id}/" + child["content"]["uri"].split("{level}")[0]
    status, headers, glb = server.get(f"{content}{level}/0/0.glb")
    assert status == 200 and headers["ETag"] == f'"{hashlib.sha256(glb).hexdigest()}"'
    gltf = read_glb(glb).gltf
    assert COMPRESSION in gltf["extensionsRequired"]
    primitive = gltf["meshes"][0]["primitives"][0]
    view = primitive["extensions"]["KHR_gaussian_splatting"]["extensions"][COMPRESSION]["bufferView"]
    span = gltf["bufferViews"][view]
    spz = read_glb(glb).binary[span.get("byteOffset", 0) : span.get("byteOffset", 0) + span["byteLength"]]
    assert spz[:2] == b"\x1f\x8b"  # SPZ version 2 is one gzip stream
    assert len(decode_spz(spz)) == gltf["accessors"][primitive["attributes"]["POSITION"]]["count"] > 0
    assert server.get(f"{content}{level}/0/0.glb")[2] == glb

    mesh = json.loads(server.get(f"/v1/worlds/{world.id}/tileset.json?content=mesh")[2])
    mesh_uri = mesh["root"]["children"][0]["content"]["uri"]
    assert "/mesh/" in mesh_uri
    status, _, mesh_glb = server.get(f"/v1/worlds/{world.id}/" + mesh_uri.split("{level}")[0] + f"{level}/0/0.glb")
    assert status == 200 and mesh_glb[:4] == b"glTF"


@pytest.mark.parametrize(
    ("path", "status", "reason"),
    [
        ("/v1/worlds/nope/tileset.json", 404, "no world"),
        ("/v1/worlds/{id}/tileset.json?content=voxels", 400, "content 'voxels'"),
        ("/v1/worlds/{id}/3dtiles/splats/0_0_0/0/0/0.glb", 404, "not one of this tileset's roots"),
        ("/v1/worlds/{id}/3dtiles/splats/{root}/1/2/0.glb", 404, "outside level 1"),
        ("/v1/worlds/{id}/3dtiles/splats/{root}/99/0/0.glb", 404, "implicit level 99"),
        ("/v1/worlds/{id}/3dtiles/voxels/{root}/0/0/0.glb", 404, "no 3D Tiles content 'voxels'"),
        ("/v1/worlds/{id}/3dtiles/subtrees/{root}/1/0/0.subtree", 404, "no subtree starts at level 1"),
    ],
)
def test_bad_tileset_paths_say_why(server: Server, world: pb.World, path: str, status: int, reason: str) -> None:
    tileset = json.loads(server.get(f"/v1/worlds/{world.id}/tileset.json")[2])
    root = tileset["root"]["children"][0]["content"]["uri"].split("/")[2]
    got, _, body = server.get(path.format(id=world.id, root=root))
    assert got == status, body
    assert reason in json.loads(body)["error"]["message"]


def test_tileset_needs_the_token(server: Server, world: pb.World) -> None:
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{server.url}/v1/worlds/{world.id}/tileset.json", timeout=30)
    assert refused.value.code == 401


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StaticSite]:
    problem = missing_cesium_tools()
    assert problem is None, problem
    served = StaticSite(cesium_site(tmp_path_factory.mktemp("cesium-site")))
    yield served
    served.close()


def _view(server: Server, site: StaticSite, world: pb.World, kind: str, shot: Path, move_m: float) -> View:
    tileset = f"{server.url}/v1/worlds/{world.id}/tileset.json?content={kind}"
    return View(site.url, tileset, TOKEN, WIDTH, SSE, shot, move_m, timeout_ms=400_000, scale=SCALE)


def _clean(result: dict) -> None:
    assert result["failure"] is None, f"{result['failure']}; console: {result['errors'][:5]}"
    assert result["errors"] == [], f"Cesium's console: {result['errors'][:5]}"
    assert result["failed"] == [] and result["httpErrors"] == [], (result["failed"], result["httpErrors"])


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_cesium_draws_the_splat_tileset_at_the_spawn(
    server: Server, world: pb.World, site: StaticSite, tmp_path: Path
) -> None:
    view = _view(server, site, world, "splats", tmp_path / "spawn.png", 0.0)
    result = run_view(spawn_job(view, world), tmp_path / "view.log")
    _clean(result)
    splats = result["spawn"]["splats"]
    assert result["spawn"]["selected"] > 0 and splats["drawn"] == splats["selected"] > 0, result["spawn"]
    # Drawn where the photo is: over the world's sky, the frame is nearer the photo than the sky.
    rgba = np.asarray(Image.open(view.shot).convert("RGBA"))
    sky = np.asarray(Image.open(io.BytesIO(server.get(f"/v1/worlds/{world.id}/assets/sky")[2])).convert("RGB"))
    photo = np.asarray(Image.open(photo_path(PHOTO)).convert("RGB"))
    score = spawn_psnr(rgba, world, sky, photo, WIDTH)
    assert score.coverage > MIN_COVERAGE, f"Cesium drew tiles over {score.coverage:.0%} of the spawn view"
    assert score.psnr_db > score.sky_only_db + MIN_GAIN_DB, (
        f"Cesium's spawn view vs the photo: {score.psnr_db:.2f} dB, the sky alone {score.sky_only_db:.2f} dB"
    )


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_cesium_draws_the_mesh_tileset_and_fetches_new_tiles_after_moving(
    server: Server, world: pb.World, site: StaticSite, tmp_path: Path
) -> None:
    view = _view(server, site, world, "mesh", tmp_path / "mesh.png", MOVE_M)
    result = run_view(spawn_job(view, world), tmp_path / "view.log")
    _clean(result)
    assert result["spawn"]["selected"] > 0 and all("/3dtiles/mesh/" in url for url in result["spawnContent"])
    rgba = np.asarray(Image.open(view.shot).convert("RGBA"))
    assert (rgba[..., 3] > 0).mean() > MIN_COVERAGE, "the mesh tiles cover little of the spawn view"
    new = result["movedContent"]
    assert len(new) >= MIN_NEW_TILES, f"after moving {MOVE_M} m Cesium fetched {len(new)} new tiles: {new}"
    assert all("/3dtiles/mesh/" in url for url in new) and result["moved"]["selected"] > 0
