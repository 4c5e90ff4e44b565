## The streamer's talk with the server (docs/protocol.md): the world's description and sky over
## HTTP, the WebSocket stream (hello, progress, unloads, changes, errors, WBT2 tile frames joined
## into tiles), viewer updates out, and reconnecting with backoff, resuming the session. It holds no
## tiles and draws nothing: what arrives is handed on through its signals.
extends Node

## The world's description (GET /v1/worlds/{id}) arrived.
signal world_fetched(world: Dictionary)
## The world's sky panorama arrived and decoded.
signal sky_fetched(image: Image)
## The socket is open: send the first update (with the held tiles, to resume).
signal opened
## A whole tile arrived, its SHA-256 checked.
signal tile_arrived(tile: TileFrames.Tile)
## The server unloaded a tile.
signal unloaded(key: Vector3i)
## A directive changed a held tile on the server; its new bytes follow as a tile.
signal changed(key: Vector3i, directive_version: int)
## Something went wrong; [param for_good] when retrying cannot help (the node stops).
signal failed(message: String, for_good: bool)

const TileFrames := preload("res://addons/worldbridge/tile_frames.gd")
## Close codes after which a retry cannot help (docs/protocol.md, "Errors").
const REFUSED_FOR_GOOD := [4400, 4401, 4404]
const MAX_BACKOFF_S := 30.0

var server_url := ""
var token := ""
var world_id := ""
## The socket; null while there is none (before connecting, after a close).
var socket: WebSocketPeer
## True while updates may be sent on the socket.
var socket_open := false
## The hello's session_id: the stream resumes it after a reconnect.
var session_id := ""
## The latest hello (protocol_version, formats, limits, session_id, resumed, resumed_tiles).
var last_hello: Dictionary = {}
## The latest update sequence sent, the highest the server says it applied, and its tiles_pending
## for that one (-1 before the first progress of this socket).
var sequence := 0
var acked_sequence := -1
var server_pending := -1
var tiles_received := 0
var bytes_received := 0

var _frames := TileFrames.new()
var _running := false
var _backoff_s := 1.0
var _retry_at_ms := -1
var _have_world := false


## Fetches the world, then opens the stream.
func start() -> void:
	_running = true
	_have_world = false
	_fetch_world()


## Closes the stream; nothing is retried until [method start].
func stop() -> void:
	_running = false
	if socket != null:
		socket.close(1000, "viewer stopped")


## Drops the socket and opens a new one at once (the session resumes).
func reconnect() -> void:
	if socket != null:
		socket.close(1000, "viewer reconnects")
		socket = null
	socket_open = false
	_backoff_s = 1.0
	if _running and _have_world:
		_connect()


## Polls the socket (or opens it again once the backoff has passed): call once a frame.
func poll() -> void:
	if not _running:
		return
	if socket == null:
		if _retry_at_ms >= 0 and Time.get_ticks_msec() >= _retry_at_ms and _have_world:
			_retry_at_ms = -1
			_connect()
		return
	socket.poll()
	match socket.get_ready_state():
		WebSocketPeer.STATE_OPEN:
			if not socket_open:
				socket_open = true
				opened.emit()
			_receive()
		WebSocketPeer.STATE_CLOSING:
			socket_open = false  # nothing more may be sent on it
		WebSocketPeer.STATE_CLOSED:
			_on_closed()


## Sends [param update] (a viewer update as JSON); one with a pose, or the first, gets the next
## sequence number.
func send(update: Dictionary, first: bool) -> void:
	if update.has("pose") or first:
		sequence += 1
		update["sequence"] = sequence
	socket.send_text(JSON.stringify(update))


## True when no received packet waits to be read.
func idle() -> bool:
	return socket == null or socket.get_available_packet_count() == 0


## True when the server has applied the latest update and has nothing left to send for it.
func caught_up() -> bool:
	return socket_open and acked_sequence == sequence and server_pending == 0


static func key_of(key: Dictionary) -> Vector3i:
	return Vector3i(int(key.get("lod", 0)), int(key.get("ix", 0)), int(key.get("iz", 0)))


static func key_json(key: Vector3i) -> Dictionary:
	return {"lod": key.x, "ix": key.y, "iz": key.z}


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
	var headers := PackedStringArray()
	if not token.is_empty():
		headers.append("Authorization: Bearer " + token)
	var status := request.request(_http_base() + path, headers)
	if status != OK:
		request.queue_free()
		_fail("GET %s could not start (%s)" % [path, error_string(status)], false)
		done.call(false, PackedByteArray())


func _fetch_world() -> void:
	_http_get("/v1/worlds/" + world_id.uri_encode(), _on_world)


## Asks for the world's sky panorama; [signal sky_fetched] follows.
func fetch_sky() -> void:
	_http_get("/v1/worlds/%s/assets/sky" % world_id.uri_encode(), _on_sky)


func _on_world(ok: bool, body: PackedByteArray) -> void:
	if not ok:
		_schedule_retry()
		return
	var parsed: Variant = JSON.parse_string(body.get_string_from_utf8())
	if not parsed is Dictionary:
		_fail("the world's description is not a JSON object", true)
		return
	_have_world = true
	_connect()
	world_fetched.emit(parsed)


func _on_sky(ok: bool, body: PackedByteArray) -> void:
	if not ok:
		return
	var image := Image.new()
	if image.load_png_from_buffer(body) != OK:
		_fail("the world's sky is not a PNG", false)
		return
	sky_fetched.emit(image)


func _connect() -> void:
	socket = WebSocketPeer.new()
	# A tile frame is at most 65,535 bytes; a burst of them must fit while a frame is built.
	socket.inbound_buffer_size = 16 * 1024 * 1024
	socket.max_queued_packets = 16384
	socket_open = false
	_frames.reset()
	last_hello = {}
	acked_sequence = -1
	server_pending = -1
	var url := "%s/v1/worlds/%s/stream" % [_ws_base(), world_id.uri_encode()]
	var status := socket.connect_to_url(url)
	if status != OK:
		socket = null
		_fail("cannot open %s (%s)" % [url, error_string(status)], false)
		_schedule_retry()


func _receive() -> void:
	while socket.get_available_packet_count() > 0:
		var packet := socket.get_packet()
		if socket.was_string_packet():
			_on_message(packet.get_string_from_utf8())
			continue
		bytes_received += packet.size()
		var tile := _frames.add(packet)
		if not _frames.error.is_empty():
			_fail(_frames.error, false)
		elif tile != null:
			tiles_received += 1
			tile_arrived.emit(tile)


func _on_message(text: String) -> void:
	var parsed: Variant = JSON.parse_string(text)
	if not parsed is Dictionary:
		_fail("the server sent a text message that is not a JSON object", false)
		return
	var message: Dictionary = parsed
	if message.has("hello"):
		last_hello = message["hello"]
		session_id = last_hello.get("session_id", "")
		_backoff_s = 1.0
	elif message.has("progress"):
		var progress: Dictionary = message["progress"]
		acked_sequence = int(progress.get("sequence", 0))
		server_pending = int(progress.get("tiles_pending", 0))
	elif message.has("unload"):
		unloaded.emit(key_of(message["unload"]["key"]))
	elif message.has("changed"):
		var change: Dictionary = message["changed"]
		changed.emit(key_of(change.get("key", {})), int(change.get("directive_version", 0)))
	elif message.has("error"):
		var error: Dictionary = message["error"]
		# An ack that crossed the server's unload of the same tile in flight: expected while
		# moving, and the server has already forgotten the tile.
		if str(error.get("message", "")).begins_with("ack for tile"):
			return
		_fail("server: %s: %s" % [error.get("status", "?"), error.get("message", "")], false)
	# heartbeat, and kinds a newer server adds: nothing to do.


func _on_closed() -> void:
	var code := socket.get_close_code()
	var reason := socket.get_close_reason()
	socket = null
	socket_open = false
	if not _running:
		return
	if code in REFUSED_FOR_GOOD:
		_fail("the server refused the stream (%d %s)" % [code, reason], true)
		return
	_fail("the stream closed (%d %s); reconnecting in %.0f s" % [code, reason, _backoff_s], false)
	_schedule_retry()


func _schedule_retry() -> void:
	if not _running:
		return
	_retry_at_ms = Time.get_ticks_msec() + int(_backoff_s * 1000.0)
	_backoff_s = minf(_backoff_s * 2.0, MAX_BACKOFF_S)
	if not _have_world:
		get_tree().create_timer(_backoff_s * 0.5).timeout.connect(_retry_world)


func _retry_world() -> void:
	if _running and not _have_world:
		_retry_at_ms = -1
		_fetch_world()


func _fail(message: String, for_good: bool) -> void:
	if for_good:
		_running = false
	failed.emit(message, for_good)
