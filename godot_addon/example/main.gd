## The example's scene: reads where the server and the world are, points the streamer at them and
## stands the player at the world's spawn (where the photo was taken) once the world is ready.
##
## Settings, later ones winning: the command line's user arguments (after "--"):
## --server ws://HOST:PORT --world ID [--draw-mode splats|meshes] [--view-radius M], then, in a
## web build, the page's query string: ?server=...&world=...&draw-mode=...&view-radius=...
extends Node3D

const Streamer := preload("res://addons/worldbridge/streamer.gd")

@onready var streamer: Streamer = $WorldBridgeStreamer
@onready var player: Node3D = $Player


func _ready() -> void:
	var settings := settings_from_arguments(OS.get_cmdline_user_args())
	settings.merge(settings_from_query(_page_query()), true)
	if settings.has("server"):
		streamer.server_url = settings["server"]
	if settings.has("world"):
		streamer.world_id = settings["world"]
	if settings.has("token"):
		streamer.token = settings["token"]
	if settings.has("view-radius"):
		streamer.view_radius_m = float(settings["view-radius"])
	if settings.get("draw-mode", "splats") == "meshes":
		streamer.draw_mode = Streamer.DrawMode.MESHES
	streamer.world_ready.connect(_on_world_ready)
	streamer.connection_error.connect(func(message: String) -> void: push_warning(message))
	if streamer.world_id.is_empty():
		push_error("No world: run with -- --server ws://127.0.0.1:8080 --world ID (or ?world=ID)")
		return
	print("WorldBridge example: %s, world %s" % [streamer.server_url, streamer.world_id])
	streamer.start()


func _on_world_ready(_world: Dictionary) -> void:
	player.place(streamer.spawn_transform(), streamer.spawn_vertical_fov_deg())


## "--name value" pairs of the user arguments, without the dashes.
static func settings_from_arguments(arguments: PackedStringArray) -> Dictionary:
	var settings := {}
	var i := 0
	while i < arguments.size():
		var argument := arguments[i]
		if argument.begins_with("--") and argument.contains("="):
			settings[argument.substr(2).get_slice("=", 0)] = argument.get_slice("=", 1)
		elif argument.begins_with("--") and i + 1 < arguments.size():
			settings[argument.substr(2)] = arguments[i + 1]
			i += 1
		i += 1
	return settings


## The known settings of a query string such as "?server=ws%3A%2F%2F...&world=ID".
static func settings_from_query(query: String) -> Dictionary:
	var settings := {}
	for pair in query.trim_prefix("?").split("&", false):
		var name := pair.get_slice("=", 0).uri_decode()
		if name in ["server", "world", "token", "draw-mode", "view-radius"]:
			settings[name] = (
				pair.substr(pair.find("=") + 1).uri_decode() if pair.contains("=") else ""
			)
	return settings


static func _page_query() -> String:
	if not OS.has_feature("web"):
		return ""
	return str(JavaScriptBridge.eval("window.location.search", true))
