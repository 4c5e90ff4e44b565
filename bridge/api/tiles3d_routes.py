"""The live 3D Tiles 1.1 routes (layout and reasons: bridge/core/tiles3d_live.py).

- ``GET /v1/worlds/{id}/tileset.json[?content=splats|mesh]``: the tileset (default splats)
- ``GET /v1/worlds/{id}/3dtiles/subtrees/{root}/{level}/{x}/{y}.subtree``: binary subtree files
- ``GET /v1/worlds/{id}/3dtiles/{splats|mesh}/{root}/{level}/{x}/{y}.glb``: one tile's content,
  made on demand through the same generation queue, store and cache as every other tile:
  splats as glTF with KHR_gaussian_splatting + KHR_gaussian_splatting_compression_spz_2
  (bridge/formats/gltf_spz.py, re-wrapped from the stored ``spz`` tile), meshes as the stored
  ``glb`` tile itself.

Same token guard and CORS as every /v1/ route (the app's middleware). Every answer's bytes are a
pure function of the world (and its directives): a strong ETag (sha256 of the bytes) and
``Cache-Control: no-cache``, so a cache revalidates (304) and a directive's change shows at once.
A path that names no tile is a 404 saying why; a bad ``content`` a 400.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections import OrderedDict

import numpy as np
from aiohttp import web

from bridge.api.http import WORLDS
from bridge.core import tiles3d_live as live
from bridge.core.errors import InvalidRequestError, NotFoundError
from bridge.core.worlds import Worlds
from bridge.formats.gltf_spz import encode_gltf_spz
from bridge.formats.spz import decode_spz
from bridge.wire import convert
from bridge.world.keys import TileKey

GEO = web.AppKey("tiles3d_geo", tuple)
_LAYOUTS = web.AppKey("tiles3d_layouts", dict)
_WRAPPED = web.AppKey("tiles3d_wrapped", OrderedDict)
MAX_WRAPPED = 512  # glTF-SPZ tiles kept in memory, by the stored spz tile's sha256
_INDEX = "{level:\\d{1,3}}/{x:\\d{1,12}}/{y:\\d{1,12}}"
_ROOT = "{root:\\d+_-?\\d+_-?\\d+}"


def add_tiles3d_routes(app: web.Application, geo: tuple[float, float, float] = live.DEFAULT_GEO) -> None:
    """Serve every world of ``app`` as a live tileset placed at ``geo`` (lat, lon, height)."""
    app[GEO] = live.check_geo(*geo)
    app[_LAYOUTS] = {}
    app[_WRAPPED] = OrderedDict()
    app.router.add_get("/v1/worlds/{world_id}/tileset.json", _tileset)
    app.router.add_get(f"/v1/worlds/{{world_id}}/3dtiles/subtrees/{_ROOT}/{_INDEX}.subtree", _subtree)
    app.router.add_get(f"/v1/worlds/{{world_id}}/3dtiles/{{kind:[a-z]+}}/{_ROOT}/{_INDEX}.glb", _content)


def _worlds(request: web.Request) -> Worlds:
    return request.app[WORLDS]


async def _layout(request: web.Request) -> live.Layout:
    """The world's layout, measured once per process (the four root tiles are generated for it)."""
    world_id = request.match_info["world_id"]
    layouts: dict[str, live.Layout] = request.app[_LAYOUTS]
    if world_id in layouts:
        return layouts[world_id]
    worlds = _worlds(request)
    row = await worlds.get_world(world_id)
    grid = worlds.grid(row)
    spawn = convert.camera_from_proto(convert.world_to_proto(row).spawn).position
    root_lod, roots = live.choose_roots(float(spawn[0]), float(spawn[2]), grid.base_tile_m)
    tiles = await asyncio.gather(*(worlds.tile(world_id, key, "spz") for key in roots))
    lows, highs = [float(spawn[1])], [float(spawn[1])]
    for tile in tiles:
        cloud = await asyncio.to_thread(decode_spz, tile.data)
        if len(cloud):
            y = cloud.positions[:, 1].astype(np.float64)
            pad = 3.0 * cloud.scales.astype(np.float64).max(axis=1)  # three standard deviations
            lows.append(float((y - pad).min()))
            highs.append(float((y + pad).max()))
    layout = live.Layout(
        grid.base_tile_m, grid.splats_per_edge, root_lod, roots, live.padded_y_range(min(lows), max(highs))
    )
    layouts[world_id] = layout
    return layout


def _kind(text: str) -> str:
    if text not in live.CONTENT_KINDS:
        raise InvalidRequestError(f"content {text!r} is not one of {', '.join(live.CONTENT_KINDS)}")
    return text


def _bytes(request: web.Request, data: bytes, media_type: str, etag_sha: str | None = None) -> web.Response:
    etag = f'"{etag_sha or hashlib.sha256(data).hexdigest()}"'
    headers = {"ETag": etag, "Cache-Control": "no-cache"}
    wanted = request.headers.get("If-None-Match", "")
    if wanted.strip() == "*" or etag in [t.strip() for t in wanted.split(",")]:
        return web.Response(status=304, headers=headers)
    return web.Response(body=data, content_type=media_type, headers=headers)


async def _tileset(request: web.Request) -> web.Response:
    kind = _kind(request.query.get("content", "splats"))
    layout = await _layout(request)
    body = live.json_bytes(live.tileset_json(layout, request.app[GEO], kind))
    return _bytes(request, body, "application/json")


def _tile_key(layout: live.Layout, info: dict[str, str]) -> tuple[TileKey, int]:
    try:
        root = layout.root(info["root"])
        level = int(info["level"])
        return layout.key(root, level, int(info["x"]), int(info["y"])), level
    except (LookupError, ValueError) as exc:
        raise NotFoundError(str(exc)) from None


async def _subtree(request: web.Request) -> web.Response:
    layout = await _layout(request)
    _, level = _tile_key(layout, dict(request.match_info))
    try:
        data = live.subtree_bytes(layout, level)
    except LookupError as exc:
        raise NotFoundError(str(exc)) from None
    return _bytes(request, data, "application/octet-stream")


async def _content(request: web.Request) -> web.Response:
    info = request.match_info
    if info["kind"] not in live.CONTENT_KINDS:
        raise NotFoundError(f"no 3D Tiles content {info['kind']!r}: one of {', '.join(live.CONTENT_KINDS)}")
    layout = await _layout(request)
    key, _ = _tile_key(layout, dict(info))
    worlds = _worlds(request)
    if info["kind"] == "mesh":
        tile = await worlds.tile(info["world_id"], key, "glb")
        return _bytes(request, tile.data, "model/gltf-binary", tile.row.sha256)
    tile = await worlds.tile(info["world_id"], key, "spz")
    wrapped: OrderedDict[str, bytes] = request.app[_WRAPPED]
    data = wrapped.get(tile.row.sha256)
    if data is None:
        # A pure function of the stored tile's bytes: the same tile always wraps to the same GLB.
        data = await asyncio.to_thread(lambda: encode_gltf_spz(decode_spz(tile.data), name=f"tile {key}"))
        wrapped[tile.row.sha256] = data
        while len(wrapped) > MAX_WRAPPED:
            wrapped.popitem(last=False)
    else:
        wrapped.move_to_end(tile.row.sha256)
    return _bytes(request, data, "model/gltf-binary")
