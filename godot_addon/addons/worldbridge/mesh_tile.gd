## Builds a GLB mesh tile (heightfield with skirts, baked texture, KHR_materials_unlit) into a
## node with Godot's own glTF loader, at run time, from the bytes as they came.
## Positions in the GLB are absolute world coordinates in glTF's frame, which is Godot's.
extends RefCounted


## The tile's scene, or null with the reason in [param why] (an Array that receives one String).
static func build(data: PackedByteArray, why: Array) -> Node3D:
	var document := GLTFDocument.new()
	var state := GLTFState.new()
	var status := document.append_from_buffer(data, "", state)
	if status != OK:
		why.append("GLB tile: glTF loader refused it (%s)" % error_string(status))
		return null
	var scene := document.generate_scene(state) as Node3D
	if scene == null:
		why.append("GLB tile: glTF loader made no 3D scene")
	return scene
