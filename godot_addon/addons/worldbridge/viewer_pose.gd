## The viewer's pose as the wire wants it (docs/protocol.md, ViewerUpdate.pose).
##
## Godot and glTF share axes: right-handed, Y up, metres, -Z forward, +X right. The wire's world
## frame is glTF's, so a Godot position is a wire position as it is (no swap, no scale): only the
## scene's floating origin is added back, and a node looks along its basis' -Z.
extends RefCounted


## Where a node looks, in the world frame: its basis' -Z, normalised.
static func forward_of(node: Node3D) -> Vector3:
	return (-node.global_basis.z).normalized()


## A node's basis looking along [param forward] with no roll (+Y up), as the world's spawn camera
## is given; a straight-up or straight-down forward keeps +X as the right.
static func basis_looking(forward: Vector3) -> Basis:
	var ahead := forward.normalized()
	var right := ahead.cross(Vector3.UP)
	if right.length() < 1e-6:
		right = Vector3.RIGHT
	right = right.normalized()
	return Basis(right, right.cross(ahead), -ahead)


## The wire's Vec3 of a Godot vector ([param origin] added: the scene's floating origin, doubles).
static func vec3(value: Vector3, origin := Vector3.ZERO) -> Dictionary:
	return {"x": value.x + origin.x, "y": value.y + origin.y, "z": value.z + origin.z}


## The pose part of a ViewerUpdate: position and velocity in metres and metres per second,
## vertical field of view in degrees, viewport in pixels.
static func pose_json(
	position: Vector3,
	forward: Vector3,
	velocity: Vector3,
	vertical_fov_deg: float,
	viewport: Vector2i,
	origin := Vector3.ZERO
) -> Dictionary:
	return {
		"position": vec3(position, origin),
		"forward": vec3(forward.normalized()),
		"velocity": vec3(velocity),
		"vertical_fov_deg": vertical_fov_deg,
		"viewport_height_px": viewport.y,
		"viewport_width_px": viewport.x,
	}


## A Vector3 from the wire's Vec3 (proto3 JSON leaves zero fields out).
static func from_json(value: Dictionary) -> Vector3:
	return Vector3(value.get("x", 0.0), value.get("y", 0.0), value.get("z", 0.0))
