"""The streamer's parts in the real Godot 4.6 engine, against the project's Python reference: the LOD
hand-over rule (handover.gd vs bridge/stream/handover.py), joining WBT2 tile frames (tile_frames.gd
on frames the server's own bridge/wire/websocket.py cuts, and damaged ones), the pose maths
(viewer_pose.gd: Godot's axes are glTF's) and the example's settings from arguments and a query
string. One engine run; the GDScript prints one JSON object the tests compare."""

from __future__ import annotations

import base64
import hashlib
import json
import random

import pytest

from bridge.stream.handover import tiles_to_draw
from bridge.stream.messages import TileSent
from bridge.wire.websocket import tile_frames
from bridge.world.keys import TileKey
from tests.godot.example_project import EXAMPLE, addon_files
from tests.godot.runtime import project_files, run_project

FRAME_BYTES = 4096


def _held_sets() -> list[list[TileKey]]:
    """Deterministic held sets: a parent with all, some or none of its children, grandchildren
    covering a child, negative indices, and random mixtures of LODs 0-3."""
    rng = random.Random(16)
    sets = [
        [TileKey(1, 0, 0), TileKey(0, 0, 0), TileKey(0, 1, 0), TileKey(0, 0, 1), TileKey(0, 1, 1)],
        [TileKey(1, -1, -1), TileKey(0, -2, -2), TileKey(0, -1, -2)],
        [TileKey(2, 0, -1), *[TileKey(1, x, z) for x in (0, 1) for z in (-2, -1) if (x, z) != (1, -1)]]
        + [TileKey(0, x, z) for x in (2, 3) for z in (-2, -1)],
    ]
    for _ in range(12):
        keys = {TileKey(rng.randint(0, 3), rng.randint(-4, 3), rng.randint(-4, 3)) for _ in range(rng.randint(1, 40))}
        sets.append(sorted(keys))
    return sets


def _tile(seed: int, size: int) -> TileSent:
    data = random.Random(seed).randbytes(size)
    return TileSent(TileKey(2, -3, 5), "splat-textures", hashlib.sha256(data).hexdigest(), data, 777)


MAIN = """extends Node

const Handover := preload("res://addons/worldbridge/handover.gd")
const TileFrames := preload("res://addons/worldbridge/tile_frames.gd")
const ViewerPose := preload("res://addons/worldbridge/viewer_pose.gd")
const Example := preload("res://example_main.gd")


func _ready() -> void:
	var cases: Dictionary = JSON.parse_string(FileAccess.get_file_as_string("res://cases.json"))
	var out := {}
	var drawn_sets := []
	for held_set: Array in cases["held_sets"]:
		var held := {}
		for k: Array in held_set:
			held[Vector3i(k[0], k[1], k[2])] = true
		var keys := []
		for key: Vector3i in Handover.tiles_to_draw(held):
			keys.append([key.x, key.y, key.z])
		drawn_sets.append(keys)
	out["drawn"] = drawn_sets
	var joined := []
	for stream: Array in cases["frame_streams"]:
		var frames := TileFrames.new()
		var results := []
		for encoded: String in stream:
			var tile: TileFrames.Tile = frames.add(Marshalls.base64_to_raw(encoded))
			if not frames.error.is_empty():
				results.append("error: " + frames.error)
			elif tile != null:
				results.append(
					"%d,%d,%d %s %d %s %d" % [
						tile.key.x, tile.key.y, tile.key.z, tile.format, tile.splat_count,
						tile.sha256, tile.data.size()
					]
				)
		joined.append(results)
	out["joined"] = joined
	var node := Node3D.new()
	add_child(node)
	node.rotation = Vector3(0.0, deg_to_rad(90.0), 0.0)  # a quarter turn left, about +Y
	out["forward_yaw_90"] = _list(ViewerPose.forward_of(node))
	var spawn := Vector3(0.0, -0.0734622162842458, -0.9972980009899783)
	var basis := ViewerPose.basis_looking(spawn)
	out["spawn_basis"] = [_list(basis.x), _list(basis.y), _list(basis.z)]
	node.rotation = Vector3.ZERO
	node.global_basis = basis
	out["spawn_forward_back"] = _list(ViewerPose.forward_of(node))
	out["pose"] = ViewerPose.pose_json(
		Vector3(1.5, 2.0, -3.0), Vector3(0.0, 0.0, -2.0), Vector3(0.5, 0.0, -1.0), 43.5,
		Vector2i(480, 300), Vector3(1000.0, 0.0, -2000.0)
	)
	out["arguments"] = Example.settings_from_arguments(
		PackedStringArray(["--server", "ws://h:1", "--world=abc", "--draw-mode", "meshes", "stray"])
	)
	out["query"] = Example.settings_from_query(
		"?server=ws%3A%2F%2F127.0.0.1%3A8080&world=w%201&w=480&arg=--x&view-radius=64"
	)
	print("result=", JSON.stringify(out))
	get_tree().quit(0)


static func _list(v: Vector3) -> Array:
	return [v.x, v.y, v.z]
"""


@pytest.fixture(scope="module")
def engine_result(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict]:
    held_sets = _held_sets()
    good = _tile(1, 3 * FRAME_BYTES)
    small = _tile(2, 100)
    good_frames = tile_frames(good, FRAME_BYTES)
    damaged = bytearray(good_frames[-1])
    damaged[-1] ^= 1  # one bit of the tile's last byte: the SHA-256 must catch it
    streams = {
        "whole": good_frames + tile_frames(small, FRAME_BYTES),
        "damaged": [*good_frames[:-1], bytes(damaged)],
        "out_of_order": [good_frames[0], good_frames[2], good_frames[1]],
        "no_first": good_frames[1:],
        "not_a_frame": [b"WBT1" + bytes(100)],
    }
    cases = {
        "held_sets": [[[k.lod, k.ix, k.iz] for k in s] for s in held_sets],
        "frame_streams": [[base64.b64encode(f).decode() for f in s] for s in streams.values()],
    }
    extra = addon_files() | {
        "cases.json": json.dumps(cases),
        "example_main.gd": (EXAMPLE / "main.gd").read_text(),
    }
    run = run_project(project_files(MAIN, extra), tmp_path_factory.mktemp("godot-parts"), timeout_s=120)
    assert run.exit_code == 0 and run.errors == [], run
    line = next(line for line in run.printed if line.startswith("result="))
    expected = {
        "drawn": [sorted(tiles_to_draw(s)) for s in held_sets],
        "good": good,
        "small": small,
        "streams": list(streams),
    }
    return json.loads(line.removeprefix("result=")), expected


def test_the_hand_over_rule_agrees_with_the_reference(engine_result: tuple[dict, dict]) -> None:
    result, expected = engine_result
    drawn = [sorted(TileKey(*k) for k in keys) for keys in result["drawn"]]
    assert drawn == expected["drawn"]
    # The cases mean something: a parent gave way to its four children, and one did not.
    assert TileKey(1, 0, 0) not in drawn[0] and TileKey(1, -1, -1) in drawn[1]


def test_tile_frames_join_into_the_tile_and_refuse_damage(engine_result: tuple[dict, dict]) -> None:
    result, expected = engine_result
    joined = dict(zip(expected["streams"], result["joined"], strict=True))
    good, small = expected["good"], expected["small"]
    assert joined["whole"] == [
        f"2,-3,5 splat-textures 777 {good.sha256} {len(good.data)}",
        f"2,-3,5 splat-textures 777 {small.sha256} {len(small.data)}",
    ]
    assert len(joined["damaged"]) == 1 and "SHA-256 does not match" in joined["damaged"][0]
    assert joined["out_of_order"][0].startswith("error:") and "offset" in joined["out_of_order"][0]
    assert all("without a first frame" in r for r in joined["no_first"]) and joined["no_first"]
    assert "not a WBT2 frame" in joined["not_a_frame"][0]


def test_pose_maths_godot_axes_are_the_wire_axes(engine_result: tuple[dict, dict]) -> None:
    result, _ = engine_result
    # A quarter turn left about +Y looks along -X (Y up, -Z forward, right-handed: glTF's frame).
    assert result["forward_yaw_90"] == pytest.approx([-1.0, 0.0, 0.0], abs=1e-6)
    spawn = [0.0, -0.0734622162842458, -0.9972980009899783]
    right, up, back = result["spawn_basis"]
    assert result["spawn_forward_back"] == pytest.approx(spawn, abs=1e-6)
    assert right == pytest.approx([1.0, 0.0, 0.0], abs=1e-6)  # no roll: right stays level
    assert up == pytest.approx([0.0, 0.9972980009899783, -0.0734622162842458], abs=1e-6)  # the spawn's own up
    assert back == pytest.approx([-v for v in spawn], abs=1e-6)
    pose = result["pose"]
    assert pose["position"] == {"x": 1001.5, "y": 2.0, "z": -2003.0}  # the scene's origin added back
    assert pose["forward"] == {"x": 0.0, "y": 0.0, "z": -1.0}  # normalised
    assert pose["velocity"] == {"x": 0.5, "y": 0.0, "z": -1.0}
    assert pose["vertical_fov_deg"] == 43.5
    assert (pose["viewport_width_px"], pose["viewport_height_px"]) == (480, 300)


def test_the_example_reads_arguments_and_the_query_string(engine_result: tuple[dict, dict]) -> None:
    result, _ = engine_result
    assert result["arguments"] == {"server": "ws://h:1", "world": "abc", "draw-mode": "meshes"}
    # Only the example's own names are taken; the page's other parameters (w, arg) are not.
    assert result["query"] == {"server": "ws://127.0.0.1:8080", "world": "w 1", "view-radius": "64"}
