"""CesiumJS (npm ``@cesium/engine``) in headless Chromium over a live tileset, for
tests/api/test_cesium_browser.py and bench/cesium_spawn.py.

:func:`cesium_site` bundles the engine with esbuild (both from tests/js/node_modules) into a
folder laid out as CESIUM_BASE_URL expects (Workers/, ThirdParty/, Assets/) beside the page
tests/js/cesium/index.html; :class:`StaticSite` serves it on loopback; :func:`run_view` runs
tests/js/cesium/view.mjs, one browser session per call (a JSON job in, a JSON result out);
:func:`spawn_job` aims it at a world's spawn camera and :func:`spawn_psnr` scores its frame.
"""

from __future__ import annotations

import functools
import http.server
import json
import math
import os
import shutil
import subprocess
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
from PIL import Image

from bridge.client.cameras import spawn_camera
from bridge.render.images import psnr
from bridge.render.sky import sky_background
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from tests.web_browser import CHROMIUM, REPO, missing_tools

JS = REPO / "tests" / "js"
ENGINE = JS / "node_modules" / "@cesium" / "engine"
WASM_SPLATS = JS / "node_modules" / "@cesium" / "wasm-splats" / "wasm_splats_bg.wasm"
ESBUILD = JS / "node_modules" / ".bin" / "esbuild"
VIEW = JS / "cesium" / "view.mjs"


def missing_cesium_tools() -> str | None:
    """Why the Cesium checks cannot run here, or None (the tests fail, never skip, on this)."""
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
    entry = JS / "cesium" / "entry.mjs"
    args = ["--bundle", "--format=esm", "--platform=browser", "--log-level=error", f"--outfile={out / 'cesium.js'}"]
    subprocess.run([str(ESBUILD), str(entry), *args], cwd=JS, check=True, timeout=300)
    shutil.copy(JS / "cesium" / "index.html", out / "index.html")
    (out / "Workers").symlink_to(ENGINE / "Build" / "Workers")
    (out / "Assets").symlink_to(ENGINE / "Source" / "Assets")
    (out / "ThirdParty").mkdir()
    (out / "ThirdParty" / "Workers").symlink_to(ENGINE / "Build" / "ThirdParty" / "Workers")
    # The splat sorter's WebAssembly: the workers fetch it from CESIUM_BASE_URL/ThirdParty/, the
    # bundled wasm-splats module from beside itself (import.meta.url).
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
    """The page's folder over HTTP on loopback (a page from file:// cannot start workers)."""

    def __init__(self, root: Path) -> None:
        handler = functools.partial(_Quiet, directory=str(root))
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/index.html"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass(frozen=True)
class View:
    """What one Cesium session is asked to do (sizes in pixels, times in milliseconds)."""

    page: str
    tileset: str
    token: str
    width: int
    sse: float  # Cesium's maximumScreenSpaceError, CSS pixels
    shot: Path
    move_m: float = 0.0
    move_shot: Path | None = None
    timeout_ms: int = 300_000
    scale: float = 2.0  # drawing-buffer pixels per CSS pixel (the page says why)


def spawn_job(view: View, world: pb.World) -> dict[str, Any]:
    """view.mjs's job: the camera at the world's spawn, in our frame (the page turns it Z-up and
    through the tileset's root transform), at the photo's aspect ratio and horizontal FOV."""
    camera = spawn_camera(world, view.width)
    k = camera.intrinsics
    spec = world.spawn

    def vec(v: pb.Vec3) -> list[float]:
        return [v.x, v.y, v.z]

    return {
        "page": view.page,
        "tileset": view.tileset,
        "token": view.token,
        "width": k.width,
        "height": k.height,
        "sse": view.sse,
        "scale": view.scale,
        "camera": {
            "p": vec(spec.position),
            "d": vec(spec.forward),
            "u": vec(spec.up),
            "fovX": 2 * math.atan(k.width / (2 * k.fx)),
        },
        "shot": str(view.shot),
        "moveM": view.move_m,
        "moveShot": str(view.move_shot) if view.move_shot else "",
        "timeoutMs": view.timeout_ms,
    }


def run_view(job: dict[str, Any], log_path: Path) -> dict[str, Any]:
    """One session of view.mjs; RuntimeError with the driver's stderr when the driver itself fails
    (a Cesium failure is reported in the result's ``failure`` and ``errors``)."""
    waits = 2 if job["moveM"] > 0 else 1
    with log_path.open("wb") as log:
        done = subprocess.run(
            ["node", str(VIEW)],
            cwd=VIEW.parent,
            input=json.dumps(job).encode(),
            stdout=subprocess.PIPE,
            stderr=log,
            timeout=waits * job["timeoutMs"] / 1000 + 120,
            env={**os.environ, "WORLDBRIDGE_CHROMIUM": str(CHROMIUM)},
        )
    if done.returncode != 0:
        raise RuntimeError(f"view.mjs failed ({done.returncode}): {log_path.read_text()[-4000:]}")
    return json.loads(done.stdout)


def over_sky(rgba: np.ndarray, sky: np.ndarray) -> np.ndarray:
    """Cesium's frame (straight alpha, uint8) over the world's sky, float RGB in [0, 1]: the host
    draws the sky behind the tiles, as the web viewer does."""
    colour = rgba[..., :3].astype(np.float64) / 255.0
    alpha = rgba[..., 3:4].astype(np.float64) / 255.0
    return colour * alpha + sky.astype(np.float64) * (1.0 - alpha)


@dataclass(frozen=True)
class SpawnScore:
    psnr_db: float  # the composited frame against the photo
    sky_only_db: float  # the sky alone against the photo: what drawing nothing would score
    coverage: float  # share of pixels Cesium drew anything on
    frame: np.ndarray  # the composited frame, float RGB


def spawn_psnr(
    rgba: np.ndarray, world: pb.World, sky_panorama: np.ndarray, photo: np.ndarray, width: int
) -> SpawnScore:
    """Score Cesium's spawn frame ``rgba`` (drawn at any multiple of the viewport) against
    ``photo`` (uint8 RGB): the frame over the world's sky panorama (uint8) at its own size, then
    both box-resized to ``width`` pixels across (the photo's aspect)."""
    height, drawn = rgba.shape[:2]
    camera = spawn_camera(world, drawn)
    if camera.intrinsics.height != height:
        raise ValueError(f"the frame is {drawn} x {height}, the spawn camera {drawn} x {camera.intrinsics.height}")
    size = (width, spawn_camera(world, width).intrinsics.height)

    def boxed(image: np.ndarray) -> np.ndarray:
        as_bytes = Image.fromarray(np.clip(image * 255.0, 0, 255).round().astype(np.uint8))
        return np.asarray(as_bytes.resize(size, Image.Resampling.BOX), dtype=np.float64) / 255.0

    sky = sky_background(sky_panorama, camera)
    frame = boxed(over_sky(rgba, sky))
    reference = np.asarray(Image.fromarray(photo).resize(size, Image.Resampling.BOX), dtype=np.float64) / 255.0
    return SpawnScore(psnr(frame, reference), psnr(boxed(sky), reference), float((rgba[..., 3] > 0).mean()), frame)
