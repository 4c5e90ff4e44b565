## WorldBridgeStreamer: streams a WorldBridge world around a moving node, tile by tile.
##
## Add it to a scene, set [member server_url] and [member world_id], point [member follow_target]
## at the player's Camera3D (or any Node3D) and run: the node fetches the world (its spawn camera
## and sky), opens the server's WebSocket stream (docs/protocol.md), sends the target's pose as it
## moves (coalesced, with its velocity), builds every tile that arrives as a child (Gaussian splats
## from the GPU-ready "splat-textures" format, or GLB meshes), acknowledges it, applies unloads and
## the LOD hand-over rule, replaces a tile a directive changed (docs/directives.md) when its new
## bytes arrive, and reconnects with resume when the connection drops.
##
## Work is spread over frames: tiles are built, the splat field assembled and depth-sorted within
## [member frame_budget_ms] a frame, so the main thread never stalls for a whole batch (the web
## build is single-threaded: no worker thread to hand it to).
##
## Its parts: stream_connection.gd talks to the server, tile_cache.gd holds and builds tiles,
## tile_drawing.gd applies the hand-over rule and keeps the splat field sorted.
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
## A directive changed a held tile on the server: it stays drawn until its new content is built,
## which [signal tile_loaded] then reports for the same key.
signal tile_changed(key: Vector3i, directive_version: int)
## Something went wrong talking to the server; [param message] says what. The streamer retries
## by itself unless the server refused for good (bad request, wrong token, unknown world).
signal connection_error(message: String)

enum DrawMode { SPLATS, MESHES }

const StreamConnection := preload("res://addons/worldbridge/stream_connection.gd")
const TileCache := preload("res://addons/worldbridge/tile_cache.gd")
const TileDrawing := preload("res://addons/worldbridge/tile_drawing.gd")
const TileFrames := preload("res://addons/worldbridge/tile_frames.gd")
const ViewerPose := preload("res://addons/worldbridge/viewer_pose.gd")
const SKY_SHADER := preload("res://addons/worldbridge/sky.gdshader")
const FORMAT_FOR_MODE := {DrawMode.SPLATS: "splat-textures", DrawMode.MESHES: "glb"}

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
## Tiles are wanted up to this distance from the target, metres (far tiles are coarse: a
## valley's slopes stand on the horizon at 1 km).
@export_range(8.0, 4096.0, 1.0, "suffix:m") var view_radius_m := 1024.0
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
var session_id: String:
	get:
		return _connection.session_id
## The latest hello (protocol_version, formats, limits, session_id, resumed, resumed_tiles).
var last_hello: Dictionary:
	get:
		return _connection.last_hello
## Tiles received, built and dropped since start (for a HUD or a bench).
var tiles_received: int:
	get:
		return _connection.tiles_received
var tiles_built: int:
	get:
		return _cache.built
var tiles_unloaded: int:
	get:
		return _cache.dropped
## Held tiles announced as changed, and of those, how many got their new content.
var tiles_changed := 0
var tiles_replaced: int:
	get:
		return _cache.replaced
var bytes_received: int:
	get:
		return _connection.bytes_received

var _connection := StreamConnection.new()
var _cache := TileCache.new(self)
var _drawing := TileDrawing.new(self)
var _started := false
var _last_pose_ms := -1000000
var _sent_position := Vector3.INF
var _sent_forward := Vector3.ZERO
var _velocity := Vector3.ZERO
var _previous_position := Vector3.INF
var _sky_loaded := false
var _longest_frame_usec := 0  # the longest _process since take_longest_frame_ms()


func _ready() -> void:
	_connection.name = "Connection"
	add_child(_connection)
	_connection.world_fetched.connect(_on_world)
	_connection.sky_fetched.connect(_on_sky)
	_connection.opened.connect(_on_opened)
	_connection.tile_arrived.connect(_cache.add)
	_connection.unloaded.connect(_on_unloaded)
	_connection.changed.connect(_on_changed)
	_connection.failed.connect(_fail)
	if autostart and not world_id.is_empty():
		start()


## Fetches the world and opens the stream. Safe to call again after [method stop].
func start() -> void:
	if world_id.is_empty():
		_fail("no world_id set", true)
		return
	_started = true
	_connection.server_url = server_url
	_connection.token = token
	_connection.world_id = world_id
	_drawing.splats = draw_mode == DrawMode.SPLATS
	_drawing.resort_distance_m = resort_distance_m
	_drawing.resort_angle_deg = resort_angle_deg
	_connection.start()


## Closes the stream and drops every tile.
func stop() -> void:
	_started = false
	_connection.stop()
	for key: Vector3i in _cache.held.keys():
		_drop(key)
	_cache.clear()
	_drawing.clear()


## Drops the connection and opens a new one at once, resuming the session: the server sends only
## the tiles this node does not hold (what a lost connection does, after its backoff).
func reconnect() -> void:
	_connection.reconnect()


## Tiles held now (keys (lod, ix, iz)).
func held_keys() -> Array:
	return _cache.held.keys()


## How many held tiles the hand-over rule draws now.
func drawn_tiles() -> int:
	return _drawing.drawn.size()


## Splats in the held tiles the hand-over rule draws.
func drawn_splats() -> int:
	return _drawing.drawn_splats(_cache)


## True when everything the server wants at the latest pose has arrived, is built and sorted
## (and the sky is in): a screenshot now shows the whole view.
func is_settled() -> bool:
	return (
		_connection.caught_up()
		and _cache.waiting() == 0
		and _cache.stale.is_empty()
		and _connection.idle()
		and not _cache.changed
		and not _drawing.pending(_camera())
		and (_sky_loaded or not draw_sky)
	)


## The longest script time one frame of this node took since the last call, milliseconds: the
## stall a player would feel (building, assembling and sorting are meant to stay in the budget).
func take_longest_frame_ms() -> float:
	var longest := _longest_frame_usec / 1000.0
	_longest_frame_usec = 0
	return longest


## The stream's state in numbers, for a HUD, a log line or a test.
func status() -> Dictionary:
	return {
		"connected": _connection.socket_open,
		"session_id": session_id,
		"sequence_sent": _connection.sequence,
		"sequence_applied": _connection.acked_sequence,
		"server_pending": _connection.server_pending,
		"waiting_to_build": _cache.waiting(),
		"splats_pending": _drawing.pending(_camera()),
		"last_sort_ms": _drawing.last_sort_usec() / 1000.0,
		"splats_in_view": _drawing.splats_in_view(),
		"last_build_ms": _drawing.last_build_usec / 1000.0,
		"held": _cache.held.size(),
		"drawn_tiles": drawn_tiles(),
		"drawn_splats": drawn_splats(),
		"tiles_received": tiles_received,
		"tiles_built": tiles_built,
		"tiles_unloaded": tiles_unloaded,
		"tiles_changed": tiles_changed,
		"tiles_replaced": tiles_replaced,
		"stale": _cache.stale.size(),
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
	var started := Time.get_ticks_usec()
	_connection.poll()
	# Held tiles stay drawn and sorted while the connection is away.
	_track_velocity(delta)
	var deadline := started + int(frame_budget_ms * 1000.0)
	_cache.build_some(deadline, _on_loaded, func(why: String) -> void: _fail(why, false))
	if _cache.take_changed():
		_drawing.hand_over(_cache)
	var problem := _drawing.update(_cache, _camera(), deadline)
	if not problem.is_empty():
		_fail(problem, false)
	if _connection.socket_open:
		_send_update(false)
	_longest_frame_usec = maxi(_longest_frame_usec, Time.get_ticks_usec() - started)


func _on_world(description: Dictionary) -> void:
	world = description
	if draw_sky and not _sky_loaded:
		_connection.fetch_sky()
	world_ready.emit(world)


func _on_sky(image: Image) -> void:
	var material := ShaderMaterial.new()
	material.shader = SKY_SHADER
	material.set_shader_parameter("panorama", ImageTexture.create_from_image(image))
	var sky := Sky.new()
	sky.sky_material = material
	var environment := Environment.new()
	environment.background_mode = Environment.BG_SKY
	environment.sky = sky
	environment.tonemap_mode = Environment.TONE_MAPPER_LINEAR
	var node := WorldEnvironment.new()
	node.environment = environment
	add_child(node)
	_sky_loaded = true


func _on_opened() -> void:
	_cache.forget_unsent()  # the first update's "held" list says what is held
	_sent_position = Vector3.INF
	_send_update(true)


func _on_loaded(key: Vector3i, format: String, splat_count: int) -> void:
	tile_loaded.emit(key, format, splat_count)


func _on_unloaded(key: Vector3i) -> void:
	_drop(key)


func _on_changed(key: Vector3i, directive_version: int) -> void:
	if _cache.mark_stale(key):
		tiles_changed += 1
		tile_changed.emit(key, directive_version)


func _drop(key: Vector3i) -> void:
	if _cache.drop(key):
		tile_unloaded.emit(key)


func _fail(message: String, for_good: bool) -> void:
	if for_good:
		_started = false
	connection_error.emit(message)


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
		var held := _cache.held_json()
		if not held.is_empty():
			update["held"] = held
		if not update.has("pose"):
			update["pose"] = ViewerPose.pose_json(
				global_position, Vector3.FORWARD, Vector3.ZERO, 60.0, Vector2i(1280, 720)
			)
	if not _cache.acks.is_empty():
		update["acks"] = _cache.acks
		_cache.acks = []
	if not update.is_empty():
		_connection.send(update, first)
