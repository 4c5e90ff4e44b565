"""The fast path from photo to first tile: the torch-free blend weights (bridge.render.blend), the
colour solve's bounded CGLS, and the sky panorama built only where the photo reaches
(bridge.generate.photo)."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage
from scipy.optimize import lsq_linear
from scipy.sparse import csr_matrix, vstack
from scipy.sparse import random as sparse_random

from bridge.client.views import spawn_comparison
from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions, PreparedWorld
from bridge.generate.photo import PhotoGenerator, sky, solve
from bridge.generate.photo.analysis import KIND_BACKDROP, KIND_SKY, PhotoAnalysis, analyse
from bridge.generate.photo.generator import LIFT_RADIUS_M
from bridge.generate.photo.lift import lift
from bridge.render import rasterize
from bridge.render.blend import blend_weights, stable_order
from bridge.render.sky import panorama_directions
from bridge.world.camera import Camera, Intrinsics
from bridge.world.photos import decode_photo
from tests.conftest import photo_path

# The two photos whose spawn, rendered with its colours clipped, came out worst under the
# unbounded solve (lyra2_02 with the most colours below 0).
BOUNDED_PHOTOS = ("lyra2_02", "lyra2_04")


def _scene(seed: int, n: int = 400) -> SplatCloud:
    """Rotated, anisotropic splats around a camera at the origin looking down -Z: some behind it,
    some off-screen, flat discs, faint and opaque ones, and an opaque wall that ends pixels early."""
    rng = np.random.default_rng(seed)
    z = rng.uniform(-12.0, 1.5, n)
    spread = np.abs(z) + 0.5
    positions = np.stack([rng.uniform(-1, 1, n) * spread * 0.9, rng.uniform(-1, 1, n) * spread * 0.7, z], axis=1)
    positions[:60, 2] = rng.uniform(-6.2, -5.8, 60)  # the wall
    scales = np.exp(rng.uniform(np.log(0.01), np.log(0.8), (n, 3)))
    scales[rng.random(n) < 0.1, 2] = 0.0
    opacity = rng.uniform(0.0, 1.0, n)
    opacity[rng.random(n) < 0.3] = 1.0
    rotations = rng.normal(size=(n, 4))
    return SplatCloud.from_arrays(positions, scales, rotations, opacity, rng.uniform(0, 1, (n, 3)))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_numpy_blend_weights_are_the_torch_renderers_linear_map(seed: int) -> None:
    cloud = _scene(seed)
    cloud = SplatCloud.from_arrays(cloud.positions, cloud.scales, cloud.rotations, cloud.opacities, cloud.colors)
    camera = Camera.looking((0.0, 0.0, 0.0), (0.0, 0.0, -1.0), Intrinsics.from_vertical_fov(60.0, 80, 56))
    pixel, splat, weight = blend_weights(cloud, camera)
    assert pixel.size > 1000
    rendered = rasterize.render(cloud, camera, (0.0, 0.0, 0.0))
    image = np.zeros((56 * 80, 3))
    np.add.at(image, pixel, weight[:, None] * cloud.colors[splat])
    coverage = np.bincount(pixel, weights=weight, minlength=56 * 80)
    assert np.abs(image.reshape(56, 80, 3) - rendered.image).max() <= 1e-6
    assert np.abs(coverage.reshape(56, 80) - rendered.alpha).max() <= 1e-6


def test_numpy_blend_weights_of_an_empty_view() -> None:
    camera = Camera.looking((0.0, 0.0, 0.0), (0.0, 0.0, -1.0), Intrinsics.from_vertical_fov(60.0, 32, 24))
    behind = _scene(3).subset(np.arange(10))
    behind = SplatCloud.from_arrays(
        np.abs(behind.positions) + 5.0, behind.scales, behind.rotations, behind.opacities, behind.colors
    )
    pixel, splat, weight = blend_weights(behind, camera)
    assert pixel.size == splat.size == weight.size == 0


def test_stable_order_is_a_stable_argsort() -> None:
    keys = np.random.default_rng(4).integers(0, 300_000, 50_000)
    keys[::7] = keys[3]  # many ties: stability matters
    np.testing.assert_array_equal(stable_order(keys), np.argsort(keys, kind="stable"))


def _blur_system(n: int = 300) -> tuple[csr_matrix, np.ndarray]:
    """A blur-like system: a strong diagonal, sparse off-diagonal spill (conditioned for float32)."""
    spill = sparse_random(n, n, density=0.02, random_state=6)
    matrix = (spill + csr_matrix(2.0 * np.eye(n))).tocsr().astype(np.float32)
    return matrix, np.random.default_rng(5).normal(size=(3, n)).astype(np.float32)


def test_cgls_without_bounds_reaches_the_damped_least_squares_solution() -> None:
    matrix, rhs = _blur_system()
    damp = 0.05
    dense = matrix.toarray().astype(np.float64)
    exact = np.linalg.solve(dense.T @ dense + damp**2 * np.eye(dense.shape[1]), dense.T @ rhs.T.astype(np.float64)).T
    unbounded = np.full(rhs.shape, np.inf, dtype=np.float32)
    got = solve._cgls(matrix, rhs, -unbounded, unbounded, damp, (60,))
    assert got.shape == rhs.shape
    assert np.abs(got - exact).max() < 1e-3 * np.abs(exact).max()


def test_cgls_with_bounds_reaches_the_bounded_least_squares_solution() -> None:
    matrix, rhs = _blur_system()
    damp = 0.05
    # Each channel's own box around 0, tight enough that a good share of the solution lies on it.
    rng = np.random.default_rng(8)
    lower = -rng.uniform(0.05, 0.3, rhs.shape).astype(np.float32)
    upper = rng.uniform(0.05, 0.3, rhs.shape).astype(np.float32)
    damped = vstack([matrix, csr_matrix(damp * np.eye(matrix.shape[1]))]).tocsr()
    padding = np.zeros(matrix.shape[1])
    exact = np.stack(
        [
            lsq_linear(damped, np.concatenate([b, padding]), (lo, hi), tol=1e-12).x
            for b, lo, hi in zip(rhs, lower, upper, strict=True)
        ]
    )
    assert ((exact <= lower + 1e-6) | (exact >= upper - 1e-6)).mean() > 0.2
    got = solve._cgls(matrix, rhs, lower, upper, damp, (10,) * 20)
    assert np.all((got >= lower) & (got <= upper))
    assert np.abs(got - exact).max() < 1e-3 * np.abs(exact).max()


@pytest.fixture(scope="module", params=BOUNDED_PHOTOS)
def prepared(request: pytest.FixtureRequest) -> tuple[np.ndarray, PreparedWorld]:
    photo = decode_photo(photo_path(request.param).read_bytes())
    return photo, PhotoGenerator().prepare(photo, GeneratorOptions())


def test_solved_colours_lie_in_the_unit_range(prepared: tuple[np.ndarray, PreparedWorld]) -> None:
    colours = prepared[1].payload["colours"]
    assert colours.min() >= 0.0 and colours.max() <= 1.0


def test_the_spawn_rendered_clipped_stays_above_30_db(prepared: tuple[np.ndarray, PreparedWorld]) -> None:
    """The lifted photo from the spawn over its sky, as a renderer that clips colours to [0, 1] and
    caps opacity at 0.99 shows it (what standard 3DGS renderers and 8-bit formats do): above 30 dB,
    and hardly below the render as generated (only the opacity cap is left to cost anything)."""
    photo, world = prepared
    payload = world.payload
    analysis = analyse(photo, LIFT_RADIUS_M)
    cloud = lift(analysis, payload["colours"], 1, payload["extension"])
    shown = SplatCloud.from_arrays(
        cloud.positions, cloud.scales, cloud.rotations, np.minimum(cloud.opacities, 0.99), np.clip(cloud.colors, 0, 1)
    )
    raw, _ = spawn_comparison(cloud, analysis.camera, world.sky.panorama, photo)
    clipped, _ = spawn_comparison(shown, analysis.camera, world.sky.panorama, photo)
    assert clipped > 30.0
    assert raw - clipped < 0.25


def _analysis(camera: Camera, seed: int = 7) -> PhotoAnalysis:
    """A synthetic reading: a blue-ish sky over the top rows, backdrop below."""
    k = camera.intrinsics
    rng = np.random.default_rng(seed)
    image = rng.uniform(0.0, 1.0, (k.height, k.width, 3)).astype(np.float32)
    sky_mask = np.zeros((k.height, k.width), dtype=bool)
    sky_mask[: k.height // 2] = True
    image[sky_mask] = image[sky_mask] * 0.2 + np.array([0.4, 0.6, 0.9], np.float32)
    kind = np.where(sky_mask, KIND_SKY, KIND_BACKDROP).astype(np.uint8)
    depth = np.where(sky_mask, np.inf, 50.0).astype(np.float32)
    return PhotoAnalysis(image, sky_mask, k.height / 2.0, camera, depth, kind, 96.0)


def _brute_force_panorama(analysis: PhotoAnalysis) -> np.ndarray:
    """The panorama as it was built before windowing: every pixel blended explicitly."""
    elevations, colours = sky._gradient(analysis)

    def gradient(elev: np.ndarray) -> np.ndarray:
        return np.stack([np.interp(elev, elevations, colours[:, c]) for c in range(3)], axis=-1)

    camera = analysis.camera
    at_pixels = gradient(sky._elevation_deg(camera.pixel_rays()))
    photo_sky = sky._filled_sky_image(analysis, at_pixels)
    carried = sky._carried_sky(analysis, at_pixels)
    directions = panorama_directions(sky.PANORAMA_HEIGHT)
    # Every row carried round (where the photo's frame is out of reach this is the gradient).
    panorama = sky._around(camera, carried, gradient(sky._elevation_deg(directions)), directions)
    uv, depth = camera.project(directions.reshape(-1, 3) * 1e6 + camera.position)
    k = camera.intrinsics
    u, v = uv[:, 0], uv[:, 1]
    outside = np.hypot(np.maximum(0, -u) + np.maximum(0, u - k.width), np.maximum(0, -v) + np.maximum(0, v - k.height))
    weight = np.where(depth > 0, np.clip(1.0 - outside / sky.FEATHER_PX, 0.0, 1.0), 0.0)
    near = weight > 0
    samples = np.zeros((u.size, 3))
    coords = np.stack([np.clip(v[near] - 0.5, 0, k.height - 1), np.clip(u[near] - 0.5, 0, k.width - 1)])
    for c in range(3):
        samples[near, c] = ndimage.map_coordinates(photo_sky[..., c], coords, order=1)
    flat = panorama.reshape(-1, 3) * (1.0 - weight[:, None]) + samples * weight[:, None]
    return np.clip(np.round(flat.reshape(panorama.shape) * 255.0), 0, 255).astype(np.uint8)


@pytest.mark.parametrize(
    "forward",
    [
        (0.0, -0.2, -1.0),  # the spawn's usual view: a little down, towards -Z
        (0.0, 0.9, -0.3),  # steeply up: the zenith is inside the frame
        (0.6, 0.1, 1.0),  # backwards, across the panorama's +-180 degree seam
    ],
)
def test_windowed_sky_equals_the_brute_force_panorama(forward: tuple[float, float, float]) -> None:
    camera = Camera.looking((0.0, 5.0, 0.0), forward, Intrinsics.from_vertical_fov(50.0, 96, 64))
    analysis = _analysis(camera)
    got = sky.build_sky(analysis).panorama
    np.testing.assert_array_equal(got, _brute_force_panorama(analysis))
