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
		return null
	for mesh: MeshInstance3D in scene.find_children("*", "MeshInstance3D", true, false):
		_with_mipmaps(mesh)
	return scene


## The tile's sampler asks for trilinear filtering (LINEAR_MIPMAP_LINEAR); images loaded at run
## time come without mipmaps, so a distant tile's texture would shimmer. Make them here.
static func _with_mipmaps(mesh: MeshInstance3D) -> void:
	for surface in mesh.mesh.get_surface_count():
		var material := mesh.mesh.surface_get_material(surface) as BaseMaterial3D
		if material == null or not material.albedo_texture is ImageTexture:
			continue
		var texture := material.albedo_texture as ImageTexture
		var image := texture.get_image()
		if image != null and not image.has_mipmaps():
			image.generate_mipmaps()
			texture.set_image(image)
		material.texture_filter = BaseMaterial3D.TEXTURE_FILTER_LINEAR_WITH_MIPMAPS
