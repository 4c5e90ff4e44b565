"""Every tile format has its wire enum value, and the two map one to one."""

from __future__ import annotations

from bridge.formats import FORMATS
from bridge.wire._proto.worldbridge.v1 import types_pb2 as types
from bridge.wire.convert import FORMAT_ENUMS, format_name


def test_every_format_maps_to_its_enum_and_back() -> None:
    assert set(FORMAT_ENUMS) == set(FORMATS)
    for name, value in FORMAT_ENUMS.items():
        assert types.TileFormat.Name(value) == "TILE_FORMAT_" + name.upper().replace("-", "_")
        assert format_name(value) == name
    assert FORMAT_ENUMS["splat-textures"] == types.TILE_FORMAT_SPLAT_TEXTURES == 6
    assert len(set(FORMAT_ENUMS.values())) == len(FORMATS)
