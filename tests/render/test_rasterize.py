"""The splat rasteriser (bridge.render.rasterize) and the image helpers (bridge.render.images)."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

import bridge.render as render_pkg
import bridge.render.rasterize as rasterize
from bridge.formats.splats import SplatCloud, identity_rotations
from bridge.render import RenderResult, render
from bridge.render.blend import blend_weights
from bridge.render.images import psnr, resize_area, save_png, side_by_side, to_uint8
from bridge.render.rasterize import (
    ALPHA_THRESHOLD,
    EPS2D,
    MAX_ALPHA,
    _render_reference,
    render_torch,
)
from bridge.world.camera import Camera, Intrinsics

TOL = 1e-4


def _camera(width: int = 64, height: int = 48, **kw: float) -> Camera:
    intr = Intrinsics.from_vertical_fov(60.0, width, height)
    if kw:
        intr = Intrinsics(width, height, kw["fx"], kw["fy"], kw["cx"], kw["cy"])
    return Camera.looking((0.0, 0.0, 0.0), (0.0, 0.0, -1.0), intr)


def _random_scene(seed: int, n: int = 300) -> SplatCloud:
    """Anisotropic, rotated splats in and around a camera at the origin looking down -Z: some behind
    it, some inside the near plane, some off-screen but reaching in, and an opaque wall of large
    splats so that pixels run into the transmittance stop."""
    rng = np.random.default_rng(seed)
    n_wall = 40
    n_free = n - n_wall
    z = rng.uniform(-12.0, 1.5, n_free)  # z > 0 is behind the camera
    spread = np.abs(z) + 0.5
    x = rng.uniform(-1.0, 1.0, n_free) * spread * 0.9
    y = rng.uniform(-1.0, 1.0, n_free) * spread * 0.7
    scales = np.exp(rng.uniform(np.log(0.01), np.log(0.8), (n_free, 3)))
    scales[rng.random(n_free) < 0.1, 2] = 0.0  # flat discs: eps2d must keep them rasterisable
    opacity = rng.uniform(0.0, 1.0, n_free)
    opacity[rng.random(n_free) < 0.25] = 1.0

    wall_pos = np.stack(
        [rng.uniform(-3, 3, n_wall), rng.uniform(-2, 2, n_wall), rng.uniform(-6.2, -5.8, n_wall)], axis=1
    )
    wall_scales = np.stack(
        [rng.uniform(0.5, 1.5, n_wall), rng.uniform(0.5, 1.5, n_wall), np.full(n_wall, 0.05)], axis=1
    )
    positions = np.concatenate([np.stack([x, y, z], axis=1), wall_pos])
    return SplatCloud.from_arrays(
        positions=positions,
        scales=np.concatenate([scales, wall_scales]),
        rotations=rng.normal(size=(n, 4)) * rng.uniform(0.5, 2.0, (n, 1)),  # not unit: renderers normalise
        opacities=np.concatenate([opacity, np.ones(n_wall)]),
        colors=rng.uniform(-0.1, 1.1, (n, 3)),  # a little out of range, as colour fits produce
    )


def _isotropic(position: tuple[float, float, float], scale: float, opacity: float, color: tuple) -> SplatCloud:
    return SplatCloud.from_arrays(
        np.array([position]), np.full((1, 3), scale), identity_rotations(1), np.array([opacity]), np.array([color])
    )


# -- the fast path against the plain reference ----------------------------------------------------

CAMERAS = {
    "centred": lambda: _camera(),
    "off-centre": lambda: _camera(fx=50.0, fy=58.0, cx=29.3, cy=26.7),
    "tilted": lambda: Camera.looking((0.4, 0.3, 0.5), (0.2, -0.15, -1.0), Intrinsics.from_vertical_fov(70, 64, 48)),
}


@pytest.mark.parametrize(("seed", "camera_name"), [(0, "centred"), (1, "off-centre"), (2, "tilted"), (3, "centred")])
def test_fast_path_matches_reference(seed: int, camera_name: str) -> None:
    splats = _random_scene(seed)
    camera = CAMERAS[camera_name]()
    rng = np.random.default_rng(100 + seed)
    background = rng.uniform(0, 1, (48, 64, 3)).astype(np.float32)

    fast = render_torch(splats, camera, background)
    ref = _render_reference(splats, camera, background)

    # The scene exercises what it should: culling behind the camera, off-screen splats, saturation.
    _, depth = camera.project(splats.positions.astype(np.float64))
    assert (depth < 0).sum() > 10
    assert ref.alpha.max() > 0.999  # some pixel met the 1e-4 transmittance stop
    assert (ref.alpha == 0).sum() < ref.alpha.size  # and something was drawn

    assert np.abs(fast.image - ref.image).max() <= TOL
    assert np.abs(fast.alpha - ref.alpha).max() <= TOL
    depth_scale = float(max(ref.depth.max(), 1.0))
    assert np.abs(fast.depth * fast.alpha - ref.depth * ref.alpha).max() <= TOL * depth_scale


def test_blend_weights_are_the_linear_map_of_the_render() -> None:
    # pixel = sum(weight * colour) + (1 - sum(weight)) * background, splat indices into the input.
    splats = _random_scene(8)
    camera = _camera()
    pixel, splat, weight = blend_weights(splats, camera)  # numpy, no torch: held to the torch render
    colors = np.clip(splats.colors, 0.0, 1.0)  # in range, so the render's final clamp is a no-op
    clean = SplatCloud.from_arrays(splats.positions, splats.scales, splats.rotations, splats.opacities, colors)
    result = render_torch(clean, camera)
    image = np.zeros((48 * 64, 3))
    np.add.at(image, pixel, weight[:, None] * colors[splat])
    alpha = np.bincount(pixel, weights=weight, minlength=48 * 64)
    assert np.abs(image.reshape(48, 64, 3) - result.image).max() <= 1e-5
    assert np.abs(alpha.reshape(48, 64) - result.alpha).max() <= 1e-5


def test_chunking_does_not_change_the_result() -> None:
    splats = _random_scene(7, n=400)
    camera = _camera()
    whole = render_torch(splats, camera)
    chunked = render_torch(splats, camera, chunk_pairs=4000)  # ~40 chunks, carried transmittance
    assert np.abs(whole.image - chunked.image).max() <= 1e-6
    assert np.abs(whole.alpha - chunked.alpha).max() <= 1e-6
    assert np.abs(whole.depth - chunked.depth).max() <= 1e-5


# -- analytic checks -------------------------------------------------------------------------------


def test_isotropic_splat_footprint_matches_the_analytic_gaussian() -> None:
    # On the optical axis the EWA Jacobian is exactly f/z, so the footprint is a circular Gaussian
    # of variance (f s / z)² + eps2d px² centred on the principal point.
    f, z, s, opacity = 40.0, 4.0, 0.25, 0.7
    camera = _camera(fx=f, fy=f, cx=32.0, cy=24.0)
    result = render_torch(_isotropic((0.0, 0.0, -z), s, opacity, (1.0, 1.0, 1.0)), camera)

    var = (f * s / z) ** 2 + EPS2D
    jj, ii = np.meshgrid(np.arange(64) + 0.5, np.arange(48) + 0.5)
    expected = np.minimum(MAX_ALPHA, opacity * np.exp(-0.5 * ((jj - 32.0) ** 2 + (ii - 24.0) ** 2) / var))
    expected[expected < ALPHA_THRESHOLD] = 0.0
    assert np.abs(result.alpha - expected).max() <= 1e-6
    assert np.abs(result.image - expected[..., None]).max() <= 1e-6  # white on black
    assert np.allclose(result.depth[expected > 0], z, atol=1e-5)
    assert (result.depth[expected == 0] == 0).all()


def test_tail_beyond_the_splats_tiles_is_cut_as_gsplat_does() -> None:
    # σ = 10 px, so the binning radius is ceil(3 sqrt(λ_max)) = 31 px; centred at u = 16.5 the
    # splat's tiles end at x = 48. Column 48 is 3.2σ out, where α is still above 1/255.
    f, z = 50.0, 5.0
    s = math.sqrt(100.0 - EPS2D) * z / f
    camera = _camera(fx=f, fy=f, cx=16.5, cy=24.0)
    result = render_torch(_isotropic((0.0, 0.0, -z), s, 1.0, (1.0, 1.0, 1.0)), camera)
    untiled = math.exp(-0.5 * 3.2**2)
    assert untiled > ALPHA_THRESHOLD
    assert result.alpha[23, 47] == pytest.approx(math.exp(-0.5 * (31.0**2 + 0.5**2) / 100.0), rel=1e-5)
    assert result.alpha[23, 48] == 0.0


@pytest.mark.parametrize("near_first", [True, False])
def test_opaque_near_splat_occludes_far_one_regardless_of_order(near_first: bool) -> None:
    near = _isotropic((0.0, 0.0, -2.0), 0.5, 1.0, (1.0, 0.0, 0.0))
    far = _isotropic((0.0, 0.0, -6.0), 1.5, 1.0, (0.0, 0.0, 1.0))
    cloud = SplatCloud.concat([near, far] if near_first else [far, near])
    result = render_torch(cloud, _camera())
    centre = result.image[24, 32]
    assert centre[0] > 0.98 and centre[2] < 0.02
    assert result.depth[24, 32] == pytest.approx(2.0, abs=0.05)
    other = render_torch(SplatCloud.concat([far, near] if near_first else [near, far]), _camera())
    assert np.array_equal(result.image, other.image)


def test_splats_behind_the_camera_or_off_screen_draw_nothing() -> None:
    behind = _isotropic((0.0, 0.0, 3.0), 1.0, 1.0, (1.0, 1.0, 1.0))
    too_near = _isotropic((0.0, 0.0, -0.005), 1.0, 1.0, (1.0, 1.0, 1.0))
    aside = _isotropic((50.0, 0.0, -5.0), 0.1, 1.0, (1.0, 1.0, 1.0))
    result = render_torch(SplatCloud.concat([behind, too_near, aside]), _camera(), (0.2, 0.3, 0.4))
    assert (result.alpha == 0).all()
    assert np.allclose(result.image, np.array([0.2, 0.3, 0.4], dtype=np.float32))


# -- backgrounds, edge cases, determinism ----------------------------------------------------------


def test_empty_cloud_returns_the_background() -> None:
    camera = _camera()
    flat = render(SplatCloud.empty(), camera, (0.1, 0.5, 0.9))
    assert isinstance(flat, RenderResult)
    assert flat.image.shape == (48, 64, 3) and flat.image.dtype == np.float32
    assert np.allclose(flat.image, np.array([0.1, 0.5, 0.9], dtype=np.float32))
    assert (flat.alpha == 0).all() and (flat.depth == 0).all()
    sky = np.random.default_rng(0).uniform(0, 1, (48, 64, 3)).astype(np.float32)
    assert np.array_equal(render_torch(SplatCloud.empty(), camera, sky).image, sky)


def test_per_pixel_background_shows_through_where_nothing_lands() -> None:
    camera = _camera()
    sky = np.random.default_rng(1).uniform(0, 1, (48, 64, 3)).astype(np.float32)
    splat = _isotropic((1.0, 0.5, -6.0), 0.3, 0.6, (0.0, 1.0, 0.0))
    result = render_torch(splat, camera, sky)
    empty = result.alpha == 0
    assert 0 < empty.sum() < empty.size
    assert np.array_equal(result.image[empty], sky[empty])
    covered = ~empty
    expected = np.clip(
        result.alpha[covered, None] * np.array([0.0, 1.0, 0.0]) + (1 - result.alpha[covered, None]) * sky[covered],
        0,
        1,
    )
    assert np.abs(result.image[covered] - expected).max() <= 1e-6


def test_bad_background_shape_is_refused() -> None:
    with pytest.raises(ValueError, match="background"):
        render_torch(SplatCloud.empty(), _camera(), np.zeros((10, 10, 3)))


def test_render_is_deterministic() -> None:
    splats = _random_scene(11, n=500)
    camera = _camera()
    a = render_torch(splats, camera, (0.3, 0.3, 0.3))
    b = render_torch(splats, camera, (0.3, 0.3, 0.3))
    for field in ("image", "alpha", "depth"):
        assert getattr(a, field).tobytes() == getattr(b, field).tobytes()
    assert a.image.min() >= 0.0 and a.image.max() <= 1.0


@pytest.mark.skipif(torch.cuda.is_available(), reason="render() takes the gsplat path on CUDA")
def test_render_without_cuda_is_the_torch_path() -> None:
    splats = _random_scene(5)
    camera = _camera()
    assert render(splats, camera).image.tobytes() == render_torch(splats, camera).image.tobytes()


def test_render_falls_back_to_the_cpu_when_gsplat_fails(monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object) -> RenderResult:
        raise RuntimeError("extension build failed")

    monkeypatch.setattr(rasterize, "_gsplat_available", lambda: True)
    monkeypatch.setattr(rasterize, "_render_gsplat", broken)
    monkeypatch.setattr(rasterize, "_gsplat_failed", False)
    splats = _random_scene(6)
    with pytest.warns(RuntimeWarning, match="gsplat failed"):
        first = render(splats, _camera())
    assert rasterize._gsplat_failed
    assert first.image.tobytes() == render_torch(splats, _camera()).image.tobytes()


def test_package_exports() -> None:
    for name in ("RenderResult", "render", "psnr", "save_png"):
        assert hasattr(render_pkg, name)


# -- image helpers -----------------------------------------------------------------------------------


def test_to_uint8_rounds_and_clips() -> None:
    img = np.array([[[-0.2, 0.0, 0.5], [1.0, 1.3, 0.999]]], dtype=np.float32)
    assert to_uint8(img).tolist() == [[[0, 0, 128], [255, 255, 255]]]
    raw = np.arange(6, dtype=np.uint8).reshape(1, 2, 3)
    assert to_uint8(raw) is raw


def test_psnr() -> None:
    a = np.zeros((8, 8, 3), dtype=np.float32)
    assert psnr(a, a) == math.inf
    assert psnr(a, a + 0.1) == pytest.approx(20.0, abs=1e-4)  # MSE 0.01
    assert psnr(to_uint8(a), to_uint8(a + 0.1)) == pytest.approx(20 * math.log10(255 / 26))  # 0.1 -> 26
    with pytest.raises(ValueError):
        psnr(a, a[:4])


def test_resize_area_averages_blocks() -> None:
    img = np.random.default_rng(0).uniform(0, 1, (40, 60, 3)).astype(np.float32)
    small = resize_area(img, 20, 10)
    assert small.shape == (10, 20, 3) and small.dtype == np.float32
    assert np.allclose(small, img.reshape(10, 4, 20, 3, 3).mean(axis=(1, 3)), atol=1e-6)
    assert resize_area(img[..., 0], 30, 20).shape == (20, 30)


def test_side_by_side_and_save_png(tmp_path: Path) -> None:
    photo = np.random.default_rng(0).uniform(0, 1, (60, 80, 3)).astype(np.float32)
    rendered = np.zeros((30, 40, 3), dtype=np.float32)  # half size: scaled to the photo's height
    strip = side_by_side([photo, rendered], ["photo", "render"])
    assert strip.dtype == np.uint8
    assert strip.shape[0] > 60 and strip.shape[1] >= 80 + 80 and strip.shape[2] == 3
    plain = side_by_side([photo, rendered])
    assert plain.shape[0] == 60
    with pytest.raises(ValueError):
        side_by_side([photo], ["a", "b"])

    path = save_png(strip, tmp_path / "sub" / "strip.png")
    assert np.array_equal(np.asarray(Image.open(path)), strip)


def test_culling_before_projection_keeps_every_splat_that_can_show(monkeypatch: pytest.MonkeyPatch) -> None:
    # A viewer among its tiles: splats all around it, large ones just off screen reaching in.
    rng = np.random.default_rng(11)
    n = 4000
    angle = rng.uniform(0, 2 * np.pi, n)
    distance = np.exp(rng.uniform(np.log(0.05), np.log(60.0), n))
    positions = np.stack([np.cos(angle) * distance, rng.uniform(-3, 3, n), np.sin(angle) * distance], axis=1)
    scales = np.exp(rng.uniform(np.log(0.01), np.log(6.0), (n, 3)))
    splats = SplatCloud.from_arrays(positions, scales, rng.normal(size=(n, 4)), np.ones(n), rng.uniform(0, 1, (n, 3)))
    camera = CAMERAS["tilted"]()
    cull = rasterize._maybe_visible
    kept: list[int] = []
    monkeypatch.setattr(rasterize, "_maybe_visible", lambda *args: kept.append(len(cull(*args))) or cull(*args))
    culled = rasterize._project(splats, camera)
    assert kept[0] < n * 0.7  # it does drop what lies behind and beside
    monkeypatch.setattr(rasterize, "_maybe_visible", lambda s, *_: np.arange(len(s)))
    everything = rasterize._project(splats, camera)
    np.testing.assert_array_equal(culled.source.numpy(), everything.source.numpy())
    np.testing.assert_array_equal(culled.mean2d.numpy(), everything.mean2d.numpy())
