## A walkable player: WASD (or the arrow keys) walk along the ground plane, Shift runs, the mouse
## looks around (click to capture it, Escape to let it go). There is no collision: the eye stays
## at the height it was placed at (the streamed splats have no physical surface).
extends Node3D

const KEYS := {
	"move_forward": [KEY_W, KEY_UP],
	"move_back": [KEY_S, KEY_DOWN],
	"move_left": [KEY_A, KEY_LEFT],
	"move_right": [KEY_D, KEY_RIGHT],
	"run": [KEY_SHIFT],
}

@export var walk_speed := 6.0  ## metres a second
@export var run_speed := 24.0  ## with Shift
@export var mouse_sensitivity := 0.0025  ## radians a pixel

@onready var camera: Camera3D = $Camera3D


func _ready() -> void:
	for action: String in KEYS:  # the actions exist without editing the project's input map
		if InputMap.has_action(action):
			continue
		InputMap.add_action(action)
		for code: Key in KEYS[action]:
			var event := InputEventKey.new()
			event.physical_keycode = code
			InputMap.action_add_event(action, event)


## Stands at [param spot] (looking along its -Z, no roll) with the camera's vertical field of view.
func place(spot: Transform3D, vertical_fov_deg: float) -> void:
	var forward := -spot.basis.z
	position = spot.origin
	rotation = Vector3(0.0, atan2(-forward.x, -forward.z), 0.0)
	camera.rotation = Vector3(asin(clampf(forward.y, -1.0, 1.0)), 0.0, 0.0)
	camera.fov = vertical_fov_deg
	camera.keep_aspect = Camera3D.KEEP_HEIGHT


func _unhandled_input(event: InputEvent) -> void:
	if event is InputEventMouseButton and event.pressed:
		Input.mouse_mode = Input.MOUSE_MODE_CAPTURED
	elif event is InputEventKey and event.pressed and event.keycode == KEY_ESCAPE:
		Input.mouse_mode = Input.MOUSE_MODE_VISIBLE
	elif event is InputEventMouseMotion and Input.mouse_mode == Input.MOUSE_MODE_CAPTURED:
		var motion := event as InputEventMouseMotion
		rotate_y(-motion.relative.x * mouse_sensitivity)
		camera.rotation.x = clampf(
			camera.rotation.x - motion.relative.y * mouse_sensitivity, -1.5, 1.5
		)


func _process(delta: float) -> void:
	var steer := Input.get_vector("move_left", "move_right", "move_forward", "move_back")
	if steer == Vector2.ZERO:
		return
	var speed := run_speed if Input.is_action_pressed("run") else walk_speed
	# Along the ground: the body's yaw only, whatever the camera's pitch.
	var ahead := Vector3(steer.x, 0.0, steer.y).normalized()
	position += global_basis * ahead * speed * delta
