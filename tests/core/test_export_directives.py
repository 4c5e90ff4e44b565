"""Exports honour directives: an export of a directed world holds the tiles the server streams
under its directives, different from the undirected export exactly where a directive reaches and
the same elsewhere; the manifest lists each directive with its version; a rebuild from the
manifest in a data folder whose world has no directives gives the same bytes."""

from __future__ import annotations

import copy
import hashlib
import math
from pathlib import Path
from typing import Any

import pytest
from plyfile import PlyData

from bridge.core.errors import InvalidRequestError
from bridge.core.export import ExportRequest, Region, plan_export, read_manifest
from bridge.core.export.directed import ExportDirectives
from bridge.core.export.folder import write_folder
from bridge.world.keys import TileKey
from tests.conftest import run
from tests.export_support import export_to, folder_digests
from tests.glb_support import red_lacquer, tower_glb
from tests.stream_support import make_worlds, small_photo

# 4 x 5 LOD-0 tiles of 8 m in front of the spawn: a structure in words at one end, an uploaded
# GLB tower at the other, and tiles neither reaches between them.
REGION = Region(0.0, -40.0, 32.0, 0.0)
STONE_TOWER = (20.0, -20.0)
GLB_AT = (6.0, -34.0)
BASE = 8.0


def _place_words() -> dict[str, Any]:
    return {
        "kind": "place",
        "region": {"circle": {"center": list(STONE_TOWER), "radius": 4}},
        "structure": "a stone tower",
    }


def _place_glb(sha: str) -> dict[str, Any]:
    return {"kind": "place", "region": {"circle": {"center": list(GLB_AT), "radius": 5}}, "glb": sha}


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The region as PLY tiles before the directives, under them and after both are reverted;
    the tiles the server streams under them; the GLB."""
    root = tmp_path_factory.mktemp("directed")
    request = ExportRequest(REGION, "ply")

    async def go() -> dict[str, Any]:
        worlds, pool = make_worlds(root / "data")
        try:
            world, _ = await worlds.create_world(small_photo(), name="directed-export")
            plain = await export_to(worlds, world.id, request, root / "plain")
            glb = tower_glb(red_lacquer())
            upload = await worlds.upload_glb(world.id, glb)
            words = await worlds.apply_directive(world.id, _place_words())
            model = await worlds.apply_directive(world.id, _place_glb(upload.sha256))
            directed = await export_to(worlds, world.id, request, root / "directed")
            keys = REGION.keys(0, BASE)
            streamed = {key: (await worlds.tile(world.id, key, "ply")).data for key in keys}
            await worlds.revert_directive(world.id, words.directive_id)
            await worlds.revert_directive(world.id, model.directive_id)
            reverted = await export_to(worlds, world.id, request, root / "reverted")
            return {
                "root": root,
                "manifests": {"plain": plain, "directed": directed, "reverted": reverted},
                "streamed": streamed,
                "ids": (words.directive_id, model.directive_id),
                "glb": glb,
            }
        finally:
            await worlds.close()
            pool.shutdown()

    return run(go(), 300)


def _tile_file(root: Path, name: str, key: TileKey) -> bytes:
    return (root / name / "tiles" / f"{key.lod}_{key.ix}_{key.iz}.ply").read_bytes()


def _near(key: TileKey, centre: tuple[float, float], metres: float) -> bool:
    return key.distance_m(*centre, BASE) <= metres


def test_the_export_changes_exactly_the_tiles_a_directive_reaches(exports: dict[str, Any]) -> None:
    root, streamed = exports["root"], exports["streamed"]
    changed = {key for key in streamed if _tile_file(root, "directed", key) != _tile_file(root, "plain", key)}
    for key in streamed:
        # Under its directives a tile is what the server streams (the same encoder, the same bytes).
        assert _tile_file(root, "directed", key) == streamed[key], key
        if not (_near(key, STONE_TOWER, 16.0) or _near(key, GLB_AT, 16.0)):
            assert key not in changed, f"{key} lies far from both directives yet changed"
    assert TileKey(0, 2, -3) in changed  # the tile under the stone tower's centre (20, -20)
    assert TileKey(0, 0, -5) in changed  # the tile under the GLB tower's centre (6, -34)
    untouched = set(streamed) - changed
    assert len(untouched) >= 6, "the region should keep tiles neither directive reaches"
    # The manifest counts the tiles a directive reaches (their identity includes it), a few of
    # which it leaves as they were (its reach is conservative).
    manifest = exports["manifests"]["directed"]
    reached = {k for k in streamed if ExportDirectives.from_manifest(manifest["directives"], BASE).for_tile(k)[0]}
    assert changed <= reached and manifest["directives"]["directed_tiles"] == len(reached)


def test_a_placed_tower_stands_in_the_exported_splats(exports: dict[str, Any]) -> None:
    root = exports["root"]
    key = TileKey(0, 2, -3)
    heights = {}
    for name in ("plain", "directed"):
        vertex = PlyData.read(str(root / name / "tiles" / "0_2_-3.ply"))["vertex"].data
        heights[name] = float((-vertex["y"]).max())  # PLY is RDF: y down
    assert heights["directed"] > heights["plain"] + 5.0, (key, heights)


def test_the_manifest_lists_each_directive_with_its_version(exports: dict[str, Any]) -> None:
    words_id, glb_id = exports["ids"]
    directives = exports["manifests"]["directed"]["directives"]
    assert directives["version"] == glb_id
    listed = {entry["version"]: entry["directive"] for entry in directives["applied"]}
    assert set(listed) == {words_id, glb_id}
    assert listed[words_id]["structure"] == "a stone tower"
    assert listed[glb_id]["glb"] == hashlib.sha256(exports["glb"]).hexdigest()
    assert "--from-manifest" in exports["manifests"]["directed"]["reproduce"]["command"]
    plain = exports["manifests"]["plain"]["directives"]
    assert plain == {"schema_version": 1, "version": 0, "applied": []}
    # Reverted, the world's version moved on, nothing is in effect, and the files are the plain ones.
    reverted = exports["manifests"]["reverted"]["directives"]
    assert reverted["version"] == glb_id + 2 and reverted["applied"] == []
    plain_tiles = {p: d for p, d in folder_digests(exports["root"] / "plain").items() if p.startswith("tiles/")}
    reverted_tiles = {p: d for p, d in folder_digests(exports["root"] / "reverted").items() if p.startswith("tiles/")}
    assert reverted_tiles == plain_tiles


def test_a_rebuild_from_the_manifest_elsewhere_is_byte_identical(exports: dict[str, Any], tmp_path: Path) -> None:
    folder = exports["root"] / "directed"
    manifest, request = read_manifest((folder / "manifest.json").read_bytes())

    async def rebuild() -> None:
        worlds, pool = make_worlds(tmp_path / "data")  # its world has no directives
        try:
            world, _ = await worlds.create_world(small_photo())
            directives = ExportDirectives.from_manifest(manifest["directives"], BASE)
            with pytest.raises(InvalidRequestError, match="does not hold"):
                await plan_export(worlds, world.id, request, directives=directives)  # the GLB is missing
            worlds.store.blobs.put(exports["glb"])
            plan = await plan_export(worlds, world.id, request, directives=directives)
            await write_folder(plan.events(), tmp_path / "again")
        finally:
            await worlds.close()
            pool.shutdown()

    run(rebuild(), 300)
    assert folder_digests(tmp_path / "again") == folder_digests(folder)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda d: d.update(schema_version=2), "schema version"),
        (lambda d: d.pop("applied"), "lack"),
        (lambda d: d["applied"][0]["directive"].update(kind="bulldoze"), "unknown directive kind"),
        (lambda d: d["applied"][0].update(version=99), "not distinct"),
    ],
)
def test_a_manifest_with_broken_directives_is_refused(exports: dict[str, Any], change: Any, message: str) -> None:
    section = copy.deepcopy(exports["manifests"]["directed"]["directives"])
    change(section)
    with pytest.raises(InvalidRequestError, match=message):
        ExportDirectives.from_manifest(section, BASE)


def test_the_listed_directives_reach_only_their_tiles(exports: dict[str, Any]) -> None:
    listed = ExportDirectives.from_manifest(exports["manifests"]["directed"]["directives"], BASE)
    far = TileKey(0, math.floor(200 / BASE), -1)
    assert listed.for_tile(far) == (0, "")
    stamp, text = listed.for_tile(TileKey(0, 2, -3))
    assert stamp != 0 and "a stone tower" in text


def test_a_layout_steered_export_is_what_viewers_get_and_rebuilds_the_same(tmp_path: Path) -> None:
    """A street steering the layout grammar: the exported tiles are the streamed ones, changed
    on the street, and a rebuild from the manifest in a world without directives is identical."""
    street = {"kind": "layout", "region": {"polyline": {"points": [[4, -40], [12, 0]], "width": 6}}, "street": True}
    region = Region(0.0, -16.0, 16.0, 0.0)
    request = ExportRequest(region, "ply")

    async def go() -> tuple[dict, dict]:
        worlds, pool = make_worlds(tmp_path / "data")
        try:
            world, _ = await worlds.create_world(small_photo(), name="steered-export")
            await export_to(worlds, world.id, request, tmp_path / "plain")
            await worlds.apply_directive(world.id, street)
            manifest = await export_to(worlds, world.id, request, tmp_path / "directed")
            streamed = {key: (await worlds.tile(world.id, key, "ply")).data for key in region.keys(0, BASE)}
        finally:
            await worlds.close()
            pool.shutdown()
        again, pool = make_worlds(tmp_path / "again-data")
        try:
            world, _ = await again.create_world(small_photo())
            listed = ExportDirectives.from_manifest(manifest["directives"], BASE)
            plan = await plan_export(again, world.id, request, directives=listed)
            await write_folder(plan.events(), tmp_path / "again")
        finally:
            await again.close()
            pool.shutdown()
        return manifest, streamed

    manifest, streamed = run(go(), 300)
    assert [e["directive"]["kind"] for e in manifest["directives"]["applied"]] == ["layout"]
    changed = 0
    for key, data in streamed.items():
        assert _tile_file(tmp_path, "directed", key) == data, key
        changed += _tile_file(tmp_path, "directed", key) != _tile_file(tmp_path, "plain", key)
    assert changed >= 2
    assert folder_digests(tmp_path / "again") == folder_digests(tmp_path / "directed")
