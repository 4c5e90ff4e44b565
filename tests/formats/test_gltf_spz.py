"""SPZ-compressed splat glTF (KHR_gaussian_splatting + KHR_gaussian_splatting_compression_spz_2):
what the writer makes passes the checker, holds the same SPZ version 2 file as the ``spz`` export,
and the checker flags each rule of the extension's text when a file breaks it."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from bridge.formats import EXPORT_ONLY_FORMATS, FORMATS, file_format
from bridge.formats._gltf import read_glb
from bridge.formats.gltf_splat_check import check_gaussian_splatting
from bridge.formats.gltf_splats import EXTENSION, SCALE
from bridge.formats.gltf_spz import COMPRESSION, decode_gltf_spz, encode_gltf_spz
from bridge.formats.splats import SplatCloud
from bridge.formats.spz import encode_spz, read_spz
from bridge.world.keys import TileKey
from tests.glb_support import edit_glb_json
from tests.sample_tiles import ground_tile


def _cloud() -> SplatCloud:
    """A real tile's splats (the sample ground), placed far out so positions are large numbers."""
    tile = ground_tile(np.full((8, 8, 3), 0.4, np.float32), TileKey(0, 300, -41), per_side=6)
    return tile.splats


def _prim(gltf: dict[str, Any]) -> dict[str, Any]:
    return gltf["meshes"][0]["primitives"][0]


def _payload(glb: bytes) -> bytes:
    g = read_glb(glb)
    view = _prim(g.gltf)["extensions"][EXTENSION]["extensions"][COMPRESSION]["bufferView"]
    return g.view_bytes(view)


def test_the_payload_is_the_spz_version_2_file_and_reads_back() -> None:
    cloud = _cloud()
    glb = encode_gltf_spz(cloud)
    assert check_gaussian_splatting(glb) == []
    payload = _payload(glb)
    assert payload == encode_spz(cloud, version=2)  # what `export --format spz` writes for the tile
    assert read_spz(payload)[0].version == 2
    back = decode_gltf_spz(glb)
    assert len(back) == len(cloud)
    assert np.abs(back.positions - cloud.positions).max() < 1e-3  # SPZ's fixed point, world metres
    gltf = read_glb(glb).gltf
    assert {EXTENSION, COMPRESSION} <= set(gltf["extensionsRequired"])
    assert "translation" not in gltf["nodes"][0]


def test_it_is_an_export_format_and_not_a_streamed_one() -> None:
    assert "gltf-spz" in EXPORT_ONLY_FORMATS and "gltf-spz" not in FORMATS
    record = file_format("gltf-spz")
    assert record.extension == ".glb" and record.carries == "splats"
    with pytest.raises(ValueError, match="unknown file format"):
        file_format("gltf-zip")


def _with_payload(glb: bytes, payload: bytes) -> bytes:
    def change(gltf: dict[str, Any]) -> None:
        gltf["bufferViews"][0]["byteLength"] = len(payload)

    return edit_glb_json(glb, change, binary=payload)


def _accessor(gltf: dict[str, Any], name: str) -> dict[str, Any]:
    return gltf["accessors"][_prim(gltf)["attributes"][name]]


def _compression(gltf: dict[str, Any]) -> dict[str, Any]:
    return _prim(gltf)["extensions"][EXTENSION]["extensions"][COMPRESSION]


def _shrink_max(gltf: dict[str, Any]) -> None:
    _accessor(gltf, "POSITION")["max"][1] -= 1.0


BROKEN: list[tuple[str, Callable[[dict[str, Any]], object], str]] = [
    ("not in extensionsUsed", lambda g: g["extensionsUsed"].remove(COMPRESSION), "extensionsUsed"),
    ("not required", lambda g: g["extensionsRequired"].remove(COMPRESSION), "must be required"),
    ("no bufferView", lambda g: _compression(g).pop("bufferView"), "has no bufferView"),
    ("view past the data", lambda g: _compression(g).update(bufferView=7), "no SPZ file"),
    ("no COLOR_0", lambda g: _prim(g)["attributes"].pop("COLOR_0"), "COLOR_0, which the SPZ supplies"),
    ("count", lambda g: _accessor(g, SCALE).update(count=_accessor(g, SCALE)["count"] + 1), "not the SPZ's"),
    ("type", lambda g: _accessor(g, SCALE).update(type="VEC4"), "not allowed"),
    ("SH not in the SPZ", lambda g: _prim(g)["attributes"].update({f"{EXTENSION}:SH_DEGREE_1_COEF_0": 0}), "SH"),
    ("bounds", _shrink_max, "outside POSITION's min/max"),
    ("kernel", lambda g: _prim(g)["extensions"][EXTENSION].pop("kernel"), "'kernel' is missing"),
    ("mode", lambda g: _prim(g).update(mode=4), "POINTS"),
]


@pytest.mark.parametrize(("what", "change", "problem"), BROKEN, ids=[b[0] for b in BROKEN])
def test_the_checker_flags_each_rule_of_the_extension_text(
    what: str, change: Callable[[dict[str, Any]], object], problem: str
) -> None:
    problems = check_gaussian_splatting(edit_glb_json(encode_gltf_spz(_cloud()), change))
    assert any(problem in p for p in problems), (what, problems)


def test_the_checker_wants_spz_version_2_and_an_spz_file() -> None:
    cloud = _cloud()
    glb = encode_gltf_spz(cloud)
    v3 = check_gaussian_splatting(_with_payload(glb, encode_spz(cloud, version=3)))
    assert any("version 3" in p for p in v3), v3
    garbage = check_gaussian_splatting(_with_payload(glb, b"\x1f\x8b" + bytes(64)))
    assert any("no SPZ file" in p for p in garbage), garbage
    with pytest.raises(ValueError):
        decode_gltf_spz(_with_payload(glb, b"not an spz at all"))
