"""Ground materials: read from the photo's own ground, laid out over the world by anchored fields."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from bridge.formats.colour import srgb_to_lab
from bridge.generate.base import GeneratorOptions
from bridge.generate.photo.analysis import PhotoAnalysis, analyse
from bridge.generate.photo.generator import PhotoGenerator, ground_per_edge
from bridge.generate.photo.haze import horizon_sky_colour
from bridge.generate.photo.layout import on_street, rules_from
from bridge.generate.photo.materials import (
    MAX_VARIATION,
    MIN_GROUND_FRACTION,
    GroundMaterials,
    calibrate_biases,
    exemplar_source,
    material_wear,
    material_weights,
    pick_materials,
)
from bridge.generate.photo.scene import SceneReading
from bridge.generate.photo.texture import (
    Exemplar,
    build_exemplar,
    for_splats,
    nearest_ground,
    read_ground_square,
    synthesize,
)
from bridge.likeness import LUMA
from bridge.world.keys import TileKey
from bridge.world.photos import decode_photo
from tests.conftest import photo_path

LIFT_RADIUS_M = 96.0


def _analysed(name: str) -> PhotoAnalysis:
    return analyse(decode_photo(photo_path(name).read_bytes()), LIFT_RADIUS_M)


@pytest.fixture(scope="module")
def picked() -> dict[str, tuple[PhotoAnalysis, GroundMaterials]]:
    out = {}
    for name in ("lyra2_00", "lyra2_05", "lyra2_06", "lyra2_08"):
        analysis = _analysed(name)
        out[name] = (analysis, pick_materials(analysis))
    return out


def _means(materials: GroundMaterials) -> np.ndarray:
    return materials.textures.reshape(len(materials.shares), -1, 3).mean(axis=1)


def test_snow_and_water_are_two_materials(picked: dict) -> None:
    _, materials = picked["lyra2_05"]
    means = _means(materials)
    assert len(means) >= 2
    lightness = means.mean(axis=1)
    snow, water = means[np.argmax(lightness)], means[np.argmin(lightness)]
    assert snow.min() > 0.8, snow  # white
    assert water[1:].mean() - water[0] > 0.08, water  # blue-green: more green and blue than red
    assert materials.shares.sum() == pytest.approx(1.0)
    assert (materials.shares > 0.1).all(), materials.shares


@pytest.mark.parametrize("name", ["lyra2_00", "lyra2_08"])
def test_a_quay_is_wood_and_water(picked: dict, name: str) -> None:
    _, materials = picked[name]
    means = _means(materials)
    assert any(m[0] - m[2] > 0.1 for m in means), means  # wood: warm
    assert any(m[1:].mean() - m[0] > 0.04 for m in means), means  # water: cool


def test_one_ground_is_one_material(picked: dict) -> None:
    _, materials = picked["lyra2_06"]  # cobbles all over the square
    assert len(materials.shares) == 1
    assert materials.shares[0] == 1.0


@pytest.mark.parametrize("name", ["lyra2_00", "lyra2_05", "lyra2_06", "lyra2_08"])
def test_every_exemplar_is_read_from_the_photos_ground(picked: dict, name: str) -> None:
    analysis, materials = picked[name]
    assert len(materials.squares) == len(materials.shares)
    for (centre, near, side), texture in zip(materials.squares, materials.textures, strict=True):
        square = read_ground_square(analysis, centre, near, side)
        assert square.ground_fraction >= MIN_GROUND_FRACTION
        np.testing.assert_array_equal(square.texture, texture)
        assert side / texture.shape[0] == pytest.approx(materials.texel_m)


def _winners(x: np.ndarray, z: np.ndarray, biases: np.ndarray, seed: int) -> np.ndarray:
    return np.argmax(material_weights(x, z, biases, seed), axis=1)


def test_each_material_covers_its_share_here_and_ten_km_away() -> None:
    shares, seed = np.array([0.6, 0.3, 0.1]), 3
    biases = calibrate_biases(shares, seed)
    steps = np.arange(0.0, 2048.0, 8.0)
    for origin in ((0.0, 0.0), (-7000.0, -7100.0)):  # the spawn, and about 10 km away
        gx, gz = np.meshgrid(origin[0] + steps, origin[1] + steps)
        covered = np.bincount(_winners(gx.ravel(), gz.ravel(), biases, seed), minlength=3) / gx.size
        np.testing.assert_allclose(covered, shares, atol=0.06, err_msg=f"at {origin}")


def test_materials_meet_in_soft_narrow_borders() -> None:
    biases = calibrate_biases(np.array([0.5, 0.5]), 0)
    x = np.arange(0.0, 2000.0, 0.25)
    weights = material_weights(x, np.full_like(x, 40.0), biases, 0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0)
    assert weights.min() >= 0.0
    assert np.abs(np.diff(weights, axis=0)).max() < 0.5  # no hard edge: a border takes several steps
    mixed = (weights.max(axis=1) < 0.95).mean()
    assert 0.0 < mixed < 0.15, mixed  # there are borders, and they are a small part of the ground
    assert len(np.flatnonzero(np.diff(np.argmax(weights, axis=1)))) >= 4  # a 2 km line crosses patches


def test_the_same_place_has_the_same_material_however_it_is_asked() -> None:
    biases = calibrate_biases(np.array([0.7, 0.3]), 5)
    rng = np.random.default_rng(1)
    x, z = rng.uniform(0.0, 32.0, 500), rng.uniform(-64.0, -32.0, 500)
    in_a_tile = material_weights(x, z, biases, 5)
    # The same points among others spread over 40 km (each lattice point hashed on its own).
    spread = material_weights(np.append(x, [20000.0, -20000.0]), np.append(z, [-20000.0, 20000.0]), biases, 5)
    np.testing.assert_array_equal(in_a_tile, spread[:-2])
    one_by_one = np.concatenate([material_weights(x[i : i + 1], z[i : i + 1], biases, 5) for i in range(0, 500, 50)])
    np.testing.assert_array_equal(in_a_tile[::50], one_by_one)


def test_the_continuation_is_laid_with_both_of_the_photos_grounds() -> None:
    # A photo without water (a water material lies only where the layout puts water: test_water).
    generator = PhotoGenerator()
    world = generator.prepare(decode_photo(photo_path("lyra2_02").read_bytes()), GeneratorOptions())
    materials = world.payload["material_textures"]
    rules = rules_from(SceneReading.from_payload(world.payload), (0.0, 0.0), 0)
    means = materials.reshape(len(materials), -1, 3).mean(axis=1)
    nearest = []
    for ix in range(-4, 4):
        for iz in range(-40, -32):  # LOD-0 tiles 1 to 1.3 km out, 256 m apart: nearly independent patches
            key = TileKey(0, ix * 8, iz * 8)
            splats = generator.generate(world, key).splats
            # Far from the photo a tile's first splats are its ground (then props, houses,
            # trees); the streets are paved with the first material whatever the fields say.
            ground = slice(0, ground_per_edge(key) ** 2)
            open_ground = ~on_street(rules, splats.positions[ground, 0], splats.positions[ground, 2])
            colours = splats.colors[ground][open_ground]
            nearest.append(np.argmin(((colours[:, None, :] - means[None]) ** 2).sum(axis=2), axis=1))
    found = np.bincount(np.concatenate(nearest), minlength=len(means)) / sum(len(n) for n in nearest)
    np.testing.assert_allclose(found, world.payload["material_shares"], atol=0.15)


def test_a_view_of_the_ground_shows_both_materials_as_the_photo_does() -> None:
    # A view from eye height sees mostly the ground within ~30 m ahead: most 30 m squares of a
    # two-material world hold both (measured 82 %; 39 % with the earlier 60 m patches).
    biases = calibrate_biases(np.array([0.5, 0.5]), 3)
    corners = np.random.default_rng(0).uniform(-5000.0, 5000.0, (300, 2))
    gx, gz = np.meshgrid(np.arange(0.0, 30.0, 1.5), np.arange(0.0, 30.0, 1.5))
    minority = [material_weights(gx.ravel() + x, gz.ravel() + z, biases, 3).mean(axis=0).min() for x, z in corners]
    assert np.mean(np.array(minority) >= 0.1) > 0.7


def _from(colour: np.ndarray, other: np.ndarray) -> float:
    """CIELAB distance, lightness counting a third as the materials weigh it (shade is not haze)."""
    return float(np.linalg.norm((colour - other) * np.array([0.35, 1.0, 1.0])))


def _lightness(analysis: PhotoAnalysis, square: tuple[float, float, float]) -> np.ndarray:
    return srgb_to_lab(read_ground_square(analysis, *square).texture)


@pytest.mark.parametrize("name", ["lyra2_00", "lyra2_03", "lyra2_05", "lyra2_09"])
def test_no_material_is_founded_on_ground_seen_through_haze(name: str) -> None:
    # Haze pulls a colour towards the horizon sky's and takes its contrast down by the same
    # factor. A founder (every exemplar but the first) must keep the nearest ground's contrast or
    # its distance from the horizon sky's colour; lyra2_03's far valley, seen past the hilltop's
    # crest in the rows of near ground, founded its blue-grey material.
    analysis = _analysed(name)
    materials = pick_materials(analysis)
    airlight = horizon_sky_colour(analysis.image, analysis.sky, analysis.horizon_v)
    assert airlight is not None
    near, side = nearest_ground(analysis)
    nearest = _lightness(analysis, (0.0, near, side))
    for square in materials.squares[1:]:
        lab = _lightness(analysis, square)
        mean = lab.reshape(-1, 3).mean(axis=0)
        contrast = lab[..., 0].std() / nearest[..., 0].std()
        pull = _from(mean, airlight) / _from(nearest.reshape(-1, 3).mean(axis=0), airlight)
        assert mean[0] >= airlight[0] or contrast > 0.75 or pull > 0.75, (square, contrast, pull)


def test_the_hilltop_is_the_ground_of_the_fortress_photo() -> None:
    # lyra2_03: a fortress on a grassy hilltop, hazy blue-grey hills and a village far behind.
    # The world's ground is mostly the hilltop's, not the haze's: the dominant material is the
    # colour of the nearest ground (its colour family: olive-green, yellow rather than blue).
    analysis = _analysed("lyra2_03")
    materials = pick_materials(analysis)
    dominant = srgb_to_lab(_means(materials)[int(np.argmax(materials.shares))])
    near, side = nearest_ground(analysis)
    nearest = _lightness(analysis, (0.0, near, side)).reshape(-1, 3).mean(axis=0)
    assert materials.shares.max() > 0.5
    assert dominant[2] > 0.0, dominant  # yellowish, not the haze's blue
    assert _from(dominant, nearest) < 8.0, (dominant, nearest)


def _photo_box_share(analysis: PhotoAnalysis, square: tuple[float, float, float], box: tuple[float, ...]) -> float:
    """The share of a ground square's texels that the photo shows inside ``box`` (fractions of
    its width and height: left, top, right, bottom)."""
    read = read_ground_square(analysis, *square, texels=64)
    height, width = analysis.kind.shape
    u, v = (read.cols + 0.5) / width, (read.rows + 0.5) / height
    left, top, right, bottom = box
    return float(((u >= left) & (u <= right) & (v >= top) & (v <= bottom)).mean())


def test_the_ground_exemplar_holds_no_fountain(picked: dict) -> None:
    # lyra2_06: a cobbled square with a fountain in its middle, a few metres ahead. Read as
    # ground, the fountain's basin paved the whole world with bits of stone rim and water.
    # Its basin and column, by eye on the photo, as fractions of its width and height:
    fountain = (0.36, 0.64, 0.67, 0.91)
    analysis, materials = picked["lyra2_06"]
    for square in materials.squares:
        assert _photo_box_share(analysis, square, fountain) < 0.02, square


def test_exemplars_are_read_at_the_photos_own_resolution() -> None:
    # The working image is 640 px wide; the photo 1280. The same squares read from the photo
    # itself hold twice the detail across: cobbles, not a blur of them.
    photo = decode_photo(photo_path("lyra2_06").read_bytes())
    analysis = analyse(photo, LIFT_RADIUS_M)
    working, full = pick_materials(analysis), pick_materials(analysis, exemplar_source(photo))
    assert working.squares == full.squares

    def detail(textures: np.ndarray) -> float:
        lightness = srgb_to_lab(textures)[..., 0]
        return float(np.abs(np.diff(lightness, axis=-1)).mean())

    assert detail(full.textures) > 1.4 * detail(working.textures)
    assert exemplar_source(photo).shape == photo.shape


def test_wear_spreads_a_materials_lightness_as_the_photo_does_anchored_to_the_world() -> None:
    # A small exemplar holds no stains or sun patches metres across; the wear field lays the
    # photo's own spread of its ground's lightness over the world, the same wherever asked.
    steps = np.arange(0.0, 3000.0, 2.9)
    gx, gz = np.meshgrid(steps, steps)
    x, z = gx.ravel(), gz.ravel()
    for variation in (0.05, 0.15):
        wear = material_wear(x, z, variation, seed=5, m=0)
        assert wear.mean() == pytest.approx(1.0, abs=0.01)
        assert wear.std() == pytest.approx(variation, rel=0.15)
    far = material_wear(x[:500] - 9000.0, z[:500] + 9000.0, 0.15, seed=5, m=0)
    assert far.std() > 0.08  # not fading with distance
    np.testing.assert_array_equal(material_wear(x[::7], z[::7], 0.15, 5, 1), material_wear(x, z, 0.15, 5, 1)[::7])
    assert not np.array_equal(material_wear(x[:500], z[:500], 0.15, 5, 0), material_wear(x[:500], z[:500], 0.15, 5, 1))
    np.testing.assert_array_equal(material_wear(x[:50], z[:50], 0.0, 5, 0), np.ones(50))


def test_each_material_measures_its_own_spread(picked: dict) -> None:
    for name in picked:
        _, materials = picked[name]
        assert materials.variation.shape == materials.shares.shape
        assert ((materials.variation > 0.0) & (materials.variation <= MAX_VARIATION)).all(), (name, materials.variation)


def _along_line_correlation(exemplar: Exemplar, wave: tuple[float, float], metres: float) -> float:
    """Correlation of the synthesised ground's lightness with itself ``metres`` along the lines of ``wave``."""
    points = np.random.default_rng(1).uniform(-200.0, 200.0, (20_000, 2))
    ks, kt = wave
    along = np.array([-kt, ks]) / np.hypot(ks, kt)
    moved = points + metres * along
    here = synthesize(exemplar, points[:, 0], points[:, 1], exemplar.texel_m, 0).mean(axis=1)
    there = synthesize(exemplar, moved[:, 0], moved[:, 1], exemplar.texel_m, 0).mean(axis=1)
    return float(np.corrcoef(here, there)[0, 1])


def test_a_decks_planks_run_on_unbroken_and_cobbles_are_not_lines() -> None:
    """lyra2_00's quay is planks: the synthesised deck keeps their lines running across its cells
    (read 0.8 m along them, two cells on, the lightness still correlates), where cells read at
    unrelated offsets broke every line into dashes (no correlation: the deck read as rippled sand).
    lyra2_06's cobbles have no such period."""
    photo = decode_photo(photo_path("lyra2_00").read_bytes())
    materials = pick_materials(analyse(photo, LIFT_RADIUS_M), exemplar_source(photo))
    exemplars = [build_exemplar(texture, materials.texel_m) for texture in materials.textures]
    planks = [e for e in exemplars if e.wave is not None]
    assert len(planks) == 1 and planks[0].mean[0] - planks[0].mean[2] > 0.1, [e.wave for e in exemplars]  # wood
    wave = planks[0].wave
    assert _along_line_correlation(planks[0], wave, 0.8) > 0.4
    assert _along_line_correlation(dataclasses.replace(planks[0], wave=None), wave, 0.8) < 0.15  # the old dashes

    cobbles = decode_photo(photo_path("lyra2_06").read_bytes())
    street = pick_materials(analyse(cobbles, LIFT_RADIUS_M), exemplar_source(cobbles))
    assert all(build_exemplar(t, street.texel_m).wave is None for t in street.textures)


@pytest.mark.parametrize("name", ["lyra2_06", "lyra2_07"])
def test_the_ground_seen_from_above_keeps_the_photos_grain(name: str) -> None:
    """A ground splat is as wide as the step between splats, so the render blurs the texture its
    colours hold by about that much: at 4 cm a pixel, a LOD-0 tile of the continuation's paving
    seen from above held 0.30 (lyra2_06) and 0.38 (07) of the mean lightness gradient of the
    photo's own exemplar at that scale. Each level of the exemplar is presharpened at its texel's
    scale, and it keeps over half (0.55, 0.61)."""
    from bridge.generate.photo import generator as photo_generator
    from bridge.render.rasterize import render
    from bridge.world.camera import Camera, Intrinsics

    photo = decode_photo(photo_path(name).read_bytes())
    generator = PhotoGenerator()
    world = generator.prepare(photo, GeneratorOptions())
    state = generator._state(world, photo_generator._fingerprint(world))
    key = TileKey(0, 30, -40)  # far from the photo's view: the continuation's own ground
    n = ground_per_edge(key)
    ground = generator.generate(world, key).splats.subset(np.arange(n * n))
    x0, z0, x1, z1 = key.bounds(world.options.base_tile_m)
    above_m, pixels = 4.0, 72
    camera = Camera.looking(
        ((x0 + x1) / 2, float(np.median(ground.positions[:, 1])) + above_m, (z0 + z1) / 2),
        (0.0, -1.0, 0.0),
        Intrinsics.from_vertical_fov(40.0, pixels, pixels),
        up=(0.0, 0.0, -1.0),
    )
    seen = render(ground, camera).image @ LUMA
    metres_per_pixel = 2 * above_m * np.tan(np.radians(20.0)) / pixels
    materials = pick_materials(state.analysis, exemplar_source(photo))
    texture = materials.textures[state.paving_material] @ LUMA
    f = round(metres_per_pixel / materials.texel_m)
    side = texture.shape[0] // f * f
    photo_scale = texture[:side, :side].reshape(side // f, f, side // f, f).mean(axis=(1, 3))

    def gradient(image: np.ndarray) -> float:
        rows, cols = np.gradient(image)
        return float(np.hypot(rows, cols).mean())

    assert gradient(seen) / gradient(photo_scale) > 0.45


def test_presharpened_ground_is_as_bright_at_every_lod() -> None:
    """Presharpening must not move the ground's brightness from one LOD to the next. lyra2_07's
    exemplar is brighter in its middle (0.53), where synthesis reads, than overall (0.40); its
    small levels hold that layout, not grain, and sharpened (0.12.6) they laid the ground 10-40 m
    out 0.61-0.79 bright between 0.56 nearer and 0.40 farther. Now each footprint's ground is
    within 0.015 of the same exemplar's unsharpened."""
    photo = decode_photo(photo_path("lyra2_07").read_bytes())
    materials = pick_materials(analyse(photo, LIFT_RADIUS_M), exemplar_source(photo))
    raw = build_exemplar(materials.textures[0], materials.texel_m)
    sharp = for_splats(raw)
    rng = np.random.default_rng(0)
    x, z = rng.uniform(0.0, 500.0, 50_000), rng.uniform(0.0, 500.0, 50_000)
    for footprint_m in (0.083, 0.125, 0.25, 0.5, 1.0):
        seen = synthesize(sharp, x, z, footprint_m, 0).mean()
        as_read = synthesize(raw, x, z, footprint_m, 0).mean()
        assert abs(seen - as_read) < 0.015, (footprint_m, seen, as_read)
