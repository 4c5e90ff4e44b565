"""The addon's GDScript decoder of the splat-textures format, run in the real Godot 4.6 engine on the
committed test vectors (and a full-size tile), against the Python decoder's values bit for bit."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import numpy as np
import pytest

from bridge.formats import encode_tile
from bridge.formats.splat_textures import decode_splat_textures
from bridge.formats.tilecodec import decoded_bytes
from bridge.world.keys import TileKey
from tests.godot.runtime import GodotRun, project_files, run_project
from tests.sample_tiles import PHOTOS, ground_tile, load_photo

REPO = Path(__file__).resolve().parents[2]
ADDON = REPO / "godot_addon" / "addons" / "worldbridge"
DECODER = ADDON / "splat_textures.gd"
VECTORS = REPO / "tests" / "vectors" / "splat_textures"

# Decodes every tile under res://tiles/, lays the values out as the Python decoder's float32 blob
# (positions, scales, rotations w x y z, opacities, colours; the loops over splats are this test's,
# not the decoder's), prints its SHA-256; then feeds the decoder broken variants of one tile.
MAIN = """extends Node

const SplatTextures := preload("res://addons/worldbridge/splat_textures.gd")


func _ready() -> void:
	print("-- tiles --")
	for name: String in DirAccess.get_files_at("res://tiles"):
		var data := FileAccess.get_file_as_bytes("res://tiles/" + name)
		var started := Time.get_ticks_usec()
		var tile: SplatTextures.Tile = SplatTextures.decode(data)
		var micros := Time.get_ticks_usec() - started
		if not tile.error.is_empty():
			print("%s|error|%s" % [name, tile.error])
			continue
		var textures := ""
		if tile.count > 0:
			var texture := ImageTexture.create_from_image(tile.positions)
			textures = "%dx%d" % [texture.get_width(), texture.get_height()]
		var origin := PackedFloat64Array([tile.origin_x, tile.origin_y, tile.origin_z]).to_byte_array().hex_encode()
		var digest := _sha256(_values(tile).to_byte_array())
		print("%s|%d|%d|%d|%s|%s|%s|%d" % [name, tile.count, tile.width, tile.rows, origin, digest, textures, micros])
	print("-- broken --")
	printerr("-- broken --")  # so the test can tell the good tiles' errors (none) from these
	var good := FileAccess.get_file_as_bytes("res://tiles/photo_ground.wbtx")
	for variant: Array in _broken(good):
		print("%s|%s" % [variant[0], SplatTextures.decode(variant[1]).error])
	print("-- end --")
	get_tree().quit(0)


func _values(tile: SplatTextures.Tile) -> PackedFloat32Array:
	var n := tile.count
	var out := PackedFloat32Array()
	out.resize(n * 14)
	for i in n:
		var x := i % tile.width
		var y := i / tile.width
		var p := tile.positions.get_pixel(x, y)
		var s := tile.scales.get_pixel(x, y)
		var q := tile.rotations.get_pixel(x, y)
		var c := tile.colors.get_pixel(x, y)
		var row := [tile.origin_x + p.r, tile.origin_y + p.g, tile.origin_z + p.b]
		for k in 3:
			out[3 * i + k] = row[k]
			out[3 * n + 3 * i + k] = [s.r, s.g, s.b][k]
			out[11 * n + 3 * i + k] = [c.r, c.g, c.b][k]
		for k in 4:
			out[6 * n + 4 * i + k] = [q.a, q.r, q.g, q.b][k]
		out[10 * n + i] = c.a
	return out


func _sha256(bytes: PackedByteArray) -> String:
	var hashing := HashingContext.new()
	hashing.start(HashingContext.HASH_SHA256)
	if not bytes.is_empty():
		hashing.update(bytes)
	return hashing.finish().hex_encode()


func _patched_u32(data: PackedByteArray, offset: int, value: int) -> PackedByteArray:
	var out := data.duplicate()
	out.encode_u32(offset, value)
	return out


func _broken(good: PackedByteArray) -> Array:
	var bad_magic := good.duplicate()
	bad_magic[0] = 0x58
	var flipped := good.duplicate()
	flipped[good.size() - 9] ^= 0xFF
	var flipped_origin := good.duplicate()
	flipped_origin[33] ^= 0x01
	return [
		["short", good.slice(0, 40)],
		["truncated", good.slice(0, good.size() - 1)],
		["magic", bad_magic],
		["bomb", _patched_u32(good, 20, 0xFFFFFFFF)],
		["huge_count", _patched_u32(good, 8, 0x7FFFFFFF)],
		["rows", _patched_u32(good, 16, 7)],
		["width", _patched_u32(good, 12, 1000)],
		["lying_size", _patched_u32(_patched_u32(good, 16, 3), 20, 36 * 1024 * 3)],
		["corrupt_body", flipped],
		["corrupt_origin", flipped_origin],
	]
"""


def _rows(run: GodotRun, start: str, end: str) -> list[list[str]]:
    lines = run.after(start)
    return [line.split("|") for line in lines[: lines.index(end)]]


@pytest.fixture(scope="module")
def engine_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[GodotRun, dict[str, bytes]]:
    tiles = {path.name: path.read_bytes() for path in sorted(VECTORS.glob("*.wbtx"))}
    if PHOTOS.is_dir():  # a full-size tile as the server sends it: 25,600 splats, 25 texture rows
        photo = load_photo(PHOTOS / "lyra2_06.png", max_width=640)
        tiles["full_size.wbtx"] = encode_tile(ground_tile(photo, TileKey(0, 7, -3)), "splat-textures", 32.0)
    files = project_files(
        MAIN,
        {"addons/worldbridge/splat_textures.gd": DECODER.read_text()}
        | {f"tiles/{name}": data for name, data in tiles.items()},
    )
    run = run_project(files, tmp_path_factory.mktemp("godot"), timeout_s=240)
    assert not run.timed_out and run.failure is None and run.exit_code == 0, run
    return run, tiles


def test_engine_decodes_every_vector_to_the_python_values(engine_run: tuple[GodotRun, dict[str, bytes]]) -> None:
    run, tiles = engine_run
    decoded = {row[0]: row for row in _rows(run, "-- tiles --", "-- broken --")}
    assert set(decoded) == set(tiles)
    for name, data in tiles.items():
        row = decoded[name]
        assert row[1] != "error", row
        cloud = decode_splat_textures(data)
        count, width, rows = int(row[1]), int(row[2]), int(row[3])
        assert (count, width, rows) == (len(cloud), 1024, -(-len(cloud) // 1024)), name
        assert row[4] == data[32:56].hex(), name  # the origin, as the engine's doubles
        assert row[5] == hashlib.sha256(decoded_bytes(cloud)).hexdigest(), f"{name}: the engine's values differ"
        assert row[6] == (f"1024x{rows}" if count else ""), name
    assert run.errors.index("-- broken --") == 0, f"the engine complained about good tiles: {run.errors}"


def test_engine_decoder_refuses_broken_tiles(engine_run: tuple[GodotRun, dict[str, bytes]]) -> None:
    run, _ = engine_run
    reasons = dict(_rows(run, "-- broken --", "-- end --"))
    expected = {
        "short": "shorter than the header",
        "truncated": "compressed length",
        "magic": "wrong magic",
        "bomb": "decompression bomb",
        "huge_count": "more than the limit",
        "rows": "rows disagree",
        "width": "power of two",
        "lying_size": "rows disagree",
        "corrupt_body": "checksum mismatch",
        "corrupt_origin": "checksum mismatch",
    }
    for name, words in expected.items():
        assert words in reasons[name], (name, reasons[name])


def test_decoder_has_no_loop_over_splats() -> None:
    # The format's promise: one decompress, one image per texture. Its only loop walks the four textures.
    code = DECODER.read_text()
    loops = re.findall(r"^\s*(?:for|while)\b.*$", code, flags=re.MULTILINE)
    assert loops == ["\tfor texture: Array in layout:  # four textures, not a loop over splats"]
    assert code.count(".decompress(") == 1
    assert np.sum([code.count(f"Image.FORMAT_{f}") for f in ("RGBAF", "RGBAH", "RGBA8")]) == 4
