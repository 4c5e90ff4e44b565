"""The built viewer in the package: it is up to date with web/'s sources, the server serves it
(without a token, with cache headers that suit hashed assets), and the page's API calls still
need the token. No browser here: tests/api/test_web_viewer.py drives a real one."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import aiohttp
from aiohttp.test_utils import TestServer

from bridge.api.http import build_app
from bridge.api.viewer_static import IMMUTABLE, VIEWER_DIR
from tests.conftest import run
from tests.stream_support import make_worlds

REPO = Path(__file__).resolve().parents[2]
WEB = REPO / "web"
SOURCES = ["index.html", "vite.config.js", "package.json", "package-lock.json", "src"]  # as write_manifest.mjs


def _hashes(root: Path, entries: list[str]) -> dict[str, str]:
    files: list[Path] = []
    for entry in entries:
        path = root / entry
        files += sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {p.relative_to(root).as_posix(): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def test_the_committed_build_matches_the_sources() -> None:
    manifest_path = VIEWER_DIR / "build-manifest.json"
    build = "npm ci --prefix web && npm run build --prefix web"
    assert manifest_path.is_file(), f"bridge/api/viewer/ has no build: run `{build}`"
    manifest = json.loads(manifest_path.read_text())
    stale = "the built viewer is stale: run `npm run build --prefix web` and commit bridge/api/viewer/"
    assert manifest["sources"] == _hashes(WEB, SOURCES), stale
    outputs = [p.name for p in VIEWER_DIR.iterdir() if p.name != "build-manifest.json"]
    assert manifest["outputs"] == _hashes(VIEWER_DIR, outputs), "bridge/api/viewer/ was changed by hand; rebuild it"


def test_the_page_names_only_assets_that_exist() -> None:
    page = (VIEWER_DIR / "index.html").read_text()
    names = re.findall(r'(?:src|href)="\./assets/([^"]+)"', page)
    assert any(n.endswith(".js") for n in names) and any(n.endswith(".css") for n in names), page
    for name in names:
        assert (VIEWER_DIR / "assets" / name).is_file(), name


def test_the_server_serves_the_viewer_without_a_token(tmp_path: Path) -> None:
    async def go() -> None:
        worlds, pool = make_worlds(tmp_path / "data")
        server = TestServer(build_app(worlds, token="secret"))
        await server.start_server()
        try:
            async with aiohttp.ClientSession() as session:
                base = str(server.make_url("")).rstrip("/")
                async with session.get(base + "/") as page:
                    assert page.status == 200 and page.content_type == "text/html"
                    assert page.headers["Cache-Control"] == "no-cache"
                    html = await page.text()
                script = re.search(r'src="\./assets/([^"]+\.js)"', html)
                assert script, html
                async with session.get(f"{base}/assets/{script.group(1)}") as asset:
                    assert asset.status == 200 and asset.content_type == "text/javascript"
                    assert asset.headers["Cache-Control"] == IMMUTABLE
                    assert b"worldbridge" in await asset.read()
                for bad in ("/assets/nothing.js", "/assets/..%2Fhttp.py", "/assets/index.html"):
                    async with session.get(base + bad) as missing:
                        assert missing.status == 404, bad
                # The page is public; the API it calls is not.
                async with session.get(base + "/v1/worlds") as api:
                    assert api.status == 401
        finally:
            await server.close()
            await worlds.close()
            pool.shutdown()

    run(go())
