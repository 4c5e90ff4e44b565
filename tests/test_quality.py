"""The quality report, run for real (server, client, renderer) on a short walk; its likeness figures."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bridge.client.players import ground_heading
from bridge.formats.colour import srgb_to_lab
from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions, PreparedWorld
from bridge.generate.photo import PhotoGenerator
from bridge.likeness import (
    LAB_BINS,
    REFERENCES_FILE,
    GroundSampler,
    LikenessReference,
    colour_emd,
    colour_references,
    colour_scale,
    covered_above_horizon,
    lab_histogram,
    reference_document,
    save_rgba,
    sharpness,
    standard_cloud,
    turned,
)
from bridge.quality import SPAWN_HEADINGS_DEG, WALK_IN_M, QualityOptions, run_quality
from bridge.render.images import psnr, resize_area
from bridge.render.rasterize import RenderResult, render
from bridge.render.sky import sky_background
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey, tiles_in_radius
from bridge.world.photos import decode_photo
from tests.conftest import PHOTOS, photo_path

LIKENESS_WIDTH = 96  # pixels: small views keep the report fast; the figures are ratios at any size
FULL_MAX_PIXELS = 60_000


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("quality")
    options = QualityOptions(
        photo=photo_path("lyra2_00"),
        distance_m=600.0,  # short of the first km: km views are tested below, without a walk
        out_dir=out,
        workers=2,
        radius_m=96.0,
        likeness_width=LIKENESS_WIDTH,
        full_max_pixels=FULL_MAX_PIXELS,
    )
    return run_quality(options), out


@pytest.fixture(scope="module")
def lyra2_00() -> tuple[np.ndarray, PhotoGenerator, PreparedWorld]:
    photo = decode_photo(photo_path("lyra2_00").read_bytes())
    generator = PhotoGenerator()
    return photo, generator, generator.prepare(photo, GeneratorOptions())


@pytest.mark.timeout(1200)
def test_quality_report_on_a_short_walk(report: tuple[dict, Path]) -> None:
    report, out = report
    # The first view is the photo (this one measures ~36 dB; a broken lift scores 10-25 dB).
    assert report["spawn_psnr_db"] > 30.0
    # 3D, not a billboard: the lifted depths spread over an order of magnitude.
    near, far = report["spawn_depth_range_m"]
    assert far / near > 5.0
    assert report["revisit_identical"] is True
    assert report["revisit"]["streamed_again"] > 10 and report["revisit"]["regenerated"] > 10
    # Continuation ground closes over tile borders, at one LOD and between LODs.
    assert report["seams"]["lod0_lod0_far"] < 0.01
    assert report["seams"]["lod0_lod1_far"] < 0.01
    assert report["server_errors"] == []
    for name in report["views"]:
        assert (out / name).stat().st_size > (1000 if name.endswith(".png") and name != "spawn.png" else 10_000)


@pytest.mark.timeout(1200)
def test_report_likeness_views(report: tuple[dict, Path], lyra2_00: tuple) -> None:
    report, out = report
    _, generator, prepared = lyra2_00
    names = [e["view"] for e in report["likeness"]]
    expected = [f"spawn_{d:03d}" for d in SPAWN_HEADINGS_DEG] + [f"walkin_{round(d):03d}m" for d in WALK_IN_M]
    assert names == expected
    assert [e["view"] for e in report["walk_in"]] == ["walkin_010m", "walkin_020m", "walkin_050m"]
    # The photo's own view is the reference of structure: 1 by construction, for a photo with
    # something standing above its horizon (lyra2_00's trees).
    assert report["likeness_reference"]["structure_exempt"] is None
    first = report["likeness"][0]
    assert first["structure_ratio"] == 1.0
    assert report["likeness_reference"]["colour_references"] == len(colour_references()) - 1
    for entry in report["likeness"]:
        assert entry["sharpness_ratio"] > 0.0 and math.isfinite(entry["sharpness_ratio"])
        assert entry["colour_distance"] >= 0.0 and entry["structure_ratio"] is not None

    # Each view is an RGBA PNG whose alpha recomputes the report's coverage (through the camera
    # rebuilt here: the spawn, scaled, turned).
    spawn = prepared.spawn
    k = spawn.intrinsics.scaled(
        LIKENESS_WIDTH, round(spawn.intrinsics.height * LIKENESS_WIDTH / spawn.intrinsics.width)
    )
    for entry in report["likeness"]:
        picture = Image.open(out / f"{entry['view']}.png")
        assert picture.mode == "RGBA" and picture.size == (k.width, k.height)
    for entry in report["likeness"][:8]:
        degrees = int(entry["view"].split("_")[1])
        camera = turned(spawn.with_intrinsics(k), degrees)
        alpha = np.asarray(Image.open(out / f"{entry['view']}.png"))[..., 3] / 255.0
        assert covered_above_horizon(alpha, camera) == pytest.approx(entry["covered_above_horizon"], abs=1e-4)

    # Every view's eye is the photo's camera height above the ground under it.
    ground = GroundSampler(generator, prepared)
    eye_height = report["likeness_reference"]["eye_height_m"]
    assert eye_height == pytest.approx(
        spawn.position[1] - ground.height(spawn.position[0], spawn.position[2]), abs=1e-3
    )
    heading = ground_heading(spawn.forward)
    for entry, forward_m in zip(report["likeness"][8:], WALK_IN_M, strict=True):
        x, y, z = entry["eye_m"]
        assert [x, z] == pytest.approx([*(spawn.position + heading * forward_m)[[0, 2]]], abs=0.01)
        assert y == pytest.approx(ground.height(x, z) + eye_height, abs=0.01)


@pytest.mark.timeout(1200)
def test_report_spawn_psnr_variants(report: tuple[dict, Path], lyra2_00: tuple) -> None:
    report, _ = report
    photo, _, prepared = lyra2_00
    width, height = report["spawn_full_size_px"]
    assert width * height <= FULL_MAX_PIXELS and abs(width / height - photo.shape[1] / photo.shape[0]) < 0.02
    # The full-resolution view shows the world, not the sky alone drawn through a camera.
    k = prepared.spawn.intrinsics.scaled(width, height)
    sky_only = sky_background(prepared.sky.panorama, prepared.spawn.with_intrinsics(k))
    assert report["spawn_psnr_full_db"] > psnr(sky_only, resize_area(photo, width, height)) + 3.0
    # The colour solve fits the unclipped colours at this view: clipping them can only lose.
    assert report["spawn_psnr_clipped_db"] <= report["spawn_psnr_db"] + 0.05


# ---------------------------------------------------------------------------------------------
# The likeness figures, on real photos and made-up clouds
# ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lyra2_06_spawn() -> tuple[np.ndarray, PreparedWorld, SplatCloud, Camera, RenderResult]:
    """lyra2_06 (a street with houses), its tiles within 40 m of the spawn, the spawn at 96 px and
    its render."""
    photo = decode_photo(photo_path("lyra2_06").read_bytes())
    generator = PhotoGenerator()
    world = generator.prepare(photo, GeneratorOptions())
    spawn = world.spawn
    keys = tiles_in_radius(float(spawn.position[0]), float(spawn.position[2]), 40.0, 0, world.options.base_tile_m)
    cloud = SplatCloud.concat([generator.generate(world, key).splats for key in keys])
    k = spawn.intrinsics
    camera = spawn.with_intrinsics(k.scaled(96, round(k.height * 96 / k.width)))
    return photo, world, cloud, camera, render(cloud, camera, sky_background(world.sky.panorama, camera))


def test_structure_sharpness_and_colour_of_the_photos_view_and_of_an_empty_world(lyra2_06_spawn: tuple) -> None:
    photo, world, _, camera, own = lyra2_06_spawn
    reference = LikenessReference.of(photo, own, camera)
    assert reference.structure_exempt is None  # its houses stand above the horizon
    figures = reference.figures("spawn_000", own, camera)
    assert figures["structure_ratio"] == 1.0
    # An empty world is the sky panorama alone: nothing standing, smooth, and unlike the photo.
    empty = render(SplatCloud.empty(), camera, sky_background(world.sky.panorama, camera))
    nothing = reference.figures("empty", empty, camera)
    assert nothing["structure_ratio"] == 0.0
    assert nothing["sharpness_ratio"] < 0.5 * figures["sharpness_ratio"]
    assert nothing["colour_distance"] > 2 * figures["colour_distance"]


def test_structure_is_exempt_for_a_flat_plain() -> None:
    """A photo of a plain has nothing above its horizon to compare to; a wall on it has."""
    xs, zs = np.meshgrid(np.arange(-200.0, 200.0, 1.0), np.arange(-400.0, 5.0, 1.0))
    n = xs.size
    plain = SplatCloud.from_arrays(
        np.stack([xs.ravel(), np.zeros(n), zs.ravel()], 1),
        np.tile([0.6, 0.01, 0.6], (n, 1)),
        np.tile([1.0, 0.0, 0.0, 0.0], (n, 1)),
        np.full(n, 0.95),
        np.tile([0.3, 0.5, 0.2], (n, 1)),
    )
    camera = Camera.looking((0.0, 1.7, 0.0), (0.0, -0.1, -1.0), Intrinsics.from_vertical_fov(50.0, 96, 64))
    photo = np.full((64, 96, 3), 120, np.uint8)
    view = render(plain, camera, (0.6, 0.7, 0.9))
    reference = LikenessReference.of(photo, view, camera)
    assert reference.structure_exempt is not None
    assert reference.figures("spawn_000", view, camera)["structure_ratio"] is None
    wx, wy = np.meshgrid(np.arange(-30.0, 30.0, 0.5), np.arange(0.0, 12.0, 0.5))
    wall = SplatCloud.from_arrays(
        np.stack([wx.ravel(), wy.ravel(), np.full(wx.size, -30.0)], 1),
        np.tile([0.4, 0.4, 0.02], (wx.size, 1)),
        np.tile([1.0, 0.0, 0.0, 0.0], (wx.size, 1)),
        np.full(wx.size, 0.95),
        np.tile([0.6, 0.4, 0.3], (wx.size, 1)),
    )
    standing = render(SplatCloud.concat([plain, wall]), camera, (0.6, 0.7, 0.9))
    assert LikenessReference.of(photo, standing, camera).structure_exempt is None


def test_rgba_picture_alpha_is_the_renders_accumulated_opacity(lyra2_06_spawn: tuple, tmp_path: Path) -> None:
    *_, view = lyra2_06_spawn
    rgba = np.asarray(Image.open(save_rgba(view, tmp_path / "view.png")), np.float64) / 255.0
    assert rgba.shape == (*view.alpha.shape, 4)
    assert (view.alpha < 0.01).any() and (view.alpha > 0.99).any()  # sky and what stands, both there
    assert np.abs(rgba[..., 3] - view.alpha).max() <= 0.5 / 255 + 1e-6
    assert np.abs(rgba[..., :3] - view.image).max() <= 0.5 / 255 + 1e-6


def test_standard_cloud_clips_colours_and_caps_opacity() -> None:
    camera = Camera.looking((0.0, 0.0, 0.0), (0.0, 0.0, -1.0), Intrinsics.from_vertical_fov(40.0, 48, 32))

    def layers(front_colour: float, back_opacity: float) -> SplatCloud:
        # A half-opaque sheet in front of a dark one: the front's colour may stray above 1 (as a
        # colour fit asks for, to make 0.65 out of 1.3 * 0.5 over black).
        return SplatCloud.from_arrays(
            [[0.0, 0.0, -5.0], [0.0, 0.0, -8.0]],
            [[5.0, 5.0, 0.01], [8.0, 8.0, 0.01]],
            [[1.0, 0.0, 0.0, 0.0]] * 2,
            [0.5, back_opacity],
            [[front_colour] * 3, [0.0] * 3],
        )

    # Colours in range and opacities under the cap: drawn exactly as the renderer draws them.
    plain = layers(0.8, 0.9)
    assert np.array_equal(render(standard_cloud(plain), camera).image, render(plain, camera).image)
    assert np.array_equal(render(standard_cloud(plain), camera).alpha, render(plain, camera).alpha)
    # A fully opaque splat lets less of the sky through once capped.
    opaque = layers(0.8, 1.0)
    assert render(standard_cloud(opaque), camera).alpha.max() < render(opaque, camera).alpha.max()
    # Out-of-range colours: the clipped render is further from what the fit wanted.
    stray = layers(1.3, 0.9)
    target = render(stray, camera).image
    assert psnr(render(standard_cloud(stray), camera).image, target) < 40.0 <= psnr(render(stray, camera).image, target)


def test_colour_distance_of_a_photo_to_itself_and_to_another() -> None:
    # CIELAB of known sRGB colours (D65): white, black, pure red.
    lab = srgb_to_lab(np.array([[255, 255, 255], [0, 0, 0], [255, 0, 0]], np.uint8))
    assert lab == pytest.approx(np.array([[100.0, 0.0, 0.0], [0.0, 0.0, 0.0], [53.24, 80.09, 67.20]]), abs=0.02)
    six = decode_photo(photo_path("lyra2_06").read_bytes())
    two = decode_photo(photo_path("lyra2_02").read_bytes())
    assert colour_emd(lab_histogram(six), lab_histogram(six)) == 0.0
    assert colour_emd(lab_histogram(six), lab_histogram(two)) > 1.0  # CIELAB units
    # One histogram's mass moved by one bin in L* costs one bin width.
    shifted = [np.roll(h, 1) if c == 0 else h for c, h in enumerate(lab_histogram(np.full((8, 8, 3), 128, np.uint8)))]
    width = (LAB_BINS[0][1] - LAB_BINS[0][0]) / LAB_BINS[0][2]
    assert colour_emd(lab_histogram(np.full((8, 8, 3), 128, np.uint8)), shifted) == pytest.approx(width)
    # A sample photo is left out of its own median; any other photo is measured against all ten.
    scale, count = colour_scale(six)
    assert count == len(colour_references()) - 1 and scale > 0
    edited = six.copy()
    edited[0, 0] = 255 - edited[0, 0]
    assert colour_scale(edited)[1] == len(colour_references())


def test_shipped_colour_references_are_the_sample_photos() -> None:
    photos = sorted(PHOTOS.glob("lyra2_*.png"))
    if not photos:
        pytest.skip(f"sample photos not found at {PHOTOS}")
    fresh = reference_document({p.stem: decode_photo(p.read_bytes()) for p in photos})
    shipped = json.loads((Path(__file__).resolve().parents[1] / "bridge" / "assets" / REFERENCES_FILE).read_text())
    assert shipped["bins"] == fresh["bins"]
    assert shipped["photos"] == fresh["photos"], "rerun scripts/colour_references.py"


def test_sharpness_sees_detail_not_flat_colour() -> None:
    rng = np.random.default_rng(0)
    noise = rng.random((64, 64, 3)).astype(np.float32)
    assert sharpness(np.full((64, 64, 3), 0.5, np.float32)) == 0.0
    assert sharpness(noise) > 0.05


def test_ground_sampler_interpolates_the_tiles_heights(lyra2_00: tuple) -> None:
    _, generator, world = lyra2_00
    ground = GroundSampler(generator, world)
    base = world.options.base_tile_m
    key = TileKey(0, 3, -40)  # out in the continuation, where the terrain has relief
    heights = generator.generate(world, key).heights
    cells = heights.shape[0] - 1
    x0, z0, _, _ = key.bounds(base)
    step = base / cells
    assert np.ptp(heights) > 0.0
    for r, c in ((0, 0), (5, 9), (cells - 1, 17)):
        assert ground.height(x0 + c * step, z0 + r * step) == pytest.approx(float(heights[r, c]), abs=1e-5)
    # Half-way between four samples: their mean; across the tile's border: continuous.
    mid = ground.height(x0 + 5.5 * step, z0 + 9.5 * step)
    assert mid == pytest.approx(float(heights[9:11, 5:7].mean()), abs=1e-5)
    x1 = x0 + base
    assert ground.height(x1 - 1e-6, z0 + 7.3 * step) == pytest.approx(ground.height(x1, z0 + 7.3 * step), abs=1e-4)


def test_km_views_come_once_a_km(lyra2_00: tuple, tmp_path: Path) -> None:
    from bridge.quality.pool import ReportContext, ViewPool
    from bridge.quality.report import STEP_M, EyeCameras, _km_mark
    from bridge.quality.views import likeness_reference, likeness_view

    marks = [(d, _km_mark(d)) for d in np.arange(0.0, 3001.0, STEP_M)]
    assert [(d, km) for d, km in marks if km] == [(1000.0, 1), (2000.0, 2), (3000.0, 3)]
    # A km view: from eye height over the ground there, looking as the photo does, written out.
    photo, generator, world = lyra2_00
    ground = GroundSampler(generator, world)
    spawn = world.spawn
    eyes = EyeCameras(spawn, 32, ground, 1.5)
    pool = ViewPool(ReportContext(tmp_path / "tiles", tmp_path, world.sky.panorama, photo), processes=1)
    reference, _ = pool.submit(likeness_reference, (), eyes.turned(0)).result()
    position = spawn.position + ground_heading(spawn.forward) * 1000.0
    entry = pool.submit(likeness_view, (), eyes.at("km_01", position), reference).result()
    assert entry["view"] == "km_01"
    assert entry["eye_m"][1] == pytest.approx(ground.height(position[0], position[2]) + 1.5, abs=0.01)
    assert Image.open(tmp_path / "km_01.png").size == (32, round(32 * spawn.intrinsics.height / spawn.intrinsics.width))


def test_turned_keeps_pitch_and_turns_right() -> None:
    camera = Camera.looking((1.0, 2.0, 3.0), (0.0, -0.2, -1.0), Intrinsics.from_vertical_fov(50.0, 64, 48))
    right = turned(camera, 90.0)
    assert right.forward[1] == pytest.approx(camera.forward[1])
    assert right.forward[0] > 0.9 and abs(right.forward[2]) < 1e-9  # -Z turned right is +X
    assert np.allclose(turned(camera, 0.0).rotation, camera.rotation)
    around = camera
    for _ in range(8):
        around = turned(around, 45.0)
    assert np.allclose(around.rotation, camera.rotation)


def test_drift_measures_a_trend_and_ignores_view_noise() -> None:
    from bridge.quality.report import _drift

    rng = np.random.default_rng(0)
    base = np.array([0.5, 0.4, 0.3, 0.2, 0.1])
    distances = np.arange(0.0, 10_001.0, 100.0)
    noisy = [(d, base * (1 + 0.02 * rng.standard_normal(5))) for d in distances]
    assert max(v for k, v in _drift(noisy, 200.0).items() if k.endswith("per_km")) < 0.005
    drifting = [(d, base * (1 + 0.03 * d / 1000)) for d in distances]
    assert 0.025 < _drift(drifting, 200.0)["sharpness_per_km"] < 0.031
    assert "note" in _drift([(d, base) for d in distances[:15]], 200.0)
