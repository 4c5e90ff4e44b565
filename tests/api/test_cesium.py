"""The live 3D Tiles endpoint against a real ``worldbridge serve``: tileset JSON, subtree and
content bytes, ETag / 304, determinism, 400 / 404 with reasons, the token guard. (CesiumJS in
headless Chromium drew the spawn at 11.1 dB against the photo, short of the issue's 20 dB, and took
longer than the suite allows: that check is not in the suite yet; see the README's Cesium section.)
"""

from __future__ import annotations

import hashlib
import json
import struct
import urllib.error
import urllib.request
from collections.abc import Iterator

import pytest
from google.protobuf import json_format

from bridge.client.server_process import ServerProcess, start_server
from bridge.core.tiles3d_live import enu_transform
from bridge.formats._gltf import read_glb
from bridge.formats.gltf_spz import COMPRESSION
from bridge.formats.spz import decode_spz
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from tests.conftest import photo_path

PHOTO = "lyra2_06"
TOKEN = "cesium-test-token"
GEO = (46.5, 6.6, 372.0)  # somewhere real (Lausanne), so the ENU frame is not the trivial one


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
