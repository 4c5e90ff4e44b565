"""The browser viewer's built files (``bridge/api/viewer/``, written by ``npm run build`` in ``web/``
and committed, so serving it needs no Node): ``/`` is its page, ``/assets/...`` its scripts and
styles. These routes need no token: the page is public; its API calls carry the token.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

from aiohttp import web

VIEWER_DIR = Path(str(resources.files("bridge.api").joinpath("viewer")))
IMMUTABLE = "public, max-age=31536000, immutable"
# Vite names every asset after a hash of its content, so an asset URL never changes meaning.
_ASSET_NAME = re.compile(r"^[A-Za-z0-9_.-]+\.(js|css|wasm|png|svg)$")
_MEDIA_TYPES = {
    ".js": "text/javascript",
    ".css": "text/css",
    ".wasm": "application/wasm",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}


def add_viewer_routes(app: web.Application, viewer_dir: Path = VIEWER_DIR) -> None:
    async def page(request: web.Request) -> web.StreamResponse:
        index = viewer_dir / "index.html"
        if not index.is_file():
            return web.Response(
                status=503,
                text="the web viewer is not built: run `npm ci --prefix web && npm run build --prefix web`\n",
            )
        # Revalidated every time: a new build changes which hashed assets the page names.
        return web.FileResponse(index, headers={"Cache-Control": "no-cache", "Content-Type": "text/html"})

    async def asset(request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        path = viewer_dir / "assets" / name
        if not _ASSET_NAME.match(name) or ".." in name or not path.is_file():
            raise web.HTTPNotFound(text=f"no viewer asset {name!r}")
        media_type = _MEDIA_TYPES[path.suffix]
        return web.FileResponse(path, headers={"Cache-Control": IMMUTABLE, "Content-Type": media_type})

    app.router.add_get("/", page)
    app.router.add_get("/index.html", page)
    app.router.add_get("/assets/{name}", asset)
