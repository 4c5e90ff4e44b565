## "New world from photo" in a WorldBridgeStreamer's inspector: pick a photo, it is sent to the
## server (POST /v1/worlds, the photo as the body) and the new world's id goes into world_id.
## The server answers once the world is prepared (a few seconds on a CPU); the label shows each
## step. Editor-only and thin on purpose: it was parsed and linted here but never run (the tests'
## Godot web template has no editor).
@tool
extends EditorInspectorPlugin

const Streamer := preload("res://addons/worldbridge/streamer.gd")


func _can_handle(object: Object) -> bool:
	return object is Node and (object as Node).get_script() == Streamer


func _parse_begin(object: Object) -> void:
	var box := VBoxContainer.new()
	var button := Button.new()
	button.text = "New world from photo..."
	var status := Label.new()
	status.autowrap_mode = TextServer.AUTOWRAP_WORD_SMART
	box.add_child(button)
	box.add_child(status)
	button.pressed.connect(_choose_photo.bind(object, box, status))
	add_custom_control(box)


func _choose_photo(streamer: Node, box: Control, status: Label) -> void:
	var dialog := EditorFileDialog.new()
	dialog.file_mode = EditorFileDialog.FILE_MODE_OPEN_FILE
	dialog.access = EditorFileDialog.ACCESS_FILESYSTEM
	dialog.filters = PackedStringArray(["*.png, *.jpg, *.jpeg, *.webp ; Photos"])
	dialog.file_selected.connect(
		func(path: String) -> void:
			dialog.queue_free()
			_upload(streamer, path, box, status)
	)
	box.add_child(dialog)
	dialog.popup_file_dialog()


func _upload(streamer: Node, path: String, box: Control, status: Label) -> void:
	var photo := FileAccess.get_file_as_bytes(path)
	if photo.is_empty():
		status.text = "Cannot read %s (%s)" % [path, error_string(FileAccess.get_open_error())]
		return
	var base: String = streamer.get("server_url")
	base = base.replace("wss://", "https://").replace("ws://", "http://").trim_suffix("/")
	var headers := PackedStringArray(["Content-Type: application/octet-stream"])
	var token: String = streamer.get("token")
	if not token.is_empty():
		headers.append("Authorization: Bearer " + token)
	var request := HTTPRequest.new()
	box.add_child(request)
	request.request_completed.connect(
		func(result: int, code: int, _h: PackedStringArray, body: PackedByteArray) -> void:
			request.queue_free()
			var answer: Variant = JSON.parse_string(body.get_string_from_utf8())
			if result != HTTPRequest.RESULT_SUCCESS or code >= 300 or not answer is Dictionary:
				status.text = (
					"The server refused it: result %d, HTTP %d %s"
					% [result, code, body.get_string_from_utf8().left(200)]
				)
				return
			var id: String = answer["world"]["id"]
			streamer.set("world_id", id)
			streamer.notify_property_list_changed()
			status.text = "World %s ready (%s)" % [id, "new" if code == 201 else "already made"]
	)
	var name := path.get_file().get_basename().uri_encode()
	status.text = (
		"Sending %d KB to %s; the server prepares the world..." % [photo.size() / 1024, base]
	)
	var started := request.request_raw(
		base + "/v1/worlds?name=" + name, headers, HTTPClient.METHOD_POST, photo
	)
	if started != OK:
		request.queue_free()
		status.text = "Cannot reach %s (%s)" % [base, error_string(started)]
