"""The stencil's compositing weights (bridge.render.stencil) against blend's, the general path that
tests/generate/photo/test_solve.py holds to the torch renderer; the colour solve built on them; and the first
tile made from the lift the solve kept."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from bridge.formats.ply import encode_ply
from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator, solve
from bridge.generate.photo.analysis import KIND_SKY, PhotoAnalysis, analyse
from bridge.generate.photo.lift import lift
from bridge.render import stencil
from bridge.render.blend import _footprint_table, blend_weights
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey
from tests.conftest import photo_path
from tests.generate.photo.test_solve import _scene


def _photo(name: str, width: int = 160) -> np.ndarray:
    """A sample photo at ``width`` pixels (the analysis never upsamples: it is read at this size)."""
    photo = Image.open(photo_path(name)).convert("RGB")
    return np.asarray(photo.resize((width, round(photo.height * width / photo.width)), Image.Resampling.BOX))


def _lifted(name: str) -> tuple[PhotoAnalysis, SplatCloud]:
    """A small sample photo lifted at full resolution, apron included."""
    analysis = analyse(_photo(name), 96.0)
    return analysis, lift(analysis, analysis.image, 1, analysis.image)


def _maps(cloud: SplatCloud, camera: Camera, pixels: np.ndarray) -> tuple[dict, dict]:
    """{(pixel, splat): weight} of blend (on ``pixels``) and of the stencil."""
    pixel, splat, weight = blend_weights(cloud, camera)
    on = np.isin(pixel, pixels)
    blended = dict(zip(zip(pixel[on].tolist(), splat[on].tolist(), strict=True), weight[on].tolist(), strict=True))
    rows, indptr, splat, weight = stencil.stencil_weights(cloud, camera, pixels)
    pixel = pixels[np.repeat(rows, np.diff(indptr))]
    stenciled = dict(zip(zip(pixel.tolist(), splat.tolist(), strict=True), weight.tolist(), strict=True))
    return blended, stenciled


def _assert_same_map(blended: dict, stenciled: dict, pixels: np.ndarray, cloud: SplatCloud) -> None:
    # α is float32 within the stencil: a pair at the 1/255 threshold, or at the transmittance
    # cut-off, may fall the other way, but only with a negligible weight.
    for pair in blended.keys() ^ stenciled.keys():
        assert blended.get(pair, 0.0) + stenciled.get(pair, 0.0) < 1e-4, pair
    common = list(blended.keys() & stenciled.keys())
    assert len(common) > 0.999 * len(blended)
    assert max(abs(blended[p] - stenciled[p]) for p in common) < 1e-5
    # The same render of random colours, pixel by pixel, and the same splat dominating each pixel.
    colours = np.random.default_rng(0).uniform(0.0, 1.0, (len(cloud), 3))
    rows = {int(p): i for i, p in enumerate(pixels)}
    renders, dominant = [], []
    for weights in (blended, stenciled):
        image = np.zeros((pixels.shape[0], 3))
        best = np.zeros(pixels.shape[0])
        top = np.full(pixels.shape[0], -1)
        for (pixel, splat), weight in weights.items():
            image[rows[pixel]] += weight * colours[splat]
            if weight > best[rows[pixel]]:
                best[rows[pixel]], top[rows[pixel]] = weight, splat
        renders.append(image)
        dominant.append(top)
    assert np.abs(renders[0] - renders[1]).max() < 1e-4
    assert np.mean(dominant[0] == dominant[1]) > 0.999


@pytest.mark.parametrize("name", ["lyra2_00", "lyra2_06"])
def test_stencil_weights_are_blends_on_a_lifted_photo(name: str) -> None:
    analysis, cloud = _lifted(name)
    camera = analysis.camera
    k = camera.intrinsics
    pixels = np.flatnonzero((analysis.kind != KIND_SKY).ravel())
    # Both paths are exercised: most splats on the grid, a few off it (the apron, wider footprints).
    table = _footprint_table(cloud, camera)
    rank = np.empty(table["order"].shape[0], dtype=np.int64)
    rank[table["order"]] = np.arange(rank.shape[0])
    on_grid, _ = stencil._grid_splats(table, rank, k.width, k.height)
    assert on_grid.mean() > 0.8 and not on_grid.all()
    blended, stenciled = _maps(cloud, camera, pixels)
    _assert_same_map(blended, stenciled, pixels, cloud)


def _on_pixels(camera: Camera, seed: int, n: int) -> SplatCloud:
    """Splats centred on pixel centres at random depths, about a pixel across on screen (as lifted
    ones are), in random orientations; each pixel's twin lies 1 % farther along the same ray."""
    rng = np.random.default_rng(seed)
    k = camera.intrinsics
    u = rng.integers(0, k.width, n) + 0.5
    v = rng.integers(0, k.height, n) + 0.5
    depth = np.repeat(rng.uniform(2.0, 10.0, n)[None], 2, axis=0) * np.array([[1.0], [1.01]])
    rays = camera.rays_through(u, v)
    positions = (camera.position + rays[None] * depth[..., None]).reshape(-1, 3)
    scales = np.stack([0.6, 0.4, 0.05], axis=-1) * (depth.reshape(-1, 1) / k.fx)
    rotations = rng.normal(size=(2 * n, 4))
    opacity = np.where(rng.random(2 * n) < 0.2, rng.uniform(0.05, 1.0, 2 * n), 1.0)
    return SplatCloud.from_arrays(positions, scales, rotations, opacity, rng.uniform(0.0, 1.0, (2 * n, 3)))


def test_stencil_weights_of_a_general_scene_and_shared_cells() -> None:
    """Splats on pixel centres (twins sharing a cell: only the nearer goes on the grid) among
    rotated, anisotropic, faint and opaque ones mostly too wide for the stencil."""
    camera = Camera.looking((0.0, 0.0, 0.0), (0.0, 0.0, -1.0), Intrinsics.from_vertical_fov(60.0, 80, 56))
    cloud = SplatCloud.concat([_scene(8, 400), _on_pixels(camera, 9, 1500)])
    table = _footprint_table(cloud, camera)
    rank = np.empty(table["order"].shape[0], dtype=np.int64)
    rank[table["order"]] = np.arange(rank.shape[0])
    on_grid, _ = stencil._grid_splats(table, rank, 80, 56)
    source = table["source"]
    assert on_grid[source >= 400].mean() > 0.3 and on_grid[source < 400].mean() < 0.2
    pixels = np.flatnonzero(np.random.default_rng(1).random(80 * 56) < 0.7)
    blended, stenciled = _maps(cloud, camera, pixels)
    assert len(blended) > 20000
    _assert_same_map(blended, stenciled, pixels, cloud)


def test_stencil_weights_with_nothing_in_view() -> None:
    camera = Camera.looking((0.0, 0.0, 0.0), (0.0, 0.0, -1.0), Intrinsics.from_vertical_fov(60.0, 32, 24))
    behind = _scene(3).subset(np.arange(10))
    behind = SplatCloud.from_arrays(
        np.abs(behind.positions) + 5.0, behind.scales, behind.rotations, behind.opacities, behind.colors
    )
    pixels = np.arange(32 * 24)
    rows, indptr, splat, weight = stencil.stencil_weights(behind, camera, pixels)
    assert sorted(rows.tolist()) == pixels.tolist()
    assert indptr.tolist() == [0] * (pixels.shape[0] + 1)
    assert splat.size == weight.size == 0


def test_solved_colours_fit_the_photo_through_the_renderers_map() -> None:
    """What the solve minimises, measured with blend's exact weights: the render of the splats
    against the photo times the splats' coverage (where they leave a gap, the sky shows)."""
    analysis, cloud = _lifted("lyra2_00")
    lifted = analysis.kind != KIND_SKY
    n = int(lifted.sum())
    pixel, splat, weight = blend_weights(cloud, analysis.camera)
    on = lifted.ravel()[pixel]
    pixel, splat, weight = pixel[on], splat[on], weight[on]
    coverage = np.bincount(pixel, weight, lifted.size)[lifted.ravel()]
    errors = []
    for colours in (analysis.image, solve.solve_colours(analysis, cloud)):
        given = np.concatenate([colours[lifted], cloud.colors[n:]])
        render = np.stack([np.bincount(pixel, weight * given[splat, c], lifted.size) for c in range(3)], axis=1)
        errors.append(np.sqrt(np.mean((render[lifted.ravel()] - analysis.image[lifted] * coverage[:, None]) ** 2)))
    assert errors[1] < 0.5 * errors[0]  # measured: 0.138 -> 0.037


def test_the_first_tile_from_the_kept_lift_is_a_fresh_lifts() -> None:
    """prepare keeps the solve's full-resolution lift for the first tile; a generator that did not
    prepare the world (another process) lifts again and must make the same bytes."""
    generator = PhotoGenerator()
    world = generator.prepare(_photo("lyra2_06", 320), GeneratorOptions())
    assert len(generator._lift_clouds) == 1  # the kept lift, before any tile
    for key in (TileKey(0, 0, -1), TileKey(0, -1, -1)):
        kept = encode_ply(generator.generate(world, key).splats)
        assert len(kept) > 10_000
        assert kept == encode_ply(PhotoGenerator().generate(world, key).splats)
