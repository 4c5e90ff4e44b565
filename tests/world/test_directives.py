"""Directives without a server: the JSON form and its errors, the structure grammar, which tiles a
directive touches, stamps (revert restores them, pins hold them), the log in the store, and tiles
generated under directives (deterministic, changed only where the directive says)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from bridge.cli import main
from bridge.formats.splats import SplatCloud
from bridge.generate.base import GeneratorOptions
from bridge.generate.directives.apply import DEFAULT_PALETTE, generate_directed
from bridge.generate.directives.structures import build_structure
from bridge.generate.photo import PhotoGenerator
from bridge.world.directives import DirectiveError, DirectiveState, LogEntry, parse_directive
from bridge.world.keys import TileKey
from bridge.world.photos import decode_photo
from bridge.world.store import DirectiveRow
from bridge.world.structure_grammar import GrammarError, footprint, house_row, parse_structure
from tests.conftest import photo_path, run
from tests.stream_support import make_worlds, small_photo


def circle(x: float, z: float, r: float) -> dict:
    return {"circle": {"center": [x, z], "radius": r}}


def test_the_grammar_reads_style_words_and_names_what_it_does_not_know() -> None:
    church = parse_structure("a gothic church with a red roof")
    assert (church.kind, church.era, church.count) == ("church", "gothic", 1)
    assert church.roof is not None and church.roof[0] > 2 * church.roof[1]  # red
    houses = parse_structure("a row of three houses with blue roofs")
    assert (houses.kind, houses.count) == ("house", 3) and houses.roof is not None and houses.roof[2] > houses.roof[0]
    chapel = parse_structure("a small white chapel")
    assert chapel.kind == "chapel" and chapel.scale < 1 and chapel.wall is not None and min(chapel.wall) > 0.8
    assert parse_structure("a two-storey brick house").storeys == 2
    with pytest.raises(GrammarError, match="'purple', 'spaceship'"):
        parse_structure("a purple spaceship church")
    with pytest.raises(GrammarError, match="no structure named"):
        parse_structure("a red one")
    with pytest.raises(GrammarError, match="one structure per directive"):
        parse_structure("a church and a tower")


def test_each_structure_is_its_own_shape() -> None:
    """Chapel, tower, bridge and a row of houses differ in their bounding proportions."""
    shapes = {}
    for words in ("a small white chapel", "a stone tower", "a wooden bridge", "a row of three houses with blue roofs"):
        cloud = build_structure(parse_structure(words), DEFAULT_PALETTE, 0.4, 1).cloud
        lo, hi = cloud.bounds()
        shapes[words] = hi - lo  # (width, height, depth)
    tower, bridge = shapes["a stone tower"], shapes["a wooden bridge"]
    row, chapel = shapes["a row of three houses with blue roofs"], shapes["a small white chapel"]
    assert tower[1] > 2 * tower[0]  # tall and narrow
    assert bridge[2] > 4 * bridge[0] and bridge[1] < bridge[2] / 3  # long, low
    assert row[0] > 2.2 * row[2]  # a long row
    assert chapel[1] < tower[1] / 2 and chapel[0] < row[0] / 2  # small


def built(words: str, spacing: float = 0.25) -> SplatCloud:
    return build_structure(parse_structure(words), DEFAULT_PALETTE, spacing, 3).cloud


def test_a_row_of_houses_is_of_different_houses() -> None:
    cloud = built("a row of three houses with blue roofs")
    p, colours = cloud.positions.astype(np.float64), cloud.colors.astype(np.float64)
    row = house_row(3, 1.0)
    assert len({round(f, 1) for _, f, _ in row}) == 3  # three frontages
    tops, roofs = [], []
    for cx, frontage, _ in row:
        mine = np.abs(p[:, 0] - cx) < frontage / 2 - 0.5
        tops.append(float(p[mine, 1].max()))
        blue = mine & (colours[:, 2] > 1.5 * colours[:, 0])
        assert blue.sum() > 100  # a blue roof on each
        roofs.append(colours[blue].mean(axis=0))
    assert max(tops) - min(tops) > 1.5, f"ridges all at {tops}"  # storeys and pitches differ
    assert max(np.abs(a - b).max() for a in roofs for b in roofs) > 0.03  # tiles of their own shade


def test_a_tower_is_square_and_crenellated_a_chapel_has_its_bell_cote() -> None:
    p = built("a stone tower").positions.astype(np.float64)
    height = p[:, 1].max()
    middle = p[np.abs(p[:, 1] - height / 2) < 0.5]
    # A square plan: corners reach out as far along the diagonal as the faces do along the axes
    # (a round tower's reach |x| + |z| is only 1.41 times its radius).
    assert np.abs(middle[:, [0, 2]]).sum(axis=1).max() > 1.8 * np.abs(middle[:, 0]).max()
    # Merlons: the top 0.7 m holds a crown broken by gaps, not a closed ring.
    crown = p[p[:, 1] > height - 0.7]
    along = np.sort(crown[crown[:, 2] < -2.5][:, 0])
    assert np.diff(along).max() > 0.4, "no crenels between the merlons"
    chapel = built("a small white chapel")
    q, colours = chapel.positions.astype(np.float64), chapel.colors.astype(np.float64)
    top = q[np.argmax(q[:, 1])]
    ridge = np.percentile(q[np.abs(q[:, 2]) < 1.0, 1], 99)  # the roof's ridge, mid-nave
    assert top[1] > ridge + 1.5 and top[2] < 0, "no bell-cote over the front gable"
    walls = colours[(q[:, 1] > 0.5) & (q[:, 1] < 2.0)]  # lit or in shade, and its windows
    assert np.median(walls.min(axis=1)) > 0.5 and np.median(np.ptp(walls, axis=1)) < 0.05, "not white"


def test_a_bridge_is_open_beneath_its_deck() -> None:
    p = built("a wooden bridge").positions.astype(np.float64)
    middle = np.abs(p[:, 2]) < 4.0
    deck = p[middle, 1].max()
    under = middle & (p[:, 1] > 0.3) & (p[:, 1] < deck - 1.6)
    assert under.sum() < 0.1 * middle.sum(), "a solid hump, not a deck on piers"  # the piers only
    assert (p[:, 1] < 0.0).any()  # its piers reach down to the ground


def test_a_church_stands_inside_its_footprint_with_its_spire_on_top_away_from_its_front() -> None:
    spec = parse_structure("a gothic church with a red roof")
    cloud = build_structure(spec, DEFAULT_PALETTE, 0.4, 1).cloud
    p = cloud.positions.astype(np.float64)
    width, depth = footprint(spec)
    # The turned plan's box holds every splat (a splat's own extent past a corner aside).
    assert np.abs(p[:, 0]).max() <= width / 2 + 0.3 and np.abs(p[:, 2]).max() <= depth / 2 + 0.3
    tip = p[np.argmax(p[:, 1])]
    assert 14.0 < tip[1] < 16.0  # a village church's spire: inside a photo's frame 40 m ahead
    assert tip[2] > 3.0  # the tower at the far end: the front (-z) shows the roof and the gable
    high = p[:, 1] > tip[1] - 2.2  # the spire alone stands this high: roof-coloured, and narrow
    red = cloud.colors[high].astype(np.float64)
    assert (red[:, 0] > 2 * red[:, 1]).all()
    assert np.ptp(p[high, 0]) < 2.5 and np.ptp(p[high, 2]) < 2.5
    # Its roof is steep: the ridge rises at least 1.3 times the nave's half width over the eaves.
    on_roof = (cloud.colors[:, 0] > 2 * cloud.colors[:, 1]) & (p[:, 1] < tip[1] - 6.0)
    assert np.ptp(p[on_roof, 1]) > 1.3 * 7.5 / 2
    # Tiled, not flat: within one slope (one light), courses and tiles each have their own shade.
    normals = np.abs(cloud.rotations[on_roof].astype(np.float64))
    slope = np.all(np.abs(normals - normals[0]) < 1e-3, axis=1)
    light = cloud.colors[on_roof][slope].astype(np.float64).mean(axis=1)
    assert slope.sum() > 100 and light.std() / light.mean() > 0.04


def test_a_named_red_roof_reads_as_weathered_clay_not_paint() -> None:
    spec = parse_structure("a gothic church with a red roof")
    cloud = build_structure(spec, DEFAULT_PALETTE, 0.4, 1).cloud
    p, colours = cloud.positions.astype(np.float64), cloud.colors.astype(np.float64)
    on_roof = colours[:, 0] > 2 * colours[:, 1]
    roof = colours[on_roof]
    assert on_roof.sum() > 1000
    # Still red, as the words say, but with the photo's light in it: not a poster's red.
    assert np.median(roof[:, 1] / roof[:, 0]) > 0.25 and np.median(roof[:, 2] / roof[:, 0]) > 0.2
    # Within one slope (one light), patches and the eaves vary it: seen from afar it is not flat.
    normals = np.abs(cloud.rotations[on_roof].astype(np.float64))
    slope = np.all(np.abs(normals - normals[0]) < 1e-3, axis=1) & (p[on_roof, 1] < 12.0)
    light = roof[slope].mean(axis=1)
    assert slope.sum() > 100 and light.std() / light.mean() > 0.06


def test_bad_directives_name_the_problem() -> None:
    cases = [
        ({"kind": "paint", "region": circle(0, 0, 5), "ground": "sand", "colour": "red"}, "unknown: colour"),
        ({"kind": "paint", "region": {"polyline": {"points": [[0, 0]], "width": 2}}, "ground": "sand"}, "2 to"),
        ({"kind": "path", "region": circle(0, 0, 5)}, "polyline"),
        ({"kind": "paint", "region": circle(1e12, 0, 5), "ground": "sand"}, "beyond"),
        ({"kind": "terrain", "region": circle(0, 0, 5), "op": "raise", "amount": float("inf")}, "finite"),
        ({"kind": "layout", "region": circle(0, 0, 5)}, "at least one"),
        ({"kind": "paint", "region": {"polygon": [[0, 0], [5000, 0], [0, 10]]}, "ground": "sand"}, "at most 2048"),
    ]
    for data, reason in cases:
        with pytest.raises(DirectiveError, match=reason):
            parse_directive(data)


def test_a_directive_touches_its_tiles_and_all_their_parents_only() -> None:
    d = parse_directive({"kind": "paint", "region": circle(100, -100, 6), "ground": "sand", "falloff": 1})
    inside = TileKey(0, 12, -13)  # 8 m tiles: (96..104, -104..-96)
    assert d.touches(inside, 8.0)
    key = inside
    while key.lod < 16:
        key = key.parent()
        assert d.touches(key, 8.0)
    assert not d.touches(TileKey(0, 20, -13), 8.0) and not d.touches(TileKey(0, 0, 0), 8.0)


def entry(version: int, data: dict | None, target: int = 0) -> LogEntry:
    if data is None:
        return LogEntry(version, "revert", target, None, 0)
    return LogEntry(version, "apply", version, parse_directive(data), 0)


def test_revert_restores_stamps_and_a_pin_holds_its_tiles() -> None:
    state = DirectiveState(8.0)
    tile, far = TileKey(0, 0, -5), TileKey(0, 30, 30)
    assert state.stamp(tile) == 0
    state.append(entry(1, {"kind": "paint", "region": circle(4, -36, 3), "ground": "sand"}))
    first = state.stamp(tile)
    state.append(entry(2, {"kind": "terrain", "region": circle(4, -36, 3), "op": "raise", "amount": 3}))
    assert state.stamp(tile) not in (0, first) and state.stamp(far) == 0
    state.append(entry(3, None, target=2))  # undo the raise: a new version, the old stamp again
    assert state.stamp(tile) == first and state.version == 3
    with pytest.raises(DirectiveError, match="already reverted"):
        state.check_revert(2)
    state.append(entry(4, {"kind": "pin", "region": circle(4, -36, 1)}))
    painted = parse_directive({"kind": "paint", "region": circle(4, -36, 30), "ground": "snow"})
    assert tile in state.pinned_under(painted)
    state.append(LogEntry(5, "apply", 5, painted, 0))
    assert state.stamp(tile) == first  # pinned: unchanged
    assert state.stamp(TileKey(0, 3, -5)) != 0  # beside the pin: painted
    state.append(entry(6, None, target=4))  # unpinned: the paint reaches it now
    assert state.stamp(tile) != first


def test_the_log_survives_a_restart_and_only_ever_grows(tmp_path: Path) -> None:
    async def scenario() -> None:
        worlds, pool = make_worlds(tmp_path)
        try:
            world, _ = await worlds.create_world(small_photo(), name="log")
            await worlds.apply_directive(world.id, {"kind": "paint", "region": circle(4, -36, 3), "ground": "sand"})
            await worlds.apply_directive(world.id, json.dumps({"kind": "pin", "region": circle(4, -36, 1)}))
            await worlds.revert_directive(world.id, 1)
            stamp = worlds.stamp(world.id, TileKey(0, 0, -5))
            with pytest.raises(ValueError, match="not the next"):
                worlds.store.append_directive(world.id, DirectiveRow(2, "revert", 2, "", 0))
        finally:
            await worlds.close()
            pool.shutdown()
            worlds.store.close()
        again, pool = make_worlds(tmp_path)  # a restarted server reads the log back
        try:
            listing = await again.list_directives(world.id)
            assert [(e.version, e.op, e.target) for e in listing.entries] == [
                (1, "apply", 1),
                (2, "apply", 2),
                (3, "revert", 1),
            ]
            assert listing.active == [2] and again.stamp(world.id, TileKey(0, 0, -5)) == stamp
        finally:
            await again.close()
            pool.shutdown()
            again.store.close()

    run(scenario(), 120)


@pytest.fixture(scope="module")
def small_world(tmp_path_factory: pytest.TempPathFactory) -> tuple[PhotoGenerator, object, Path]:
    image = Image.open(photo_path("lyra2_06")).convert("RGB").resize((320, 200))
    out = io.BytesIO()
    image.save(out, format="PNG")
    path = tmp_path_factory.mktemp("photo") / "small.png"
    path.write_bytes(out.getvalue())
    generator = PhotoGenerator()
    return generator, generator.prepare(decode_photo(out.getvalue()), GeneratorOptions()), path


def test_tiles_under_directives_change_where_they_say_and_nowhere_else(small_world: tuple) -> None:
    generator, world, _ = small_world
    key = TileKey(0, 3, -8)  # (24..32, -64..-56)
    plain = generator.generate(world, key)
    assert generate_directed(generator, world, key, []).splats.positions.tobytes() == plain.splats.positions.tobytes()
    paint = parse_directive({"kind": "paint", "region": circle(28, -60, 2), "ground": "snow", "falloff": 0})
    painted = generate_directed(generator, world, key, [paint])
    p = plain.splats.positions
    outside = np.hypot(p[:, 0] - 28, p[:, 2] + 60) > 2.5
    assert np.array_equal(painted.splats.colors[outside], plain.splats.colors[outside])
    assert not np.array_equal(painted.splats.colors[~outside], plain.splats.colors[~outside])
    raised = parse_directive({"kind": "terrain", "region": circle(28, -60, 3), "op": "raise", "amount": 5})
    lifted = generate_directed(generator, world, key, [raised])
    assert lifted.heights.max() == pytest.approx(plain.heights.max() + 5, abs=0.6)
    again = generate_directed(PhotoGenerator(), world, key, [raised])  # another process, same bytes
    assert again.splats.positions.tobytes() == lifted.splats.positions.tobytes()


def test_the_tile_command_takes_directives_and_refuses_what_it_cannot_take(
    small_world: tuple, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _, _, photo = small_world
    good = tmp_path / "good.json"
    good.write_text(json.dumps([{"kind": "place", "region": circle(4, -36, 10), "structure": "a stone tower"}]))
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"kind": "place", "region": circle(4, -36, 10), "structure": "a glass pyramid"}]))
    args = ["tile", str(photo), "--key", "0,0,-5", "--format", "ply", "--json"]
    assert main([*args, "--out", str(tmp_path / "bad.ply"), "--directives", str(bad)]) == 2
    assert "'glass', 'pyramid'" in capsys.readouterr().err and not (tmp_path / "bad.ply").exists()
    assert main([*args, "--out", str(tmp_path / "plain.ply")]) == 0
    plain = json.loads(capsys.readouterr().out)
    assert main([*args, "--out", str(tmp_path / "tower.ply"), "--directives", str(good)]) == 0
    tower = json.loads(capsys.readouterr().out)
    assert tower["splats"] > plain["splats"] + 500  # the tower's walls stand in this tile


def test_the_json_schema_agrees_with_the_parser() -> None:
    """Every example the docs draw validates, and what the schema refuses the parser refuses too."""
    import jsonschema

    from bench.directives_look import EXAMPLES
    from bridge.world.directives import GROUNDS
    from tests.conftest import REPO

    schema = json.loads((REPO / "proto" / "worldbridge" / "v1" / "directive.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    validator = jsonschema.Draft202012Validator(schema)
    assert schema["$defs"]["Ground"]["enum"] == list(GROUNDS)
    for items in EXAMPLES.values():
        for item in items:
            assert not list(validator.iter_errors(item)), item
            parse_directive(item)
    refused = [
        {"kind": "paint", "region": circle(0, 0, 5)},
        {"kind": "path", "region": circle(0, 0, 5)},
        {"kind": "pin", "region": circle(0, 0, 5), "ground": "sand"},
        {"kind": "terrain", "region": circle(0, 0, 0), "op": "smooth"},
    ]
    for item in refused:
        assert list(validator.iter_errors(item)), item
        with pytest.raises(DirectiveError):
            parse_directive(item)


def test_a_structure_stands_kilometres_away_too(small_world: tuple) -> None:
    generator, world, _ = small_world
    x, z = 5004.0, -3004.0  # the middle of LOD 0 tile (625, -376)
    key = TileKey(0, 625, -376)
    tower = parse_directive({"kind": "place", "region": circle(x, z, 5), "structure": "a tall stone tower"})
    plain = generator.generate(world, key)
    placed = generate_directed(generator, world, key, [tower])
    ground = float(generator.ground_height(world, np.array([x]), np.array([z]))[0])
    assert len(placed.splats) > len(plain.splats) + 500
    assert placed.splats.positions[:, 1].max() > ground + 20  # a tower, not a bump
