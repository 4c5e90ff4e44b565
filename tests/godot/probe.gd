## Drives the example in the tests (an autoload beside its main scene): waits for the world,
## measures the spawn, steers the world (a directive over HTTP, then its revert), walks the player
## forward and prints what happened, one "name=value" line each, then quits. Every wait is on a
## condition, bounded by a number of seconds.
extends Node

const SETTLE_S := 90.0
const WALK_M := 200.0
const WALK_S := 120.0
const FPS_S := 3.0
## A stone tower 40 m ahead of the spawn (-z is the photo's forward): inside the view radius.
const STEER_DIRECTIVE := {
	"kind": "place",
	"region": {"circle": {"center": [0, -40], "radius": 6}},
	"structure": "a stone tower",
}

var loaded := 0
var unloaded := 0
var errors: Array[String] = []
var changes: Array = []  # [key, directive_version] of each tile_changed
var streamer: Node3D
var player: Node3D


func _ready() -> void:
	await get_tree().process_frame  # the main scene is ready after the autoloads
	var main := get_tree().current_scene
	streamer = main.get_node("WorldBridgeStreamer")
	player = main.get_node("Player")
	streamer.tile_loaded.connect(func(_k: Vector3i, _f: String, _n: int) -> void: loaded += 1)
	streamer.tile_unloaded.connect(func(_k: Vector3i) -> void: unloaded += 1)
	streamer.connection_error.connect(func(message: String) -> void: errors.append(message))
	streamer.tile_changed.connect(func(k: Vector3i, v: int) -> void: changes.append([k, v]))
	# Software WebGL (SwiftShader, 2 shared cores) blends the spawn's splats at about a frame a
	# second, and the engine reads the WebSocket once a frame: the waits hide the tiles (the
	# streamer loads, sorts and hands over all the same); the measurements and pictures show them.
	streamer.visible = false
	var started := Time.get_ticks_msec()
	if not await _until(func() -> bool: return not streamer.world.is_empty(), SETTLE_S):
		_finish(2, "no world_ready")
		return
	print("world_ready_ms=", Time.get_ticks_msec() - started)
	var spawn_start := Time.get_ticks_msec()
	if not await _until(func() -> bool: return streamer.is_settled(), SETTLE_S):
		_finish(3, "the spawn never settled")
		return
	var settle_s := (Time.get_ticks_msec() - spawn_start) / 1000.0
	print("spawn_settle_s=", settle_s)
	print("spawn_tiles=", loaded)
	print("spawn_tiles_per_s=", loaded / maxf(settle_s, 0.001))
	print("spawn_splats_drawn=", streamer.drawn_splats())
	print("spawn_held=", streamer.held_keys().size())
	print("spawn_drawn_tiles=", streamer.drawn_tiles())
	print("spawn_sort_ms=", streamer.status()["last_sort_ms"])
	print("spawn_build_ms=", streamer.status()["last_build_ms"])
	print("spawn_splats_in_front=", streamer.status()["splats_in_view"])
	print("spawn_longest_frame_ms=", streamer.take_longest_frame_ms())
	streamer.visible = true
	await _measure_fps()
	await _screenshot("spawn_png=")
	streamer.visible = false
	await _resume()
	await _lose_connection()
	var directive_id := await _steer("steer_", "", JSON.stringify(STEER_DIRECTIVE))
	if directive_id > 0:
		await _steer("unsteer_", "/%d/revert" % directive_id, "")
	var before_walk := loaded
	streamer.take_longest_frame_ms()
	var unloaded_before := unloaded
	var from := player.global_position
	var facing := -player.global_basis.z
	Input.action_press("move_forward")
	Input.action_press("run")
	var walked := await _until(
		func() -> bool: return player.global_position.distance_to(from) >= WALK_M, WALK_S
	)
	Input.action_release("move_forward")
	Input.action_release("run")
	var travel := player.global_position - from
	print("walked_m=", travel.length())
	print("walked_along_facing_m=", travel.dot(facing))
	if not walked:
		_finish(4, "the walk did not reach %d m" % WALK_M)
		return
	await _until(func() -> bool: return streamer.is_settled(), SETTLE_S)
	streamer.visible = true
	print("walk_tiles_loaded=", loaded - before_walk)
	print("walk_tiles_unloaded=", unloaded - unloaded_before)
	print("walk_longest_frame_ms=", streamer.take_longest_frame_ms())
	print("end_held=", streamer.held_keys().size())
	await _screenshot("end_png=")
	_finish(0, "")


## Drops the connection and reconnects: the stream resumes and sends nothing already held.
func _resume() -> void:
	var before := loaded
	var held: int = streamer.held_keys().size()
	streamer.reconnect()
	var resumed := await _until(
		func() -> bool: return streamer.last_hello.get("resumed", false) and streamer.is_settled(),
		SETTLE_S
	)
	print("resumed=", resumed)
	print("resumed_tiles=", streamer.last_hello.get("resumed_tiles", -1), "/", held)
	print("resume_tiles_loaded=", loaded - before)


## Closes the streamer's socket under it, as a lost network would: it must say so, reconnect by
## itself after its backoff and resume, again sending nothing already held.
func _lose_connection() -> void:
	var before := loaded
	var errors_before := errors.size()
	var connection: Node = streamer.get("_connection")
	var socket: WebSocketPeer = connection.socket
	socket.close(1000, "the probe cuts the connection")  # a browser accepts 1000 or 3000-4999 only
	var back := await _until(
		func() -> bool:
			return (
				connection.socket != socket
				and streamer.last_hello.get("resumed", false)
				and streamer.is_settled()
			),
		SETTLE_S
	)
	print("auto_resumed=", back)
	print("auto_resume_tiles_loaded=", loaded - before)
	print("auto_resume_errors=", JSON.stringify(errors.slice(errors_before)))
	errors.resize(errors_before)  # reported above; the run's own list stays for real errors


## POSTs to the world's directives (+ [param path]) as another client would, waits until every
## held tile the stream said changed has its new content, and prints what changed (names begin
## with [param prefix]); the directive's id, or 0 when the server refused it.
func _steer(prefix: String, path: String, body: String) -> int:
	var cache: RefCounted = streamer.get("_cache")
	var before := _held_contents(cache)
	var replaced_before: int = streamer.tiles_replaced
	var changes_before := changes.size()
	var connection: Node = streamer.get("_connection")
	var base: String = connection.call("_http_base")
	var url := base + "/v1/worlds/%s/directives%s" % [streamer.world_id, path]
	var request := HTTPRequest.new()
	add_child(request)
	var headers := PackedStringArray(["Content-Type: application/json"])
	request.request(url, headers, HTTPClient.METHOD_POST, body)
	var answer: Array = await request.request_completed
	request.queue_free()
	var result: Variant = JSON.parse_string((answer[3] as PackedByteArray).get_string_from_utf8())
	print(prefix, "http=", answer[1])
	if answer[1] != 200 or not result is Dictionary:
		return 0
	# The changed events come over the stream; settled means their new content is built too.
	var done := await _until(
		func() -> bool: return changes.size() > changes_before and streamer.is_settled(), SETTLE_S
	)
	var after := _held_contents(cache)
	var changed := {}
	var versions_ok := true
	for change: Array in changes.slice(changes_before):
		changed[_name(change[0])] = true
		versions_ok = versions_ok and change[1] == int(result["version"])
	var new_content := 0
	var kept := 0
	for key: String in before:
		if changed.has(key):
			new_content += int(after.get(key, before[key]) != before[key])
		else:
			kept += int(after.get(key, "") == before[key])
	print(prefix, "settled=", done)
	print(prefix, "touched=", int(result["touched_tiles"]))
	print(prefix, "changed=", changed.size())
	print(prefix, "versions_ok=", versions_ok)
	print(prefix, "replaced=", streamer.tiles_replaced - replaced_before)
	print(prefix, "new_content=", new_content)
	print(prefix, "kept=", kept, "/", before.size() - changed.size())
	print(prefix, "contents=", JSON.stringify(after))
	print(prefix, "contents_before=", JSON.stringify(before))
	return int(result["directive_id"])


## The held tiles' content hashes ("lod,ix,iz" -> sha256).
func _held_contents(cache: RefCounted) -> Dictionary:
	var out := {}
	for key: Vector3i in cache.held:
		out[_name(key)] = cache.held[key].sha256
	return out


func _name(key: Vector3i) -> String:
	return "%d,%d,%d" % [key.x, key.y, key.z]


func _measure_fps() -> void:
	var frames := 0
	var start := Time.get_ticks_usec()
	while Time.get_ticks_usec() - start < FPS_S * 1e6:
		await get_tree().process_frame
		frames += 1
	print("spawn_fps=", frames / ((Time.get_ticks_usec() - start) / 1e6))


func _screenshot(prefix: String) -> void:
	await RenderingServer.frame_post_draw
	var image := get_viewport().get_texture().get_image()
	print(prefix, Marshalls.raw_to_base64(image.save_png_to_buffer()))


## Waits frame by frame until [param condition] holds; false after [param seconds].
func _until(condition: Callable, seconds: float) -> bool:
	var deadline := Time.get_ticks_msec() + int(seconds * 1000.0)
	var next_report := Time.get_ticks_msec() + 10000
	while not condition.call():
		if Time.get_ticks_msec() > deadline:
			return false
		if Time.get_ticks_msec() > next_report:  # a trace of a slow wait, for a person reading the log
			print("waiting=", JSON.stringify(streamer.status()))
			next_report += 10000
		await get_tree().process_frame
	return true


func _finish(code: int, why: String) -> void:
	if not why.is_empty():
		print("failed=", why)
	print("status=", JSON.stringify(streamer.status()))
	print("connection_errors=", JSON.stringify(errors))
	print("probe_done")
	get_tree().quit(code)
