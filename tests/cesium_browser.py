"""CesiumJS (npm ``@cesium/engine``) in headless Chromium, for tests/api/test_cesium.py and the
README's Cesium screenshot.

:func:`cesium_site` bundles the engine once with esbuild (both from tests/js/node_modules) into a
folder laid out as CESIUM_BASE_URL expects (Workers/, ThirdParty/, Assets/) beside the page
tests/js/cesium/index.html; :class:`StaticSite` serves that folder on loopback; :func:`run_view`
runs tests/js/cesium/view.mjs, one browser session per call (JSON job in, JSON result out).
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path
from typing import Any, ClassVar

from tests.web_browser import CHROMIUM, REPO, missing_tools

JS = REPO / "tests" / "js"
ENGINE = JS / "node_modules" / "@cesium" / "engine"
WASM_SPLATS = JS / "node_modules" / "@cesium" / "wasm-splats" / "wasm_splats_bg.wasm"
ESBUILD = JS / "node_modules" / ".bin" / "esbuild"
VIEW = JS / "cesium" / "view.mjs"


def missing_cesium_tools() -> str | None:
    """Why the Cesium tests cannot run here, or None (they fail, never skip, on this)."""
    problem = missing_tools()
    if problem:
        return problem
    if not ENGINE.is_dir() or not ESBUILD.exists():
        return "tests/js/node_modules lacks @cesium/engine or esbuild: run `npm ci --prefix tests/js`"
    return None


def engine_version() -> str:
    return str(json.loads((ENGINE / "package.json").read_text())["version"])


def cesium_site(out: Path) -> Path:
    """Bundle the engine and lay out the page's folder under ``out``; returns ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        [
            str(ESBUILD),
            str(JS / "cesium" / "entry.mjs"),
            "--bundle",
            "--format=esm",
            "--platform=browser",
            "--log-level=error",
            f"--outfile={out / 'cesium.js'}",
        ],
        cwd=JS,
        check=True,
        timeout=300,
    )
    shutil.copy(JS / "cesium" / "index.html", out / "index.html")
    (out / "Workers").symlink_to(ENGINE / "Build" / "Workers")
    (out / "Assets").symlink_to(ENGINE / "Source" / "Assets")
    (out / "ThirdParty").mkdir()
    (out / "ThirdParty" / "Workers").symlink_to(ENGINE / "Build" / "ThirdParty" / "Workers")
    # The splat sorter's WebAssembly, which CesiumJS fetches from CESIUM_BASE_URL/ThirdParty/ (workers)
    # and the bundled wasm-splats module from beside itself (import.meta.url).
    (out / "ThirdParty" / "wasm_splats_bg.wasm").symlink_to(WASM_SPLATS)
    (out / "wasm_splats_bg.wasm").symlink_to(WASM_SPLATS)
    return out


class _Quiet(http.server.SimpleHTTPRequestHandler):
    extensions_map: ClassVar[dict[str, str]] = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".wasm": "application/wasm",
    }

    def log_message(self, format: str, *args: Any) -> None:
        pass


class StaticSite:
    """The page's folder over HTTP on loopback (a page from file:// cannot run workers)."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_Quiet, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/index.html"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def run_view(job: dict[str, Any], log_path: Path, timeout_s: float) -> dict[str, Any]:
    """One session of view.mjs; RuntimeError with the driver's stderr when it fails."""
    with log_path.open("wb") as log:
        done = subprocess.run(
            ["node", str(VIEW)],
            cwd=VIEW.parent,
            input=json.dumps(job).encode(),
            stdout=subprocess.PIPE,
            stderr=log,
            timeout=timeout_s,
            env={**os.environ, "WORLDBRIDGE_CHROMIUM": str(CHROMIUM)},
        )
    if done.returncode != 0:
        raise RuntimeError(f"view.mjs failed ({done.returncode}): {log_path.read_text()[-4000:]}")
    return json.loads(done.stdout)
