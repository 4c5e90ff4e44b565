## WorldBridgeStreamer: streams a WorldBridge world around a moving node, tile by tile.
##
## Add it to a scene, set [member server_url] and [member world_id], point [member follow_target]
## at the player's Camera3D (or any Node3D) and run: the node fetches the world (its spawn camera
## and sky), opens the server's WebSocket stream (docs/protocol.md), sends the target's pose as it
## moves (coalesced, with its velocity), builds every tile that arrives as a child (Gaussian splats
## from the GPU-ready "splat-textures" format, or GLB meshes), acknowledges it, applies unloads and
## the LOD hand-over rule, and reconnects with resume when the connection drops.
##
## Work is spread over frames: tiles are built and splats depth-sorted within [member
## frame_budget_ms] a frame, so the main thread never stalls for a whole batch (the web build is
## single-threaded: no worker thread to hand it to).
##
## Axes: the wire's world frame is glTF's, which is Godot's (Y up, metres, -Z forward): tiles and
## poses go across unchanged. Tiles are placed at their absolute world position.
extends Node3D

## The world's description (GET /v1/worlds/{id}: spawn camera, base tile size) has arrived and
## the stream is opening. The spawn is in [code]world["spawn"][/code]; see [method spawn_transform].
signal world_ready(world: Dictionary)
## A tile is built and held. [param key] is (lod, ix, iz).
signal tile_loaded(key: Vector3i, format: String, splat_count: int)
## A held tile was dropped (the server unloaded it, or the stream restarted without it).
signal tile_unloaded(key: Vector3i)
## Something went wrong talking to the server; [param message] says what. The streamer retries
## by itself unless the server refused for good (bad request, wrong token, unknown world).
signal connection_error(message: String)

enum DrawMode { SPLATS, MESHES }

const SplatTextures := preload("res://addons/worldbridge/splat_textures.gd")
const SplatField := preload("res://addons/worldbridge/splat_field.gd")
const TileFrames := preload("res://addons/worldbridge/tile_frames.gd")
const Handover := preload("res://addons/worldbridge/handover.gd")
const ViewerPose := preload("res://addons/worldbridge/viewer_pose.gd")
const MeshTile := preload("res://addons/worldbridge/mesh_tile.gd")
const SKY_SHADER := preload("res://addons/worldbridge/sky.gdshader")
const FORMAT_FOR_MODE := {DrawMode.SPLATS: "splat-textures", DrawMode.MESHES: "glb"}
## Close codes after which a retry cannot help (docs/protocol.md, "Errors").
const REFUSED_FOR_GOOD := [4400, 4401, 4404]
const MAX_BACKOFF_S := 30.0

## The server's HTTP/WebSocket base address, ws:// or wss:// (http:// and https:// work too).
@export var server_url := "ws://127.0.0.1:8080"
## The server's token, when it was started with --token (sent in the first message: a Godot
## WebSocket cannot set headers), and as a Bearer header on HTTP requests.
@export var token := ""
## The world to stream (its id, from `worldbridge serve --photo` or POST /v1/worlds).
@export var world_id := ""
## The node whose pose is streamed: the player's Camera3D, or any Node3D (its -Z is forward; the
## viewport's camera then gives the field of view).
@export var follow_target: Node3D
## Tiles are wanted up to this distance from the target, metres.
@export_range(8.0, 4096.0, 1.0, "suffix:m") var view_radius_m := 128.0
## Splats the server may keep resident here (its budget clamps it).
@export var max_resident_splats := 4_000_000
## Tile bytes sent and not yet acknowledged: the server waits beyond this.
@export var max_bytes_in_flight := 16 * 1024 * 1024
## Gaussian splats (the GPU-ready splat-textures format) or GLB meshes.
@export var draw_mode := DrawMode.SPLATS
## At most this many pose updates a second (moves in between are coalesced into the next).
@export_range(1.0, 60.0) var pose_updates_per_second := 10.0
## Script time a frame may spend building tiles and sorting splats (at least one step runs).
@export_range(1.0, 100.0, 0.5, "suffix:ms") var frame_budget_ms := 8.0
## Re-sort a splat tile once the camera has moved this far or turned this much since its last sort.
@export var resort_distance_m := 0.5
@export var resort_angle_deg := 2.0
## Draw the world's sky panorama (its equirectangular "sky" asset) behind everything, through a
## WorldEnvironment child; turn off to keep your own environment.
@export var draw_sky := true
## Connect when the node enters the tree (else call [method start]).
@export var autostart := true

## The world's description once [signal world_ready] has fired.
var world: Dictionary = {}
## The hello's session_id: the stream resumes it after a reconnect.
var session_id := ""
## The latest hello (protocol_version, formats, limits, session_id, resumed, resumed_tiles).
var last_hello: Dictionary = {}
## Tiles received, built and dropped since start (for a HUD or a bench).
var tiles_received := 0
var tiles_built := 0
var tiles_unloaded := 0
var bytes_received := 0

var _socket: WebSocketPeer
var _frames := TileFrames.new()
var _held := {}  # Vector3i -> _Held
var _ready_tiles: Array[TileFrames.Tile] = []  # joined, waiting to be built
var _acks: Array[Dictionary] = []
var _sequence := 0
var _acked_sequence := -1  # the highest update sequence the server says it applied
var _server_pending := -1  # its tiles_pending for that sequence
var _started := false
var _stopped_for_good := false
var _socket_open := false
var _backoff_s := 1.0
var _retry_at_ms := -1
var _last_pose_ms := -1000000
var _sent_position := Vector3.INF
var _sent_forward := Vector3.ZERO
var _velocity := Vector3.ZERO
var _previous_position := Vector3.INF
var _draw_dirty := false
var _sky_environment: WorldEnvironment
var _sky_loaded := false
var _drawn := {}  # the held keys the hand-over rule draws (key -> true)
var _field: SplatField  # the drawn splat tiles, in one depth order
var _next_field: SplatField  # the field of a newer drawn set, shown once sorted
var _field_dirty := false
var _last_build_usec := 0  # script time of the last field build (concatenating the textures)
var _sorted_from := Vector3.INF  # camera position and facing of the field's last sort
var _sorted_facing := Vector3.ZERO


class _Held:
	extends RefCounted
	var format := ""
	var sha256 := ""
	var splat_count := 0
	var node: Node3D  # null for an empty tile
	var splats: SplatTextures.Tile  # a splat tile's decoded textures (drawn by the field)


func _ready() -> void:
	if autostart and not world_id.is_empty():
		start()


## Fetches the world and opens the stream. Safe to call again after [method stop].
func start() -> void:
	if world_id.is_empty():
		_fail("no world_id set", true)
		return
	_started = true
	_stopped_for_good = false
	_fetch_world()


## Closes the stream and drops every tile.
func stop() -> void:
	_started = false
	if _socket != null:
		_socket.close(1000, "viewer stopped")
	for key: Vector3i in _held.keys():
		_drop(key)
	_ready_tiles.clear()
	for field: SplatField in [_field, _next_field]:
		if field != null:
			field.queue_free()
	_field = null
	_next_field = null


## Drops the connection and opens a new one at once, resuming the session: the server sends only
## the tiles this node does not hold (what a lost connection does, after its backoff).
func reconnect() -> void:
	if _socket != null:
		_socket.close(1000, "viewer reconnects")
		_socket = null
	_socket_open = false
	_backoff_s = 1.0
	if _started and not world.is_empty():
		_connect()


## Tiles held now (keys (lod, ix, iz)).
func held_keys() -> Array:
	return _held.keys()


## How many held tiles the hand-over rule draws now.
func drawn_tiles() -> int:
	return _drawn.size()


## Splats in the held tiles the hand-over rule draws.
func drawn_splats() -> int:
	var total := 0
	for key: Vector3i in _drawn:
		var held: _Held = _held[key]
		total += held.splat_count
	return total


## True when everything the server wants at the latest pose has arrived, is built and sorted
## (and the sky is in): a screenshot now shows the whole view.
func is_settled() -> bool:
	return (
		_socket_open
		and _acked_sequence == _sequence
		and _server_pending == 0
		and _ready_tiles.is_empty()
		and _frames_idle()
		and not _splats_pending()
		and (_sky_loaded or not draw_sky)
	)


## The stream's state in numbers, for a HUD, a log line or a test.
func status() -> Dictionary:
	return {
		"connected": _socket_open,
		"session_id": session_id,
		"sequence_sent": _sequence,
		"sequence_applied": _acked_sequence,
		"server_pending": _server_pending,
		"waiting_to_build": _ready_tiles.size(),
		"splats_pending": _splats_pending(),
		"last_sort_ms": _field.last_sort_usec / 1000.0 if _field != null else 0.0,
		"splats_in_view": _field.drawn if _field != null else 0,
		"last_build_ms": _last_build_usec / 1000.0,
		"held": _held.size(),
		"drawn_tiles": drawn_tiles(),
		"drawn_splats": drawn_splats(),
		"tiles_received": tiles_received,
		"tiles_built": tiles_built,
		"tiles_unloaded": tiles_unloaded,
		"bytes_received": bytes_received,
		"sky": _sky_loaded,
		"fps": Engine.get_frames_per_second(),
	}


## Where the photo was taken, as a Godot transform (stand here to see the photo).
func spawn_transform() -> Transform3D:
	var spawn: Dictionary = world.get("spawn", {})
	var forward := ViewerPose.from_json(spawn.get("forward", {"z": -1.0}))
	return Transform3D(
		ViewerPose.basis_looking(forward), ViewerPose.from_json(spawn.get("position", {}))
	)


## The photo camera's vertical field of view, degrees.
func spawn_vertical_fov_deg() -> float:
	return float(world.get("spawn", {}).get("vertical_fov_deg", 60.0))


func _process(delta: float) -> void:
	if not _started:
		return
	if _socket == null:
		if _retry_at_ms >= 0 and Time.get_ticks_msec() >= _retry_at_ms and not world.is_empty():
			_retry_at_ms = -1
			_connect()
	else:
		_poll_socket()
	# Held tiles stay drawn and sorted while the connection is away.
	_track_velocity(delta)
	var started := Time.get_ticks_usec()
	var budget_usec := int(frame_budget_ms * 1000.0)
	while not _ready_tiles.is_empty():
		_build(_ready_tiles.pop_front())
		if Time.get_ticks_usec() - started > budget_usec:
			break
	if _draw_dirty:
		_apply_handover()
	_update_field(started + budget_usec)
	if _socket_open:
		_send_update(false)


func _poll_socket() -> void:
	_socket.poll()
	match _socket.get_ready_state():
		WebSocketPeer.STATE_OPEN:
			if not _socket_open:
				_socket_open = true
				_send_update(true)
			_receive()
		WebSocketPeer.STATE_CLOSING:
			_socket_open = false  # nothing more may be sent on it
		WebSocketPeer.STATE_CLOSED:
			_on_closed()


# -- the world and its sky -----------------------------------------------------------------


func _http_base() -> String:
	var base := server_url.strip_edges().trim_suffix("/")
	if base.begins_with("ws://"):
		return "http://" + base.substr(5)
	if base.begins_with("wss://"):
		return "https://" + base.substr(6)
	return base


func _ws_base() -> String:
	var base := _http_base()
	if base.begins_with("https://"):
		return "wss://" + base.substr(8)
	return "ws://" + base.trim_prefix("http://")


func _headers() -> PackedStringArray:
	if token.is_empty():
		return PackedStringArray()
	return PackedStringArray(["Authorization: Bearer " + token])


## GETs [param path] from the server; calls [param done] with (ok, body) once it answers.
func _http_get(path: String, done: Callable) -> void:
	var request := HTTPRequest.new()
	add_child(request)
	request.request_completed.connect(
		func(result: int, status: int, _headers: PackedStringArray, body: PackedByteArray) -> void:
			request.queue_free()
			if result != HTTPRequest.RESULT_SUCCESS or status != 200:
				var text := body.get_string_from_utf8().left(300)
				_fail("GET %s: result %d, HTTP %d %s" % [path, result, status, text], status == 404)
				done.call(false, body)
				return
			done.call(true, body)
	)
	var status := request.request(_http_base() + path, _headers())
	if status != OK:
		request.queue_free()
		_fail("GET %s could not start (%s)" % [path, error_string(status)], false)
		done.call(false, PackedByteArray())


func _fetch_world() -> void:
	_http_get("/v1/worlds/" + world_id.uri_encode(), _on_world)


func _on_world(ok: bool, body: PackedByteArray) -> void:
	if not ok:
		_schedule_retry()
		return
	var parsed: Variant = JSON.parse_string(body.get_string_from_utf8())
	if not parsed is Dictionary:
		_fail("the world's description is not a JSON object", true)
		return
	world = parsed
	if draw_sky and not _sky_loaded:
		_http_get("/v1/worlds/%s/assets/sky" % world_id.uri_encode(), _on_sky)
	_connect()
	world_ready.emit(world)


func _on_sky(ok: bool, body: PackedByteArray) -> void:
	if not ok:
		return
	var image := Image.new()
	if image.load_png_from_buffer(body) != OK:
		_fail("the world's sky is not a PNG", false)
		return
	var material := ShaderMaterial.new()
	material.shader = SKY_SHADER
	material.set_shader_parameter("panorama", ImageTexture.create_from_image(image))
	var sky := Sky.new()
	sky.sky_material = material
	var environment := Environment.new()
	environment.background_mode = Environment.BG_SKY
	environment.sky = sky
	environment.tonemap_mode = Environment.TONE_MAPPER_LINEAR
	_sky_environment = WorldEnvironment.new()
	_sky_environment.environment = environment
	add_child(_sky_environment)
	_sky_loaded = true


# -- the stream ---------------------------------------------------------------------------------


func _connect() -> void:
	_socket = WebSocketPeer.new()
	# A tile frame is at most 65,535 bytes; a burst of them must fit while a frame is built.
	_socket.inbound_buffer_size = 16 * 1024 * 1024
	_socket.max_queued_packets = 16384
	_socket_open = false
	_frames.reset()
	_ready_tiles.clear()  # never acked: the new stream sends them again
	_acks.clear()  # the first update's "held" list says what is held
	last_hello = {}
	_acked_sequence = -1
	_server_pending = -1
	_sent_position = Vector3.INF
	var url := "%s/v1/worlds/%s/stream" % [_ws_base(), world_id.uri_encode()]
	var status := _socket.connect_to_url(url)
	if status != OK:
		_socket = null
		_fail("cannot open %s (%s)" % [url, error_string(status)], false)
		_schedule_retry()


func _receive() -> void:
	while _socket.get_available_packet_count() > 0:
		var packet := _socket.get_packet()
		if _socket.was_string_packet():
			_on_message(packet.get_string_from_utf8())
			continue
		bytes_received += packet.size()
		var tile := _frames.add(packet)
		if not _frames.error.is_empty():
			_fail(_frames.error, false)
		elif tile != null:
			tiles_received += 1
			_ready_tiles.append(tile)


func _on_message(text: String) -> void:
	var parsed: Variant = JSON.parse_string(text)
	if not parsed is Dictionary:
		_fail("the server sent a text message that is not a JSON object", false)
		return
	var message: Dictionary = parsed
	if message.has("hello"):
		var hello: Dictionary = message["hello"]
		last_hello = hello
		session_id = hello.get("session_id", "")
		_backoff_s = 1.0
	elif message.has("progress"):
		var progress: Dictionary = message["progress"]
		_acked_sequence = int(progress.get("sequence", 0))
		_server_pending = int(progress.get("tiles_pending", 0))
	elif message.has("unload"):
		var key := _key_of(message["unload"]["key"])
		for i in range(_ready_tiles.size() - 1, -1, -1):
			if _ready_tiles[i].key == key:
				_ready_tiles.remove_at(i)
		_drop(key)
	elif message.has("error"):
		var error: Dictionary = message["error"]
		# An ack that crossed the server's unload of the same tile in flight: expected while
		# moving, and the server has already forgotten the tile.
		if str(error.get("message", "")).begins_with("ack for tile"):
			return
		_fail("server: %s: %s" % [error.get("status", "?"), error.get("message", "")], false)
	# heartbeat, and kinds a newer server adds: nothing to do.


func _on_closed() -> void:
	var code := _socket.get_close_code()
	var reason := _socket.get_close_reason()
	_socket = null
	_socket_open = false
	if not _started:
		return
	if code in REFUSED_FOR_GOOD:
		_fail("the server refused the stream (%d %s)" % [code, reason], true)
		return
	_fail("the stream closed (%d %s); reconnecting in %.0f s" % [code, reason, _backoff_s], false)
	_schedule_retry()


func _schedule_retry() -> void:
	if _stopped_for_good or not _started:
		return
	_retry_at_ms = Time.get_ticks_msec() + int(_backoff_s * 1000.0)
	_backoff_s = minf(_backoff_s * 2.0, MAX_BACKOFF_S)
	if world.is_empty():
		get_tree().create_timer(_backoff_s * 0.5).timeout.connect(_retry_world)


func _retry_world() -> void:
	if _started and world.is_empty():
		_retry_at_ms = -1
		_fetch_world()


func _fail(message: String, for_good: bool) -> void:
	if for_good:
		_stopped_for_good = true
		_started = false
	connection_error.emit(message)


static func _key_of(key: Dictionary) -> Vector3i:
	return Vector3i(int(key.get("lod", 0)), int(key.get("ix", 0)), int(key.get("iz", 0)))


static func _key_json(key: Vector3i) -> Dictionary:
	return {"lod": key.x, "ix": key.y, "iz": key.z}


# -- viewer updates -----------------------------------------------------------------------------


func _camera() -> Camera3D:
	if follow_target is Camera3D:
		return follow_target
	return get_viewport().get_camera_3d()


func _track_velocity(delta: float) -> void:
	if follow_target == null or delta <= 0.0:
		return
	var position_now := follow_target.global_position
	if _previous_position != Vector3.INF:
		# Smoothed over about a quarter of a second: a frame's jitter is not a change of course.
		var blend := clampf(delta / 0.25, 0.0, 1.0)
		_velocity = _velocity.lerp((position_now - _previous_position) / delta, blend)
	_previous_position = position_now


## Sends the pose (if it changed enough, at most pose_updates_per_second) and any acks.
func _send_update(first: bool) -> void:
	var update := {}
	var now := Time.get_ticks_msec()
	var target := follow_target if follow_target != null else _camera()
	if target != null and now - _last_pose_ms >= 1000.0 / pose_updates_per_second:
		var position_now := target.global_position
		var forward := ViewerPose.forward_of(target)
		var moved := position_now.distance_to(_sent_position) > 0.05
		var turned := forward.dot(_sent_forward) < 0.9995
		if first or moved or turned:
			var camera := _camera()
			var fov := camera.fov if camera != null else 60.0
			var size := Vector2i(get_viewport().get_visible_rect().size)
			update["pose"] = ViewerPose.pose_json(position_now, forward, _velocity, fov, size)
			_sent_position = position_now
			_sent_forward = forward
			_last_pose_ms = now
	if first:
		update["world_id"] = world_id
		update["view_radius_m"] = view_radius_m
		update["budget"] = {
			"formats": [FORMAT_FOR_MODE[draw_mode]],
			"max_bytes_in_flight": max_bytes_in_flight,
			"max_resident_splats": max_resident_splats,
		}
		if not token.is_empty():
			update["token"] = token
		if not session_id.is_empty():
			update["resume_session_id"] = session_id
		var held: Array[Dictionary] = []
		for key: Vector3i in _held:
			var tile: _Held = _held[key]
			held.append(
				{"key": _key_json(key), "format": tile.format, "content_sha256": tile.sha256}
			)
		if not held.is_empty():
			update["held"] = held
		if not update.has("pose"):
			update["pose"] = ViewerPose.pose_json(
				global_position, Vector3.FORWARD, Vector3.ZERO, 60.0, Vector2i(1280, 720)
			)
	if not _acks.is_empty():
		update["acks"] = _acks
		_acks = []
	if update.is_empty():
		return
	if update.has("pose") or first:
		_sequence += 1
		update["sequence"] = _sequence
	_socket.send_text(JSON.stringify(update))


# -- tiles -----------------------------------------------------------------------------------


func _build(tile: TileFrames.Tile) -> void:
	var node: Node3D = null
	var held_splats: SplatTextures.Tile = null
	if tile.format == "splat-textures":
		var decoded: SplatTextures.Tile = SplatTextures.decode(tile.data)
		if not decoded.error.is_empty():
			_fail("tile %s: %s" % [tile.key, decoded.error], false)
			return
		if decoded.count > 0:
			held_splats = decoded
	elif tile.format == "glb":
		var why: Array = []
		node = MeshTile.build(tile.data, why)
		if node == null:
			_fail("tile %s: %s" % [tile.key, why[0]], false)
			return
	else:
		_fail("tile %s came as %s, which this addon does not draw" % [tile.key, tile.format], false)
		return
	if _held.has(tile.key):
		_drop(tile.key, false)
	var held := _Held.new()
	held.format = tile.format
	held.sha256 = tile.sha256
	held.splat_count = tile.splat_count
	held.node = node
	held.splats = held_splats
	if node != null:
		node.name = "tile_%d_%d_%d" % [tile.key.x, tile.key.y, tile.key.z]
		node.visible = false  # the hand-over rule decides
		add_child(node)
	_held[tile.key] = held
	_acks.append(_key_json(tile.key))
	_draw_dirty = true
	tiles_built += 1
	tile_loaded.emit(tile.key, tile.format, tile.splat_count)


func _drop(key: Vector3i, announce := true) -> void:
	if not _held.has(key):
		return
	var held: _Held = _held[key]
	_held.erase(key)
	_drawn.erase(key)
	if held.node != null:
		held.node.queue_free()
	_draw_dirty = true
	if announce:
		tiles_unloaded += 1
		tile_unloaded.emit(key)


func _apply_handover() -> void:
	_draw_dirty = false
	_drawn = Handover.tiles_to_draw(_held)
	for key: Vector3i in _held:
		var held: _Held = _held[key]
		if held.node != null:
			held.node.visible = _drawn.has(key)
	_field_dirty = true


## True while the drawn splat tiles are not yet all on screen in an order for this camera.
func _splats_pending() -> bool:
	if draw_mode != DrawMode.SPLATS:
		return false
	if _field_dirty or _next_field != null or (_field != null and _field.sorting()):
		return true
	var camera := _camera()
	return _field != null and camera != null and _view_changed(camera)


func _view_changed(camera: Camera3D) -> bool:
	if _sorted_from.distance_to(camera.global_position) > resort_distance_m:
		return true
	return _sorted_facing.dot(ViewerPose.forward_of(camera)) < cos(deg_to_rad(resort_angle_deg))


## Keeps the splat field in step with the drawn tiles and the camera, until [param deadline_usec]:
## a new drawn set becomes a new field, shown once its first sort is done (the old one stays
## until then); a moved camera re-sorts the field in use.
func _update_field(deadline_usec: int) -> void:
	var camera := _camera()
	if draw_mode != DrawMode.SPLATS or camera == null:
		return
	if _field_dirty and _next_field == null:
		_field_dirty = false
		var tiles: Array[SplatTextures.Tile] = []
		var keys: Array = _drawn.keys()
		keys.sort()  # a deterministic layout
		for key: Vector3i in keys:
			var held: _Held = _held[key]
			if held.splats != null:
				tiles.append(held.splats)
		_next_field = SplatField.new()
		var began := Time.get_ticks_usec()
		if not _next_field.build(tiles):
			_fail("%d tiles hold more splats than one field draws" % tiles.size(), false)
		_last_build_usec = Time.get_ticks_usec() - began
		add_child(_next_field)
		_next_field.start_sort(camera)
		_mark_sorted(camera)
	if _next_field != null:
		if _next_field.sort_step(deadline_usec):
			if _field != null:
				_field.queue_free()
			_field = _next_field
			_next_field = null
		return
	if _field == null:
		return
	if not _field.sorting() and _view_changed(camera):
		_field.start_sort(camera)
		_mark_sorted(camera)
	if _field.sorting():
		_field.sort_step(deadline_usec)


func _mark_sorted(camera: Camera3D) -> void:
	_sorted_from = camera.global_position
	_sorted_facing = ViewerPose.forward_of(camera)


func _frames_idle() -> bool:
	return _socket == null or _socket.get_available_packet_count() == 0
