"""The Godot harness itself: the .pck packer, and GDScript run in the real Godot 4.6 web runtime."""

from __future__ import annotations

import hashlib
import struct
from pathlib import Path

import pytest

from tests.godot.pck import HEADER, read_pck, write_pck
from tests.godot.runtime import missing_tools, project_files, run_project

VECTOR = Path(__file__).resolve().parents[1] / "vectors" / "splat_textures" / "photo_ground.wbtx"


def test_pack_round_trips_and_states_its_layout() -> None:
    files = {"project.godot": "config_version=5\n", "res://a/b.gd": "extends Node\n", "data.bin": bytes(range(256))}
    pack = write_pck(files)
    magic, version, major, minor, _, flags, file_base, dir_offset, _ = HEADER.unpack_from(pack)
    assert (magic, version, major, minor, flags) == (b"GDPC", 3, 4, 6, 2)
    assert file_base % 16 == 0 and dir_offset < len(pack)
    assert struct.unpack_from("<I", pack, dir_offset)[0] == 3
    assert read_pck(pack) == {
        "res://project.godot": b"config_version=5\n",
        "res://a/b.gd": b"extends Node\n",
        "res://data.bin": bytes(range(256)),
    }
    assert write_pck(files) == pack  # same files, same bytes


@pytest.mark.parametrize("path", ["../escape.gd", "/abs.gd", "a//b.gd", "a/./b.gd", ""])
def test_pack_refuses_paths_outside_the_project(path: str) -> None:
    with pytest.raises(ValueError, match="inside the project"):
        write_pck({"project.godot": "", path: ""})


def test_pack_needs_a_project_and_detects_damage() -> None:
    with pytest.raises(ValueError, match=r"project\.godot"):
        write_pck({"main.gd": ""})
    pack = bytearray(write_pck({"project.godot": "config_version=5\n"}))
    pack[HEADER.size + 16] ^= 1  # the project file's first byte, after the header's alignment
    with pytest.raises(ValueError, match="disagree"):
        read_pck(bytes(pack))


MAIN = """extends Node

func _ready() -> void:
	print("-- results --")
	print(Engine.get_version_info()["string"])
	print("args=", ",".join(OS.get_cmdline_user_args()))
	print("sha256=", "WorldBridge".sha256_text())
	var data := FileAccess.get_file_as_bytes("res://vector.wbtx")
	var hashing := HashingContext.new()
	hashing.start(HashingContext.HASH_SHA256)
	hashing.update(data)
	print("file=", data.size(), ":", hashing.finish().hex_encode())
	print("has=", ",".join([ClassDB.class_exists("WebSocketPeer"), ClassDB.class_exists("MultiMesh")]))
	get_tree().quit(3)
"""


def test_gdscript_runs_in_the_real_engine(tmp_path: Path) -> None:
    assert missing_tools() is None, missing_tools()
    vector = VECTOR.read_bytes()
    run = run_project(project_files(MAIN, {"vector.wbtx": vector}), tmp_path, user_args=["--world", "w1"])
    assert not run.timed_out and run.failure is None, run
    assert run.exit_code == 3
    assert any(line.startswith("Godot Engine v4.6.stable.official") for line in run.printed)
    results = run.after("-- results --")
    assert results[0] == "4.6-stable (official)"
    assert results[1] == "args=--world,w1"
    assert results[2] == "sha256=" + hashlib.sha256(b"WorldBridge").hexdigest()
    assert results[3] == f"file={len(vector)}:{hashlib.sha256(vector).hexdigest()}"
    assert results[4] == "has=true,true"
    assert run.errors == [] and run.console == []


def test_engine_errors_reach_the_test(tmp_path: Path) -> None:
    # The template is a release build: GDScript's own runtime checks are compiled out (an
    # out-of-bounds read of an untyped Array gives null, silently), but the engine's errors and
    # push_error() print, and the tests read them.
    script = """extends Node

func _ready() -> void:
	print("before")
	push_error("deliberate: from the script")
	var image := Image.create_from_data(4, 4, false, Image.FORMAT_RGBA8, PackedByteArray([1, 2, 3]))
	print("empty=", image.is_empty())
	get_tree().quit(0)
"""
    run = run_project(project_files(script), tmp_path, timeout_s=60)
    assert run.exit_code == 0 and run.after("before") == ["empty=true"]
    assert any("deliberate: from the script" in line for line in run.errors), run.errors
    assert any("Expected Image data size" in line for line in run.errors), run.errors
