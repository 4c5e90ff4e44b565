"""GLB landmarks without a server: the directive form and its errors, the model's splats (colours
from the glTF material, the same for the same bytes, sparser on coarser tiles) and how tiles split
it, and the offline ``worldbridge tile --glb``."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pytest
import trimesh

from bridge.cli import main
from bridge.generate.directives.apply import FINEST_SPACING_M, generate_directed
from bridge.generate.directives.glb import linear_to_srgb, load_glb, model_splats
from bridge.world.directives import DirectiveError, parse_directive
from bridge.world.keys import TileKey
from tests.glb_support import TOWER_M, red_lacquer, tower_glb
from tests.world.test_directives import small_world  # noqa: F401  (the module's world fixture)

SHA = "0f" * 32


def place(x: float, z: float, r: float, **params: object) -> dict:
    return {"kind": "place", "region": {"circle": {"center": [x, z], "radius": r}}, **params}


@pytest.fixture(scope="module")
def tower() -> bytes:
    return tower_glb(red_lacquer())


def test_the_directive_names_a_glb_or_words_not_both() -> None:
    parsed = parse_directive(place(0, -40, 6, glb=SHA, scale=2, facing_deg=30))
    assert parsed.structure is None and parsed.params == {"glb": SHA, "scale": 2.0, "facing_deg": 30.0}
    assert parsed.reach_m() == 1.0
    cases = [
        (place(0, -40, 6, glb=SHA, structure="a stone tower"), "one of 'structure'"),
        (place(0, -40, 6), "one of 'structure'"),
        (place(0, -40, 6, glb="not-a-hash"), "64 lowercase hex"),
        (place(0, -40, 6, glb=SHA.upper()), "64 lowercase hex"),
        (place(0, -40, 6, glb=SHA, scale=0), "scale 0.0 outside"),
        (place(0, -40, 6, glb=SHA, scale=float("nan")), "finite"),
        (place(0, -40, 6, structure="a stone tower", scale=2), "'scale' is for a GLB"),
    ]
    for data, reason in cases:
        with pytest.raises(DirectiveError, match=reason):
            parse_directive(data)


def test_the_schema_takes_a_glb_place_and_refuses_what_the_parser_refuses() -> None:
    import jsonschema

    from tests.conftest import REPO

    schema = json.loads((REPO / "proto" / "worldbridge" / "v1" / "directive.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    assert not list(validator.iter_errors(place(0, -40, 6, glb=SHA, scale=2, facing_deg=30)))
    for refused in (
        place(0, -40, 6, glb=SHA, structure="a stone tower"),
        place(0, -40, 6, glb="abc"),
        place(0, -40, 6, structure="a stone tower", scale=2),
    ):
        assert list(validator.iter_errors(refused)), refused
        with pytest.raises(DirectiveError):
            parse_directive(refused)


def test_the_splats_wear_the_material_and_are_the_same_for_the_same_bytes(tower: bytes) -> None:
    a = model_splats(load_glb(tower), 1.0, 0.3, np.zeros(3))
    b = model_splats(load_glb(bytes(tower)), 1.0, 0.3, np.zeros(3))
    assert a.positions.tobytes() == b.positions.tobytes() and a.colors.tobytes() == b.colors.tobytes()
    lo, hi = a.bounds()
    assert np.allclose(hi - lo, TOWER_M, atol=0.05) and abs(lo[1]) < 1e-6  # centred, its foot at y = 0
    texture = np.asarray(red_lacquer(), np.float64).reshape(-1, 3).mean(axis=0) / 255
    assert np.abs(a.colors.mean(axis=0) - texture).max() < 0.03  # the photo's pixels, texel by texel
    # Vertex colours (linear in glTF) times the base colour factor, written back as sRGB.
    drum = trimesh.creation.cylinder(2.0, 5.0)
    drum.visual.vertex_colors = [51, 102, 204, 255]
    coloured = model_splats(load_glb(trimesh.Scene(drum).export(file_type="glb")), 1.0, 0.3, np.zeros(3))
    assert np.allclose(coloured.colors, linear_to_srgb(np.array([51, 102, 204]) / 255), atol=2e-3)
    # A model with no colour wears the one it is given (the world's wall colour).
    plain = model_splats(
        load_glb(trimesh.Scene(trimesh.creation.box((2, 2, 2))).export(file_type="glb")),
        1.0,
        0.3,
        np.array([0.7, 0.6, 0.5]),
    )
    assert np.allclose(plain.colors, [0.7, 0.6, 0.5], atol=2e-3)
    # Coarser: fewer, larger discs over the same surface.
    coarse = model_splats(load_glb(tower), 1.0, 1.2, np.zeros(3))
    assert len(coarse) < len(a) / 8 and coarse.scales.max() > 2 * a.scales.max()


def test_tiles_split_the_model_without_losing_or_doubling_a_splat(small_world: tuple, tower: bytes) -> None:  # noqa: F811
    generator, world, _ = small_world
    sha = hashlib.sha256(tower).hexdigest()
    directive = parse_directive(place(8.0, -40.0, 6, glb=sha))  # across the tiles' corner at (8, -40)
    keys = [TileKey(0, ix, iz) for ix in (0, 1) for iz in (-6, -5)]
    added = []
    for key in keys:
        plain = {row.tobytes() for row in generator.generate(world, key).splats.positions}
        placed = generate_directed(generator, world, key, [directive], {sha: tower}.__getitem__).splats.positions
        added.append(placed[[row.tobytes() not in plain for row in placed]])
    assert all(len(part) > 200 for part in added)
    whole = np.concatenate(added)
    assert len({row.tobytes() for row in whole}) == len(whole)  # no splat in two tiles
    local = model_splats(load_glb(tower), 1.0, FINEST_SPACING_M, np.zeros(3))  # LOD 0 of 8 m tiles: the finest
    assert len(whole) == len(local)  # and none lost
    ground = generator.ground_height(world, whole[:, 0].astype(np.float64), whole[:, 2].astype(np.float64))
    assert (whole[:, 1] - ground).min() > -0.6  # standing on the ground, not sunk into it


def test_the_tile_command_takes_a_glb_and_names_one_it_lacks(
    small_world: tuple,  # noqa: F811
    tower: bytes,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _, _, photo = small_world
    glb = tmp_path / "tower.glb"
    glb.write_bytes(tower)
    sha = hashlib.sha256(tower).hexdigest()
    directives = tmp_path / "d.json"
    directives.write_text(json.dumps([place(4, -36, 6, glb=sha)]))
    args = ["tile", str(photo), "--key", "0,0,-5", "--format", "ply", "--json", "--directives", str(directives)]
    assert main([*args, "--out", str(tmp_path / "no.ply")]) == 2
    assert sha in capsys.readouterr().err and not (tmp_path / "no.ply").exists()
    assert main([*args, "--out", str(tmp_path / "tower.ply"), "--glb", str(glb)]) == 0
    assert json.loads(capsys.readouterr().out)["splats"] > 1000
