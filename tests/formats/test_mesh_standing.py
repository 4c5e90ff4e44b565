"""Mesh tiles carry what stands on the ground (bridge/formats/mesh_standing.py): blocks built from
the tile's own splats, on real tiles of a real photo's town and on a splat box made here.

Every check but the closure and budget ones fails for the ground-only mesh (format revision 1,
``standing=False``); the eye-height and height checks say so by measuring that mesh too.
"""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import pytest
import trimesh
from PIL import Image

from bridge.formats import TILE_FORMATS, format_revisions
from bridge.formats._gltf import read_glb
from bridge.formats.glb_mesh import encode_glb_mesh, encode_glb_meshes, mesh_tile
from bridge.formats.mesh_standing import MAX_CELLS, find_blocks, ground_under
from bridge.formats.splats import SplatCloud, TileContent, identity_rotations
from bridge.generate.base import GeneratorOptions
from bridge.generate.photo import PhotoGenerator
from bridge.render.rasterize import render_torch
from bridge.world.camera import Camera, Intrinsics
from bridge.world.keys import TileKey
from bridge.world.photos import decode_photo
from tests.formats.test_glb_mesh import _validate, needs_node
from tests.mesh_render import Triangles, glb_triangles, render_glbs, render_triangles
from tests.sample_tiles import PHOTOS

BASE = 8.0  # the photo generator's LOD-0 edge
TOWN = TileKey(2, -2, -3)  # 32 m of lyra2_06's town behind its square: houses along streets


@pytest.fixture(scope="module")
def town() -> dict[TileKey, TileContent]:
    """The town tile and its eight neighbours (LOD 2), from the sample photo's world."""
    if not PHOTOS.is_dir():
        pytest.skip(f"sample photos absent at {PHOTOS}")
    generator = PhotoGenerator()
    world = generator.prepare(decode_photo((PHOTOS / "lyra2_06.png").read_bytes()), GeneratorOptions(base_tile_m=BASE))
    keys = [TileKey(2, TOWN.ix + a, TOWN.iz + b) for b in (-1, 0, 1) for a in (-1, 0, 1)]
    return {key: generator.generate(world, key) for key in keys}


@pytest.fixture(scope="module")
def town_glbs(town: dict[TileKey, TileContent]) -> dict[TileKey, bytes]:
    return {key: encode_glb_mesh(content, BASE) for key, content in town.items()}


def _ground_y(content: TileContent, x: np.ndarray, z: np.ndarray) -> np.ndarray:
    x0, z0, x1, _ = content.key.bounds(BASE)
    return ground_under(np.asarray(content.heights), x1 - x0, np.asarray(x) - x0, np.asarray(z) - z0)


def _top_down(content: TileContent, size: int = 128) -> Camera:
    """Nearly orthographic: 400 m over the tile's centre, the tile just filling the view."""
    x0, z0, x1, z1 = content.key.bounds(BASE)
    fov = math.degrees(2 * math.atan(0.5 * (x1 - x0) / 400.0))
    return Camera.looking(
        ((x0 + x1) / 2, 400.0, (z0 + z1) / 2), (0, -1, 0), Intrinsics.from_vertical_fov(fov, size, size), up=(0, 0, -1)
    )


def _rise_seen_from_above(glb: bytes, content: TileContent, cells: int = 32) -> np.ndarray:
    """[cells, cells] the highest mesh surface seen from above in each cell, over the ground."""
    x0, z0, x1, _ = content.key.bounds(BASE)
    seen = render_glbs([glb], _top_down(content))
    points = seen.world[seen.covered]
    rise = points[:, 1] - _ground_y(content, points[:, 0], points[:, 2])
    c = np.clip(((points[:, 0] - x0) / (x1 - x0) * cells).astype(int), 0, cells - 1)
    r = np.clip(((points[:, 2] - z0) / (x1 - x0) * cells).astype(int), 0, cells - 1)
    out = np.full(cells * cells, -np.inf)
    np.maximum.at(out, r * cells + c, rise)
    return out.reshape(cells, cells)


def _splat_rise(content: TileContent, cells: int = 32) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: (90th percentile rise of the opaque splats, how many rise over 1 m)."""
    x0, z0, x1, _ = content.key.bounds(BASE)
    pos = content.splats.positions.astype(np.float64)
    opaque = content.splats.opacities >= 0.5
    rise = pos[:, 1] - _ground_y(content, pos[:, 0], pos[:, 2])
    c = ((pos[:, 0] - x0) / (x1 - x0) * cells).astype(int)
    r = ((pos[:, 2] - z0) / (x1 - x0) * cells).astype(int)
    keep = opaque & (c >= 0) & (c < cells) & (r >= 0) & (r < cells)
    ids = r[keep] * cells + c[keep]
    high = np.full(cells * cells, 0.0)
    for cell in np.unique(ids):
        high[cell] = np.percentile(rise[keep][ids == cell], 90)
    tall = np.bincount(ids, weights=(rise[keep] > 1.0).astype(float), minlength=cells * cells)
    return high.reshape(cells, cells), tall.reshape(cells, cells)


def test_a_town_tiles_mesh_stands_where_its_splats_stand(
    town: dict[TileKey, TileContent], town_glbs: dict[TileKey, bytes]
) -> None:
    content = town[TOWN]
    splat_high, tall = _splat_rise(content)
    houses = (splat_high > 3.0) & (tall >= 5)
    open_ground = tall == 0
    assert houses.sum() > 100 and open_ground.sum() > 100, "the town tile holds houses and streets"
    mesh_high = _rise_seen_from_above(town_glbs[TOWN], content)
    assert np.mean(mesh_high[houses] > 2.5) > 0.85, "where the splats have a house the mesh stands 3 m up"
    assert np.mean(mesh_high[open_ground] < 1.0) > 0.9, "where they have a street the mesh is ground"
    bare = _rise_seen_from_above(encode_glb_mesh(content, BASE, standing=False), content)
    assert np.mean(bare[houses] > 2.5) < 0.05  # the ground-only mesh (revision 1) had none of it


def _street_eye(content: TileContent) -> np.ndarray:
    """Eye height (1.7 m) at the open ground farthest from any block in the tile."""
    from scipy import ndimage

    x0, z0, x1, _ = content.key.bounds(BASE)
    blocks = find_blocks(content, x1 - x0, x0, z0)
    assert blocks is not None
    free = ndimage.distance_transform_edt(~blocks.standing)
    r, c = np.unravel_index(np.argmax(free), free.shape)
    x, z = x0 + (c + 0.5) * blocks.cell_m, z0 + (r + 0.5) * blocks.cell_m
    return np.array([x, float(_ground_y(content, np.array([x]), np.array([z]))[0]) + 1.7, z])


@pytest.mark.parametrize("heading", [(0.0, 1.0), (1.0, 0.0)])
def test_from_eye_height_the_mesh_covers_and_colours_what_the_splats_do(
    town: dict[TileKey, TileContent], town_glbs: dict[TileKey, bytes], heading: tuple[float, float]
) -> None:
    eye = _street_eye(town[TOWN])
    camera = Camera.looking(eye, (heading[0], 0.0, heading[1]), Intrinsics.from_vertical_fov(60.0, 160, 90))
    splats = render_torch(SplatCloud.concat([c.splats for c in town.values()]), camera)
    mesh = render_glbs(list(town_glbs.values()), camera)
    above = camera.pixel_rays()[..., 1] > 0  # the view above the horizon
    splat_cover, mesh_cover = (splats.alpha > 0.5) & above, mesh.covered & above
    assert splat_cover.sum() > 0.5 * above.sum(), "a street between houses: mostly facades above the horizon"
    both = splat_cover & mesh_cover
    assert both.sum() / (splat_cover | mesh_cover).sum() > 0.85
    colour = np.abs(mesh.image - splats.image)[both].mean()
    assert colour < 0.15, colour
    # Not any colour would do: the facades' colours against the view's own mean are further off.
    assert np.abs(splats.image[both].mean(0) - splats.image[both]).mean() > colour
    bare = render_glbs([encode_glb_mesh(c, BASE, standing=False) for c in town.values()], camera)
    assert (bare.covered & above).sum() < 0.05 * splat_cover.sum()


def _ground_only(glb: bytes, s: int) -> Triangles:
    """The glb's heightfield and skirts (the first 2 S^2 + 8 S triangles), without its blocks."""
    tris = glb_triangles([glb])
    n = 2 * s * s + 8 * s
    return Triangles(tris.corners[:n], tris.uvs[:n], tris.texture[:n], tris.textures)


ABOVE_ROOFS = [(-20.0, 30.0, -20.0), (20.0, 25.0, 20.0), (0.0, 45.0, 30.0), (30.0, 20.0, -6.0)]


def test_neighbouring_tiles_close_their_blocks_and_share_their_ground_border(
    town: dict[TileKey, TileContent], town_glbs: dict[TileKey, bytes]
) -> None:
    east = TileKey(2, TOWN.ix + 1, TOWN.iz)
    pair = [town_glbs[TOWN], town_glbs[east]]
    s = town[TOWN].heights.shape[0] - 1
    borders = []
    for glb, column in ((pair[0], s), (pair[1], 0)):
        g = read_glb(glb)
        pos = g.accessor(g.gltf["meshes"][0]["primitives"][0]["attributes"]["POSITION"]).astype(np.float64)
        grid = pos[: (s + 1) ** 2].reshape(s + 1, s + 1, 3) + g.gltf["nodes"][0]["translation"]
        borders.append(grid[:, column])
    np.testing.assert_array_equal(borders[0], borders[1])
    # Closed and facing out: from outside, a hole in a block (a missing wall or top, a face
    # turned inwards) shows a back face nearer than any front face. Drawn with and without back
    # faces, every view must see the same surfaces, along the border and across it.
    tris = glb_triangles(pair)
    x_border = TOWN.bounds(BASE)[2]
    z_mid = 0.5 * (TOWN.bounds(BASE)[1] + TOWN.bounds(BASE)[3])
    k = Intrinsics.from_vertical_fov(70.0, 96, 64)
    target = np.array([x_border, 4.0, z_mid])
    street = _street_eye(town[TOWN])
    cameras = [Camera.looking(target + offset, -np.asarray(offset), k) for offset in ABOVE_ROOFS]
    cameras.append(Camera.looking(street, target - street, k))  # from the ground, outside every block
    for camera in cameras:
        culled, both_sides = render_triangles(tris, camera), render_triangles(tris, camera, cull=False)
        assert culled.covered.sum() > 0.15 * culled.covered.size
        same = np.isclose(culled.depth, both_sides.depth, rtol=1e-5, atol=1e-3) | ~both_sides.covered
        assert same.mean() > 0.995, (camera.position, same.mean())


def test_mesh_tiles_are_deterministic_bounded_and_load(
    town: dict[TileKey, TileContent], town_glbs: dict[TileKey, bytes]
) -> None:
    content = town[TOWN]
    assert encode_glb_mesh(content, BASE) == town_glbs[TOWN]
    s = content.heights.shape[0] - 1
    g = min(s, MAX_CELLS)
    for glb in town_glbs.values():
        gltf = read_glb(glb).gltf
        index_count = gltf["accessors"][gltf["meshes"][0]["primitives"][0]["indices"]]["count"]
        assert index_count // 3 <= 2 * s * s + 8 * s + 2 * (g * g + 2 * g * (g + 1))
        image = gltf["images"][0]
        view = read_glb(glb).view_bytes(image["bufferView"])
        width, height = Image.open(io.BytesIO(view)).size
        assert width <= 512 and height <= 1024
    scene = trimesh.load(io.BytesIO(town_glbs[TOWN]), file_type="glb")
    (geometry,) = scene.geometry.values()
    assert geometry.bounds[1, 1] - geometry.bounds[0, 1] > 6.0  # houses, not a carpet


def _box_house(colours: dict[str, tuple[float, float, float]]) -> TileContent:
    """Flat ground at y = 0 with a 6 x 6 x 5 m box of splats on it, each face its own colour:
    what a directive-placed structure or an imported scene could hold (no generator here)."""
    key = TileKey(1, 0, 0)  # 16 m, x and z in [0, 16]
    rng = np.random.default_rng(3)
    parts = []
    step = 0.1

    def face(points: np.ndarray, colour: tuple[float, float, float], thin: int) -> None:
        scales = np.full((len(points), 3), 0.08)
        scales[:, thin] = 0.01
        parts.append((points, scales, np.tile(colour, (len(points), 1))))

    g = np.arange(step / 2, 6, step)
    a, h = np.meshgrid(g, np.arange(step / 2, 5, step))
    a, h = 5 + a.ravel(), h.ravel()
    face(np.stack([np.full_like(a, 11.0), h, a], 1), colours["+x"], 0)
    face(np.stack([np.full_like(a, 5.0), h, a], 1), colours["-x"], 0)
    face(np.stack([a, h, np.full_like(a, 11.0)], 1), colours["+z"], 2)
    face(np.stack([a, h, np.full_like(a, 5.0)], 1), colours["-z"], 2)
    rx, rz = np.meshgrid(5 + g, 5 + g)
    face(np.stack([rx.ravel(), np.full(rx.size, 5.0), rz.ravel()], 1), colours["top"], 1)
    gx, gz = np.meshgrid(np.arange(0.1, 16, 0.2), np.arange(0.1, 16, 0.2))
    keep = ~((gx > 5) & (gx < 11) & (gz > 5) & (gz < 11))
    face(np.stack([gx[keep], np.zeros(keep.sum()), gz[keep]], 1), colours["ground"], 1)
    points = np.concatenate([p for p, _, _ in parts]) + rng.normal(0, 0.005, (sum(len(p) for p, _, _ in parts), 3))
    scales = np.concatenate([s for _, s, _ in parts])
    colour = np.concatenate([c for _, _, c in parts])
    n = len(points)
    splats = SplatCloud.from_arrays(points, scales, identity_rotations(n), np.full(n, 0.95), colour)
    return TileContent(key, splats, np.zeros((33, 33), np.float32))


def test_a_splat_box_becomes_a_block_whose_walls_show_their_own_faces() -> None:
    colours = {
        "+x": (0.9, 0.1, 0.1),
        "-x": (0.1, 0.8, 0.1),
        "+z": (0.1, 0.1, 0.9),
        "-z": (0.9, 0.9, 0.1),
        "top": (0.95, 0.95, 0.95),
        "ground": (0.35, 0.3, 0.25),
    }
    content = _box_house(colours)
    glb = encode_glb_mesh(content, BASE)
    k = Intrinsics.from_vertical_fov(50.0, 48, 48)
    views = {  # from 12 m off each face, at the box's mid-height, and from above
        "+x": Camera.looking((20.0, 2.5, 8.0), (-1, 0, 0), k),
        "-x": Camera.looking((-4.0, 2.5, 8.0), (1, 0, 0), k),
        "+z": Camera.looking((8.0, 2.5, 20.0), (0, 0, -1), k),
        "-z": Camera.looking((8.0, 2.5, -4.0), (0, 0, 1), k),
        "top": Camera.looking((8.0, 30.0, 8.0), (0, -1, 0), k, up=(0, 0, -1)),
    }
    for name, camera in views.items():
        seen = render_glbs([glb], camera)
        centre = seen.image[20:28, 20:28].reshape(-1, 3).mean(0)
        np.testing.assert_allclose(centre, colours[name], atol=0.08, err_msg=name)
        if name != "top":
            hit = seen.world[24, 24]
            # The face's plane, to within the block grid's cell (0.5 m on a 16 m tile).
            assert -0.05 < abs(hit[0 if "x" in name else 2] - 8.0) - 3.0 < 0.55, (name, hit)
    top = render_glbs([glb], views["top"]).world[24, 24, 1]
    assert 5.0 <= top <= 5.5  # the box's height (its top splats' sigma and a quarter cell over)


def test_mesh_tiles_are_filed_under_their_format_revision() -> None:
    assert TILE_FORMATS["glb"].revision == 2
    assert format_revisions()["glb"] == 2 and format_revisions()["spz"] == 1


def test_the_ground_under_a_block_is_the_ground_round_it_not_the_block_faded() -> None:
    """Under the box there are no ground splats: revision 1 painted its walls' and roof's colours
    (at 5 % weight, but nothing else was there) onto the ground; now it is the ground's colour."""
    colours = {"+x": (0.9, 0.1, 0.1), "-x": (0.1, 0.8, 0.1), "+z": (0.1, 0.1, 0.9), "-z": (0.9, 0.9, 0.1)}
    content = _box_house({**colours, "top": (0.95, 0.95, 0.95), "ground": (0.35, 0.3, 0.25)})
    camera = Camera.looking((8.0, 60.0, 8.0), (0, -1, 0), Intrinsics.from_vertical_fov(16.0, 64, 64), up=(0, 0, -1))
    s = content.heights.shape[0] - 1
    under = slice(26, 38)  # the box's middle, x and z in [7, 9]
    for standing, near_ground in ((True, True), (False, False)):
        ground = render_triangles(_ground_only(encode_glb_mesh(content, BASE, standing=standing), s), camera)
        colour = ground.image[under, under].reshape(-1, 3).mean(0)
        assert (np.abs(colour - (0.35, 0.3, 0.25)).max() < 0.05) == near_ground, (standing, colour)


@needs_node
def test_town_and_box_meshes_pass_the_khronos_validator_cleanly(
    town_glbs: dict[TileKey, bytes], tmp_path: Path
) -> None:
    box = _box_house({name: (0.5, 0.5, 0.5) for name in ("+x", "-x", "+z", "-z", "top", "ground")})
    files = {
        "town.glb": town_glbs[TOWN],
        "town_png.glb": encode_glb_mesh(box, BASE, texture_format="png"),
        "merged.glb": encode_glb_meshes([mesh_tile(box, BASE), mesh_tile(box, BASE, standing=False)]),
    }
    for name, report in _validate(tmp_path, files).items():
        assert report["numErrors"] == 0, (name, report["messages"])
        assert report["numWarnings"] == 0, (name, report["messages"])
        assert report["numInfos"] == 0 and report["numHints"] == 0, (name, report["messages"])
