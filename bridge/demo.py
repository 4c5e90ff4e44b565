"""``worldbridge demo``: the main job end to end, through the real server and the real client.

Starts a server on a free loopback port, makes a world from the photo, walks a simulated player
out and back while streaming tiles over gRPC, and writes what a person can look at: the spawn
view beside the photo, views along the walk, a top-down map of the tiles received, the photo
analysis pictures, a JSON report and an index.html that shows them all.
"""

from __future__ import annotations

import asyncio
import html
import json
import shlex
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw
from tqdm import tqdm

from bridge.client.cameras import spawn_camera
from bridge.client.client import WorldBridgeClient
from bridge.client.held import HeldTiles
from bridge.client.players import PlayerPose, out_and_back
from bridge.client.server_process import start_server
from bridge.client.views import render_view, spawn_comparison
from bridge.client.walker import Walker
from bridge.generate.registry import IMPORT_GENERATOR
from bridge.render.images import save_png
from bridge.samples import sample_photo_path
from bridge.world.camera import Camera
from bridge.world.keys import TileKey

VIEW_WIDTH = 640  # pixels: the spawn comparison and walk views
STEP_S = 0.5  # simulated seconds between viewer updates
CHECKPOINTS = 5  # walk views, evenly spaced along the way out, plus one back at the spawn
VIEWER_URL = "http://127.0.0.1:8080/"  # where `worldbridge serve` serves the browser viewer by default


@dataclass(frozen=True)
class DemoOptions:
    photo: Path | None = None
    out_dir: Path = Path("demo-out")
    distance_m: float = 1000.0
    speed_m_s: float = 20.0
    radius_m: float = 1024.0  # far tiles are coarse: a valley's slopes stand on the horizon
    workers: int | None = None


def sample_photo_bytes() -> bytes:
    return sample_photo_path().read_bytes()


def run_demo(options: DemoOptions) -> dict:
    options.out_dir.mkdir(parents=True, exist_ok=True)
    photo = options.photo.read_bytes() if options.photo else sample_photo_bytes()
    with tempfile.TemporaryDirectory(prefix="worldbridge-demo-") as data:
        server = start_server(Path(data), workers=options.workers)
        try:
            report = asyncio.run(_walk(server.target, photo, options))
        finally:
            server.stop()
    report_path = options.out_dir / "report.json"
    report_path.write_text(json.dumps(report, indent=2))
    _write_index(options.out_dir, report, viewer_command(options.photo))
    print(f"\nspawn view vs photo: PSNR {report['spawn_psnr_db']:.2f} dB  ({options.out_dir / 'spawn_compare.png'})")
    print(f"walk views:          {', '.join(str(options.out_dir / name) for name in report['walk_views'])}")
    print(f"tile map:            {options.out_dir / 'map.png'}")
    print(f"report:              {report_path}")
    print(f"open in a browser:   {(options.out_dir / 'index.html').resolve()}")
    print(f"walk it yourself:    {viewer_command(options.photo)}  then open {VIEWER_URL}")
    return report


def viewer_command(photo: Path | None) -> str:
    """The command that serves this photo's world to the browser viewer (the demo's server is
    gone), runnable as printed from where the demo ran: the ``worldbridge`` beside this Python
    (e.g. ``.venv/bin/worldbridge``), else the one on PATH."""
    path = photo if photo else sample_photo_path()
    return f"{shlex.quote(_worldbridge_command())} serve --photo {shlex.quote(str(path))}"


def _worldbridge_command() -> str:
    beside = Path(sys.executable).with_name("worldbridge")
    if not beside.exists():
        return "worldbridge"
    try:
        relative = beside.relative_to(Path.cwd())
    except ValueError:
        return str(beside)
    return str(relative) if len(relative.parts) > 1 else f"./{relative}"  # a bare name would search PATH


async def _walk(target: str, photo: bytes, options: DemoOptions) -> dict:
    out = options.out_dir
    started = time.perf_counter()
    async with WorldBridgeClient(target) as client:
        await client.wait_ready()
        world = await client.create_world(photo, name="demo")
        created_s = time.perf_counter() - started
        for name, asset in _pictures(world.generator).items():
            suffix = "jpg" if asset == "photo" and photo[:2] == b"\xff\xd8" else "png"
            (out / f"{name}.{suffix}").write_bytes(await client.get_asset(world.id, asset))
        sky = np.asarray(Image.open(out / "sky.png").convert("RGB"))
        spawn = spawn_camera(world, VIEW_WIDTH)
        poses = out_and_back(tuple(spawn.position), tuple(spawn.forward), options.distance_m, options.speed_m_s, STEP_S)
        checkpoints = _checkpoint_indices(len(poses))
        walker = Walker.open(
            client,
            world.id,
            radius_m=options.radius_m,
            vertical_fov_deg=spawn.intrinsics.vertical_fov_deg,
            viewport_height_px=spawn.intrinsics.height,
        )
        held = walker.held
        step_waits: list[float] = []
        views: list[str] = []
        spawn_psnr = float("nan")
        spawn_ready_s = float("nan")
        for i, pose in enumerate(tqdm(poses, desc="walking", unit="step")):
            step_waits.append(await walker.step(pose))
            if i == 0:
                spawn_ready_s = time.perf_counter() - started
                spawn_psnr = _spawn_view(held, spawn, sky, out)
            if i in checkpoints:
                # The player stops to look: a viewer moving at the walk's speed is sent no tiles
                # finer than it can cross in a moment (32 m ones at 20 m/s), which a still picture
                # would show as blur; standing, it gets the finest the view asks for.
                if i > 0:
                    step_waits.append(await walker.step(replace(pose, velocity=(0.0, 0.0, 0.0))))
                views.append(_walk_view(held, spawn, pose, sky, out, back=i > len(poses) // 2))
        for message in walker.errors:
            tqdm.write(f"server said: {message}")
        await walker.close()
    _tile_map(held, poses, world.base_tile_m, out / "map.png")
    return {
        "world_id": world.id,
        "photo_sha256": world.photo_sha256,
        "generator": f"{world.generator} {world.generator_version}",
        "spawn": {
            "position": list(spawn.position),
            "forward": list(spawn.forward),
            "vertical_fov_deg": spawn.intrinsics.vertical_fov_deg,
        },
        "spawn_psnr_db": spawn_psnr,
        "distance_m": options.distance_m,
        "speed_m_s": options.speed_m_s,
        "radius_m": options.radius_m,
        "steps": len(poses),
        "world_created_s": round(created_s, 3),
        "spawn_tiles_ready_s": round(spawn_ready_s, 3),
        "step_wait_p50_s": round(float(np.percentile(step_waits, 50)), 4),
        "step_wait_max_s": round(float(np.max(step_waits)), 4),
        "tiles_received": sum(held.ever_received.values()),
        "distinct_tiles": len(held.ever_received),
        "tiles_by_lod": _by_lod(held.ever_received),
        "bytes_received": held.bytes_received,
        "walk_views": views,
        "total_s": round(time.perf_counter() - started, 2),
        "options": {k: str(v) for k, v in asdict(options).items()},
    }


def _checkpoint_indices(count: int) -> set[int]:
    half = (count - 1) // 2
    return {round(half * j / (CHECKPOINTS - 1)) for j in range(CHECKPOINTS)} | {count - 1}


def _pictures(generator: str) -> dict[str, str]:
    """The demo's pictures by file name -> the world's asset. An imported scene has no photo: its
    reference is the scene seen from the spawn, and the pictures of what was read are those the
    continuation read from that view (see bridge.generate.scene)."""
    names = ("depth", "segmentation", "horizon", "scene", "materials", "palette")
    if generator == IMPORT_GENERATOR:
        return {"photo": "scene_view", **{n: f"continuation_{n}" for n in names}, "sky": "sky"}
    return {"photo": "photo", **{n: n for n in names}, "sky": "sky"}


def _by_lod(received: dict[TileKey, int]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for key, times in received.items():
        counts[str(key.lod)] = counts.get(str(key.lod), 0) + times
    return dict(sorted(counts.items()))


def _spawn_view(held: HeldTiles, spawn: Camera, sky: np.ndarray, out: Path) -> float:
    photo = np.asarray(Image.open(next(out.glob("photo.*"))).convert("RGB"))
    value, picture = spawn_comparison(held.cloud(), spawn, sky, photo)
    save_png(picture, out / "spawn_compare.png")
    return value


def _walk_view(held: HeldTiles, spawn: Camera, pose: PlayerPose, sky: np.ndarray, out: Path, back: bool) -> str:
    image = render_view(held.cloud(), Camera.looking(pose.position, pose.forward, spawn.intrinsics), sky)
    travelled = float(np.hypot(pose.position[0] - spawn.position[0], pose.position[2] - spawn.position[2]))
    name = f"walk_{'back' if back else 'out'}_{travelled:05.0f}m.png"
    save_png(image, out / name)
    return name


def _tile_map(held: HeldTiles, poses: list[PlayerPose], base_tile_m: float, path: Path) -> None:
    """Top-down: every tile received, shaded by LOD (finer = brighter), and the player's path."""
    keys = list(held.ever_received)
    bounds = np.array([k.bounds(base_tile_m) for k in keys])
    x0, z0 = bounds[:, 0].min(), bounds[:, 1].min()
    x1, z1 = bounds[:, 2].max(), bounds[:, 3].max()
    size = 900
    scale = size / max(x1 - x0, z1 - z0)
    image = Image.new("RGB", (int((x1 - x0) * scale) + 1, int((z1 - z0) * scale) + 1), (20, 20, 28))
    draw = ImageDraw.Draw(image)
    palette = [(250, 220, 90), (120, 210, 120), (90, 170, 230), (170, 120, 230), (230, 120, 150), (150, 150, 150)]
    for key in sorted(keys, key=lambda k: -k.lod):
        bx0, bz0, bx1, bz1 = key.bounds(base_tile_m)
        colour = palette[min(key.lod, len(palette) - 1)]
        draw.rectangle(
            [(bx0 - x0) * scale, (bz0 - z0) * scale, (bx1 - x0) * scale, (bz1 - z0) * scale],
            fill=tuple(int(c * 0.55) for c in colour),
            outline=colour,
        )
    path_points = [((p.position[0] - x0) * scale, (p.position[2] - z0) * scale) for p in poses]
    draw.line(path_points, fill=(255, 255, 255), width=3)
    draw.text(
        (8, 8),
        "tiles received (LOD 0 yellow, 1 green, 2 blue, 3 violet, 4+ pink); white: the walk",
        fill=(255, 255, 255),
    )
    image.save(path)


def _write_index(out: Path, report: dict, serve_command: str) -> None:
    views = "".join(
        f'<figure><img src="{html.escape(v)}"><figcaption>{html.escape(v)}</figcaption></figure>'
        for v in report["walk_views"]
    )
    page = f"""<!doctype html><meta charset="utf-8"><title>WorldBridge demo</title>
<style>body{{font:15px system-ui;background:#111;color:#eee;margin:2em}}img{{max-width:100%}}
figure{{display:inline-block;margin:.5em;max-width:31%}}pre{{background:#222;padding:1em}}</style>
<h1>WorldBridge demo</h1>
<p>Walk this world yourself in the browser viewer: run <code>{html.escape(serve_command)}</code>, then open
<a href="{VIEWER_URL}">{VIEWER_URL}</a> (WASD to move, drag to look).</p>
<h2>The first view is the photo</h2><img src="spawn_compare.png">
<h2>Walking out and back</h2>{views}
<h2>Tiles received</h2><img src="map.png" style="max-width:60%">
<h2>What the generator read in the photo</h2>
<figure><img src="horizon.png"><figcaption>horizon</figcaption></figure>
<figure><img src="segmentation.png">
<figcaption>sky (blue) / ground (green) / standing (magenta) / backdrop (orange)</figcaption></figure>
<figure><img src="depth.png"><figcaption>depth (warm near, cool far)</figcaption></figure>
<figure><img src="scene.png"><figcaption>the scene read from the photo (what the layout continues): its layers
with their shares, the street's heading, the facades rectified with their storeys and bays</figcaption></figure>
<figure><img src="materials.png"><figcaption>ground materials: where each was read, its exemplar and share,
and which lies where beyond the photo</figcaption></figure>
<figure><img src="palette.png"><figcaption>palette: the colours of each region (median cut), each as wide as
its share of the region</figcaption></figure>
<h2>Report</h2><pre>{html.escape(json.dumps(report, indent=2))}</pre>"""
    (out / "index.html").write_text(page)
