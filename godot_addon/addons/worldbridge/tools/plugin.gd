## The editor side of the addon: registers the WorldBridgeStreamer node type and the inspector's
## "New world from photo" button, and takes both away again when the plugin is disabled.
## Editor-only: it was parsed and linted here but never run (the Godot web template that the
## tests run has no editor).
@tool
extends EditorPlugin

const Streamer := preload("res://addons/worldbridge/streamer.gd")
const NewWorldInspector := preload("res://addons/worldbridge/tools/new_world_inspector.gd")
const TYPE_NAME := "WorldBridgeStreamer"

var _inspector: EditorInspectorPlugin


func _enter_tree() -> void:
	add_custom_type(TYPE_NAME, "Node3D", Streamer, null)
	_inspector = NewWorldInspector.new()
	add_inspector_plugin(_inspector)


func _exit_tree() -> void:
	remove_inspector_plugin(_inspector)
	_inspector = null
	remove_custom_type(TYPE_NAME)
