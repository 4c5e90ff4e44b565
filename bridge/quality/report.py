"""``worldbridge quality``: the measured claims of the product, as one JSON object and pictures.

It walks a long straight line through a world with the real server and client, renders what the
player holds along the way, and reports (see DESIGN.md, "The quality report"):

- ``spawn_psnr_db``: the spawn view, rendered from the photo's camera at the lift resolution,
  against the photo area-resized to it, whole frame.
- ``spawn_psnr_clipped_db``: the same with the splats as standard renderers draw them, colours
  clipped to [0, 1] and opacities capped at 0.99 (:func:`bridge.likeness.standard_cloud`).
- ``spawn_psnr_full_db``: the spawn view at the photo's own resolution (``spawn_full_size_px``;
  downscaled only above ``full_max_pixels``, 2 MP by default) against the photo.
- ``spawn_depth_range_m``: 5th and 95th percentile of the lifted photo's depths.
- ``revisit_identical``: after the walk, the spawn's tiles streamed again and a sample of tiles
  regenerated in this process (not the server's) equal the bytes first received.
- ``seam_max_gap_m``: the widest stretch along a tile border (same LOD, and LOD 0 against LOD 1)
  where the ground rendered from straight above is less than 99 % opaque.
- ``drift``: per km, the relative change in mean colour, contrast and sharpness of the forward
  views against the first km of continuation (views from the first 2 lift radii are the photo
  itself, not the continuation, so the reference km starts after them). Measured every 50 m of
  the walk, each time the mean of five forward views: from the walk line, 30 and 60 m either side,
  at the spawn's height (the drift views do not follow the ground; the likeness views do).
- ``likeness``: one entry per view, ``structure_ratio``, ``sharpness_ratio`` and
  ``colour_distance`` against the photo (defined in :mod:`bridge.likeness`; ``structure_ratio`` is
  None with a ``structure_exempt`` reason for a photo with nearly nothing above its horizon). The
  views: the spawn turned to the right by 0 (the photo's own view), 45, ... 315 degrees
  (``spawn_000`` ... ``spawn_315``), the walk-in views 10, 20 and 50 m forward of the spawn
  (``walkin_010m`` ...; also listed on their own as ``walk_in``), and one at every km of the walk
  (``km_01`` ...). All from eye height, the ground under the eye (the LOD-0 tile there generated
  locally) plus the photo's camera height above the ground under the spawn, with the photo's field
  of view, pitch and roll, at ``likeness_width`` pixels across; ``likeness_reference`` holds the
  photo's side of the ratios. Each is written as ``<view>.png``, RGBA with alpha the accumulated
  opacity of the splats (the sky is a background panorama, not splats), beside ``walk_strip.jpg``.

The walk is one stream, step after step; the views are rendered by :class:`ViewPool` as jobs on
the tiles held at their step (``QualityOptions.processes`` at once, the walk going on meanwhile),
and every figure is the same for any number of processes. ``timing`` says how the report ran
(processes, server workers, walk and CPU seconds) and is not a figure of the world.
"""

from __future__ import annotations

import asyncio
import hashlib
import io
import math
import resource
import tempfile
import time
from concurrent.futures import Future
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image
from tqdm import tqdm

from bridge.client.cameras import spawn_camera
from bridge.client.client import WorldBridgeClient
from bridge.client.players import PlayerPose, ground_heading
from bridge.client.server_process import start_server
from bridge.client.walker import Walker
from bridge.formats import encode_tile
from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.generate.photo.payload import PhotoPayload
from bridge.likeness import GroundSampler, LikenessReference, turned
from bridge.quality.pool import HeldSet, ReportContext, TileFolder, ViewPool
from bridge.quality.views import (
    LikenessView,
    StepViews,
    likeness_reference,
    likeness_view,
    plain_view,
    spawn_psnr,
    step_views,
)
from bridge.render.images import side_by_side
from bridge.render.rasterize import render
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey, tile_at
from bridge.world.photos import decode_photo

VIEW_WIDTH = 640  # pixels, spawn view (the lift resolution)
STEP_M = 25.0  # metres between viewer updates
# The drift is measured every other step, from the walk line and from beside it on both sides
# (bridge.quality.views.SIDE_OFFSETS_M): a view from eye height sees mostly the ground within
# ~30 m, so one view says which ground patch the walk happens to cross there, not what the world
# looks like, and a trend over 10 km needs many.
DRIFT_EVERY_STEPS = 2
# View radius during the walk (QualityOptions.radius_m): far enough for a valley's slopes and a
# town's far roofs to stand on the horizon (160 m showed a plain there); far tiles are coarse.
RADIUS_M = 1024.0
LIKENESS_VIEW_WIDTH = VIEW_WIDTH  # pixels, the likeness views (QualityOptions.likeness_width)
SPAWN_HEADINGS_DEG = (0, 45, 90, 135, 180, 225, 270, 315)  # turned to the right; 0: the photo's view
WALK_IN_M = (10.0, 20.0, 50.0)  # metres forward from the spawn
# The walk is a person walking: a faster viewer is sent coarser tiles (stream.interest.finest_lod).
WALK_SPEED_M_S = 1.4
FULL_PSNR_MAX_PIXELS = 2_000_000  # spawn_psnr_full_db renders at the photo's resolution up to this
SEAM_OPACITY = 0.99
REGENERATE_SAMPLE = 24  # tiles regenerated locally for the revisit check


@dataclass(frozen=True)
class QualityOptions:
    photo: Path
    distance_m: float = 10_000.0
    out_dir: Path | None = None
    workers: int | None = None  # the server's generation processes (default: as many as `processes`)
    radius_m: float = RADIUS_M  # the viewer's view radius during the walk
    likeness_width: int = LIKENESS_VIEW_WIDTH  # pixels across the likeness views
    full_max_pixels: int = FULL_PSNR_MAX_PIXELS  # spawn_psnr_full_db's render is downscaled above this
    processes: int = 1  # processes rendering the views (1: this one); the figures are the same for any
    spawn_width: int = VIEW_WIDTH  # pixels across spawn_psnr_db's and spawn.png's view (and the 5 m, 3 m ones)


def run_quality(options: QualityOptions) -> dict:
    out = options.out_dir or Path("quality-out") / options.photo.stem
    out.mkdir(parents=True, exist_ok=True)
    photo = options.photo.read_bytes()
    workers = options.workers or max(1, options.processes)
    cpu_before = _children_cpu_s()
    with tempfile.TemporaryDirectory(prefix="worldbridge-quality-") as data:
        server = start_server(Path(data) / "server", workers=workers)
        try:
            report = asyncio.run(_measure(server.target, photo, options, out, Path(data) / "tiles"))
        finally:
            server.stop()
    # Children's CPU: the server with its workers, and the view pool (once each is waited for).
    report["timing"]["children_cpu_s"] = round(_children_cpu_s() - cpu_before, 1)
    report["timing"]["server_workers"] = workers
    report["views_dir"] = str(out)
    return report


def _children_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _own_cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _measure(target: str, photo: bytes, options: QualityOptions, out: Path, tiles_dir: Path) -> dict:
    started, cpu_started = time.perf_counter(), _own_cpu_s()
    distance_m, radius_m = options.distance_m, options.radius_m
    pixels = decode_photo(photo)
    folder = TileFolder(tiles_dir)
    async with WorldBridgeClient(target) as client:
        await client.wait_ready()
        world = await client.create_world(photo)
        sky = np.asarray(Image.open(io.BytesIO(await client.get_asset(world.id, "sky"))).convert("RGB"))
        context = ReportContext(tiles_dir, out, sky, pixels)
        pool = ViewPool(context, options.processes)
        try:
            spawn = spawn_camera(world, VIEW_WIDTH)
            walker = _viewer(client, world.id, radius_m, spawn)
            heading = ground_heading(spawn.forward)
            poses = [
                PlayerPose(
                    i * STEP_M,
                    tuple(spawn.position + heading * d),
                    tuple(spawn.forward),
                    tuple(heading * WALK_SPEED_M_S),
                )
                for i, d in enumerate(np.arange(0.0, distance_m + STEP_M / 2, STEP_M))
            ]
            await walker.step(poses[0])
            spawn_first = dict(walker.held.first_sha256)
            at_spawn = folder.held_set(walker.held)
            full = spawn_camera(world, _full_size(world.spawn.width, world.spawn.height, options.full_max_pixels)[0])
            # The same preparation as the server's, here: the ground under the eye, and the revisit check.
            generator = PhotoGenerator()
            prepared = generator.prepare(pixels, GeneratorOptions(base_tile_m=world.base_tile_m))
            ground = GroundSampler(generator, prepared)
            eye_height = float(spawn.position[1]) - ground.height(float(spawn.position[0]), float(spawn.position[2]))
            eyes = EyeCameras(spawn, options.likeness_width, ground, eye_height)
            # The photo's own view first: it is every likeness ratio's reference. The likeness views
            # wait in `likeness` until it is done; the walk and its other views do not wait.
            likeness = _LikenessQueue(pool, pool.submit(likeness_reference, at_spawn, eyes.turned(0)))
            seen = spawn_camera(world, options.spawn_width)
            spawn_psnrs = [
                pool.submit(spawn_psnr, at_spawn, seen, False, "spawn.png"),
                pool.submit(spawn_psnr, at_spawn, seen, True, None),
                pool.submit(spawn_psnr, at_spawn, full, False, None),
            ]
            side = np.cross(heading, [0.0, 1.0, 0.0])
            spawn_views = [
                pool.submit(plain_view, at_spawn, seen.moved(offset), name)
                for name, offset in (("spawn_forward_5m.png", heading * 5.0), ("spawn_side_3m.png", side * 3.0))
            ]
            for degrees in SPAWN_HEADINGS_DEG[1:]:
                likeness.add(at_spawn, eyes.turned(degrees))
            for d in WALK_IN_M:
                likeness.add(at_spawn, eyes.at(f"walkin_{round(d):03d}m", spawn.position + heading * d))
            steps: list[tuple[float, Future[StepViews]]] = []
            for step, pose in enumerate(tqdm(poses, desc="walking", unit="step")):
                await walker.step(pose)
                travelled = float(np.linalg.norm(np.array(pose.position) - spawn.position))
                measured = step % DRIFT_EVERY_STEPS == 0
                km = _km_mark(travelled)
                in_strip = travelled % 1000.0 < STEP_M / 2 or travelled >= distance_m - STEP_M / 2
                if not (measured or in_strip or km):
                    continue
                held: HeldSet = folder.held_set(walker.held)
                if measured or in_strip:
                    steps.append((travelled, pool.submit(step_views, held, spawn, pose, measured, in_strip)))
                if km:
                    likeness.add(held, eyes.at(f"km_{km:02d}", np.array(pose.position)))
            walked_s = time.perf_counter() - started
            # Back at the spawn, on a fresh stream: the same keys must come as the same bytes.
            walked_first = dict(walker.held.first_sha256)
            await walker.close()
            back = _viewer(client, world.id, radius_m, spawn)
            await back.step(poses[0])
            await back.close()
            # While the pool renders the walk's last views: the checks made in this process.
            streamed_again = {k: v for k, v in back.held.first_sha256.items() if k in spawn_first}
            stream_identical = bool(streamed_again) and all(spawn_first[k] == v for k, v in streamed_again.items())
            sample = _regeneration_sample(walked_first)
            regenerated_identical = all(
                _sha(encode_tile(generator.generate(prepared, key), "stream", world.base_tile_m)) == walked_first[key]
                for key in sample
            )
            seams = _seam_gaps(generator, prepared, world.base_tile_m, distance_m, heading, spawn)
            spawn_psnr_db, spawn_psnr_clipped, spawn_psnr_full = (f.result() for f in spawn_psnrs)
            view_names = [f.result() for f in spawn_views]
            walked = [(d, f.result()) for d, f in steps]
            reference, entries = likeness.entries()
        finally:
            pool.close()
    view_stats = [(d, views.appearance) for d, views in walked if views.appearance is not None]
    strip = [(d, views.strip) for d, views in walked if views.strip is not None]
    payload = PhotoPayload.from_arrays(prepared.payload)
    depth = payload.depth
    finite = depth[np.isfinite(depth)]
    _save_strip(strip, out / "walk_strip.jpg")
    lift_radius = payload.lift_radius_m
    return {
        "photo_sha256": world.photo_sha256,
        "world_id": world.id,
        "generator": f"{world.generator} {world.generator_version}",
        "distance_m": distance_m,
        "spawn_psnr_db": round(spawn_psnr_db, 2),
        "spawn_psnr_clipped_db": round(spawn_psnr_clipped, 2),
        "spawn_psnr_full_db": round(spawn_psnr_full, 2),
        "spawn_full_size_px": [full.intrinsics.width, full.intrinsics.height],
        "spawn_depth_range_m": [round(float(np.percentile(finite, 5)), 2), round(float(np.percentile(finite, 95)), 2)],
        "revisit_identical": bool(stream_identical and regenerated_identical),
        "revisit": {
            "streamed_again": len(streamed_again),
            "stream_identical": stream_identical,
            "regenerated": len(sample),
            "regenerated_identical": regenerated_identical,
        },
        "seam_max_gap_m": round(max(seams.values()), 4),
        "seams": {k: round(v, 4) for k, v in seams.items()},
        "drift": _drift(view_stats, reference_start_m=2 * lift_radius),
        # Per view: distance (m), mean r, g, b, contrast, sharpness of the lower half.
        "appearance": [[round(d, 1), *(round(float(x), 5) for x in v)] for d, v in view_stats],
        "likeness": entries,
        "walk_in": [e for e in entries if e["view"].startswith("walkin_")],
        "likeness_reference": {**reference.summary(), "eye_height_m": round(eye_height, 3)},
        "radius_m": radius_m,
        "tiles_received": sum(walker.held.ever_received.values()),
        "bytes_received": walker.held.bytes_received,
        "server_errors": walker.errors,
        "views": ["spawn.png", *view_names, *(f"{e['view']}.png" for e in entries), "walk_strip.jpg"],
        "seconds": round(time.perf_counter() - started, 1),
        # How the report was run; not a figure of the world.
        "timing": {
            "processes": pool.processes,
            "walk_s": round(walked_s, 1),
            "own_cpu_s": round(_own_cpu_s() - cpu_started, 1),
        },
    }


def _viewer(client: WorldBridgeClient, world_id: str, radius_m: float, spawn: Camera) -> Walker:
    """A stream of the spawn camera's field of view and viewport, ``radius_m`` around it."""
    return Walker.open(
        client,
        world_id,
        radius_m=radius_m,
        vertical_fov_deg=spawn.intrinsics.vertical_fov_deg,
        viewport_height_px=spawn.intrinsics.height,
    )


class _LikenessQueue:
    """Likeness views in the order they are added, each sent to the pool once the reference
    (the photo's own view, rendered in the pool too) is there."""

    def __init__(self, pool: ViewPool, reference: Future[tuple[LikenessReference, dict]]) -> None:
        self.pool = pool
        self.reference = reference
        self.waiting: list[tuple[HeldSet, LikenessView]] = []
        self.sent: list[Future[dict]] = []

    def add(self, tiles: HeldSet, view: LikenessView) -> None:
        self.waiting.append((tiles, view))
        if self.reference.done():
            self._send()

    def entries(self) -> tuple[LikenessReference, list[dict]]:
        """The reference and every view's entry, the photo's own view first."""
        self._send()
        reference, own = self.reference.result()
        return reference, [own, *(job.result() for job in self.sent)]

    def _send(self) -> None:
        reference = self.reference.result()[0]
        self.sent += [self.pool.submit(likeness_view, tiles, view, reference) for tiles, view in self.waiting]
        self.waiting.clear()


def _km_mark(travelled_m: float) -> int | None:
    """The km (1, 2, ...) whose mark the walk is at after ``travelled_m``, or None between marks."""
    km = round(travelled_m / 1000.0)
    return km if km >= 1 and abs(travelled_m - 1000.0 * km) < STEP_M / 2 else None


def _full_size(width: int, height: int, max_pixels: int) -> tuple[int, int]:
    """The photo's resolution, downscaled (aspect kept) only when above ``max_pixels``."""
    if width * height <= max_pixels:
        return width, height
    scale = math.sqrt(max_pixels / (width * height))
    return max(1, math.floor(width * scale)), max(1, math.floor(height * scale))


class EyeCameras:
    """The likeness views' cameras: from eye height (the ground under the eye, from the
    generator, plus the photo's camera height) with the photo's field of view, pitch and roll,
    ``width`` pixels across."""

    def __init__(self, spawn: Camera, width: int, ground: GroundSampler, eye_height: float) -> None:
        k = spawn.intrinsics
        self.spawn = spawn.with_intrinsics(k.scaled(width, max(1, round(k.height * width / k.width))))
        self.ground = ground
        self.eye_height = eye_height

    def turned(self, degrees: int) -> LikenessView:
        """The spawn turned to the right by ``degrees`` (0: the photo's own view)."""
        return LikenessView(f"spawn_{degrees:03d}", turned(self.spawn, degrees))

    def at(self, name: str, position: np.ndarray) -> LikenessView:
        """The photo's view direction from eye height above ``position`` (its x and z)."""
        x, z = float(position[0]), float(position[2])
        eye = np.array([x, self.ground.height(x, z) + self.eye_height, z])
        return LikenessView(name, Camera(self.spawn.intrinsics, eye, self.spawn.rotation))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _drift(stats: list[tuple[float, np.ndarray]], reference_start_m: float) -> dict:
    """Per statistic, the trend per km relative to its mean over the first km of continuation:
    the least-squares slope over every view from ``reference_start_m`` on (a slope, not the
    difference of two noisy km means, so view-to-view texture noise does not read as drift)."""
    distances = np.array([d for d, _ in stats])
    values = np.array([v for _, v in stats])
    walked = distances >= reference_start_m
    reference = walked & (distances < reference_start_m + 1000.0)
    if reference.sum() < 2 or distances.max() < reference_start_m + 2000.0:
        return {"note": "walk too short for a per-km drift figure (needs 2 km past the lifted photo)"}
    base = values[reference].mean(axis=0)
    km = distances[walked] / 1000.0
    slopes = np.polyfit(km, values[walked], 1)[0]  # per statistic, units per km
    relative = np.abs(slopes) / np.maximum(np.abs(base), 1e-6)
    return {
        "mean_colour_per_km": round(float(relative[:3].max()), 4),
        "contrast_per_km": round(float(relative[3]), 4),
        "sharpness_per_km": round(float(relative[4]), 4),
        "reference_km_starts_m": round(reference_start_m, 1),
        "views": int(walked.sum()),
    }


def _regeneration_sample(first: dict[TileKey, str]) -> list[TileKey]:
    keys = sorted(first, key=lambda k: (k.iz, k.ix, k.lod))
    step = max(1, len(keys) // REGENERATE_SAMPLE)
    return keys[::step][:REGENERATE_SAMPLE]


def _seam_gaps(
    generator: PhotoGenerator, prepared: object, base: float, distance_m: float, heading: np.ndarray, spawn: Camera
) -> dict[str, float]:
    """Widest under-opaque stretch along borders: at the spawn, far out, and LOD 0 against LOD 1."""
    far = spawn.position + heading * distance_m
    near_key = tile_at(float(spawn.position[0]), float(spawn.position[2]) - 40.0, 0, base)
    far_key = tile_at(float(far[0]), float(far[2]), 0, base)
    lod1 = far_key.parent()
    # A LOD-0 tile just outside the LOD-1 tile, sharing a border with it.
    outside = TileKey(0, lod1.ix * 2 - 1, lod1.iz * 2)
    cases = {
        "lod0_lod0_spawn": (near_key, TileKey(0, near_key.ix + 1, near_key.iz), "x"),
        "lod0_lod0_far": (far_key, TileKey(0, far_key.ix, far_key.iz + 1), "z"),
        "lod0_lod1_far": (outside, lod1, "x"),
    }
    gaps = {}
    for name, (a, b, axis) in cases.items():
        cloud = SplatCloud.concat([generator.generate(prepared, a).splats, generator.generate(prepared, b).splats])  # type: ignore[arg-type]
        gaps[name] = _border_gap(cloud, a, axis, base)
    return gaps


def _border_gap(cloud: SplatCloud, key: TileKey, axis: str, base: float) -> float:
    """Render straight down onto the border of ``key`` on its +x (axis "x") or +z side; return the
    longest run, in metres, of border pixels under SEAM_OPACITY (2 m kept clear of each end)."""
    x0, z0, x1, z1 = key.bounds(base)
    edge = x1 - x0
    pixels = 512
    height = 400.0
    fov = 2 * math.degrees(math.atan(edge * 0.6 / height))
    k = Intrinsics.from_vertical_fov(fov, pixels, pixels)
    centre = (x1, height, (z0 + z1) / 2) if axis == "x" else ((x0 + x1) / 2, height, z1)
    camera = Camera.looking(centre, (0.0, -1.0, 0.0), k, up=(0.0, 0.0, -1.0))
    alpha = render(cloud, camera, (0.0, 0.0, 0.0)).alpha
    metres_per_px = 2 * height * math.tan(math.radians(fov) / 2) / pixels
    # The border runs through the image centre: vertically for an x border, horizontally for z.
    line = alpha[:, pixels // 2] if axis == "x" else alpha[pixels // 2, :]
    margin = math.ceil(2.0 / metres_per_px)
    span = round(edge / metres_per_px / 2)
    segment = line[pixels // 2 - span + margin : pixels // 2 + span - margin]
    longest = run = 0
    for thin in segment < SEAM_OPACITY:
        run = run + 1 if thin else 0
        longest = max(longest, run)
    return longest * metres_per_px


def _save_strip(strip: list[tuple[float, np.ndarray]], path: Path) -> None:
    if not strip:
        return
    images = [np.clip(img * 255, 0, 255).astype(np.uint8) for _, img in strip]
    labels = [f"{d / 1000:.1f} km" for d, _ in strip]
    Image.fromarray(side_by_side([i.astype(np.float32) / 255 for i in images], labels)).save(path, quality=85)
