"""CesiumJS at a world's spawn over the live 3D Tiles endpoint: PSNR against the photo, load time,
tiles fetched, and the tiles fetched after moving 500 m.

    python bench/cesium_spawn.py ../shared/photos/lyra2_06.png --out /tmp/cesium        # one JSON line
    python bench/cesium_spawn.py PHOTO --out DIR --screenshot docs/cesium_lyra2_06.jpg  # and the README's picture

Starts a fresh ``worldbridge serve --photo PHOTO --geo 46.5,6.6,372`` (2 workers) and runs
CesiumJS (npm ``@cesium/engine``, tests/js) in headless Chromium on SwiftShader
(tests/cesium_browser.py): no imagery, terrain, globe or Ion. The camera goes to the world's spawn
camera through the tileset's root transform; the tiles are those Cesium selects for a
``--width`` x (photo aspect) CSS viewport at ``--sse`` (``maximumScreenSpaceError``), drawn at
``--scale`` drawing-buffer pixels per CSS pixel. The frame is composited over the world's sky
(the host draws it, as the web viewer does), box-resized to the viewport and compared with the
photo box-resized to it. Then the camera moves ``--move`` metres forward and the content
requests it makes are counted. The server starts empty, so ``spawn_s`` includes generating every
tile Cesium asks for; ``baseline_ms`` (numpy sorting 1M floats) is measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import json
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
from google.protobuf import json_format
from PIL import Image

from bridge.benches.generation import baseline_ms
from bridge.client.server_process import start_server
from bridge.render.images import side_by_side
from bridge.wire._proto.worldbridge.v1 import world_service_pb2 as pb
from tests.cesium_browser import (
    StaticSite,
    View,
    cesium_site,
    engine_version,
    missing_cesium_tools,
    run_view,
    spawn_job,
    spawn_psnr,
)

GEO = "46.5,6.6,372"


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=600) as response:
        return response.read()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("photo", type=Path)
    parser.add_argument("--out", type=Path, required=True, help="folder for the frames, logs and result")
    parser.add_argument("--width", type=int, default=320, help="CSS viewport width, pixels (height: photo aspect)")
    parser.add_argument("--sse", type=float, default=4.0, help="Cesium's maximumScreenSpaceError, CSS pixels")
    parser.add_argument("--scale", type=float, default=2.0, help="drawing-buffer pixels per CSS pixel")
    parser.add_argument("--move", type=float, default=500.0, help="metres to move forward after the spawn shot")
    parser.add_argument("--screenshot", type=Path, help="also write the frame beside the photo here (JPEG)")
    args = parser.parse_args()
    problem = missing_cesium_tools()
    if problem:
        raise SystemExit(problem)
    args.out.mkdir(parents=True, exist_ok=True)
    baseline = baseline_ms()
    with tempfile.TemporaryDirectory(prefix="cesium-bench-") as tmp:
        site = StaticSite(cesium_site(Path(tmp) / "site"))
        server = start_server(Path(tmp) / "data", workers=2, extra_args=["--photo", str(args.photo), "--geo", GEO])
        try:
            url = f"http://127.0.0.1:{server.http_port}"
            listed = json.loads(_get(f"{url}/v1/worlds"))["worlds"][0]
            world = json_format.ParseDict(listed, pb.World(), ignore_unknown_fields=True)
            view = View(
                page=site.url,
                tileset=f"{url}/v1/worlds/{world.id}/tileset.json",
                token="",
                width=args.width,
                sse=args.sse,
                shot=args.out / "spawn.png",
                move_m=args.move,
                move_shot=args.out / "moved.png",
                timeout_ms=900_000,
                scale=args.scale,
            )
            started = time.perf_counter()
            result = run_view(spawn_job(view, world), args.out / "view.log")
            wall_s = time.perf_counter() - started
            sky = np.asarray(Image.open(io.BytesIO(_get(f"{url}/v1/worlds/{world.id}/assets/sky"))).convert("RGB"))
        finally:
            server.stop()
            site.close()
    if result["failure"]:
        raise SystemExit(f"Cesium: {result['failure']}; console: {result['errors'][:5]}")
    photo = np.asarray(Image.open(args.photo).convert("RGB"))
    score = spawn_psnr(np.asarray(Image.open(view.shot).convert("RGBA")), world, sky, photo, args.width)
    summary = {
        "photo": args.photo.stem,
        "engine": engine_version(),
        "viewport": list(score.frame.shape[1::-1]),
        "sse": args.sse,
        "scale": args.scale,
        "psnr_db": round(score.psnr_db, 2),
        "sky_only_db": round(score.sky_only_db, 2),
        "coverage": round(score.coverage, 3),
        "spawn_s": round(result["spawnMs"] / 1000, 1),
        "spawn_tiles_fetched": len(result["spawnContent"]),
        "spawn_tiles_drawn": result["spawn"]["selected"],
        "spawn_splats_drawn": result["spawn"]["splats"]["drawn"],
        "moved_m": args.move,
        "moved_s": round(result.get("movedMs", 0) / 1000, 1),
        "moved_new_tiles_fetched": len(result["movedContent"]),
        "console_errors": len(result["errors"]),
        "failed_tiles": len(result["failed"]),
        "wall_s": round(wall_s, 1),
        "baseline_ms": round(baseline, 2),
    }
    (args.out / "result.json").write_text(json.dumps({**summary, "raw": result}, indent=1))
    if args.screenshot:
        pair = side_by_side([score.frame, np.asarray(photo)], ["CesiumJS at the spawn", "photo"])
        Image.fromarray(pair).save(args.screenshot, quality=90)
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
