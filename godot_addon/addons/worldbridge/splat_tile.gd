## Draws one decoded splat-textures tile (see splat_textures.gd) as Gaussian splats: a MultiMesh of
## quads whose instance i draws the i-th splat of a back-to-front order, the shader
## (splats.gdshader) reading every value from the tile's textures. Works in the Compatibility
## renderer. The node sits at the tile's origin relative to the scene's origin given to
## [method show_tile], so positions stay float32-exact far from the world's origin.
##
## The depth sort runs in script, [method sort_for] over the splats (two passes and one native sort
## of packed 64-bit keys); call it when the camera has moved enough to matter.
extends MultiMeshInstance3D

const SplatTextures := preload("res://addons/worldbridge/splat_textures.gd")
const SPLAT_SHADER := preload("res://addons/worldbridge/splats.gdshader")
const INDEX_BITS := 22  # splat index in a sort key's low bits (2^21 splats at most)
const DEPTH_STEPS_PER_METRE := 65536.0  # 15 um; with 22 index bits, depths to 16,000 km

var tile: SplatTextures.Tile
var _positions := PackedFloat32Array()
var _order_texture: ImageTexture


## Shows [param decoded] (a tile whose [member SplatTextures.Tile.error] is empty), placed
## relative to the world position ([param origin_x], [param origin_y], [param origin_z]) of the
## scene's origin (the player's floating origin, in doubles).
func show_tile(
	decoded: SplatTextures.Tile, origin_x := 0.0, origin_y := 0.0, origin_z := 0.0
) -> void:
	tile = decoded
	position = Vector3(
		decoded.origin_x - origin_x, decoded.origin_y - origin_y, decoded.origin_z - origin_z
	)
	var quad := QuadMesh.new()
	quad.size = Vector2(2.0, 2.0)  # corners at (+-1, +-1): the shader scales them to the splat
	var splats := MultiMesh.new()
	splats.transform_format = MultiMesh.TRANSFORM_3D
	splats.mesh = quad
	splats.instance_count = decoded.count
	splats.buffer = _identity_transforms(decoded.count)
	# The shader moves every vertex: the usual bounds from the transforms would cull wrongly.
	splats.custom_aabb = AABB(Vector3(-1.0e6, -1.0e6, -1.0e6), Vector3(2.0e6, 2.0e6, 2.0e6))
	multimesh = splats
	var material := ShaderMaterial.new()
	material.shader = SPLAT_SHADER
	material.set_shader_parameter("positions", ImageTexture.create_from_image(decoded.positions))
	material.set_shader_parameter("rotations", ImageTexture.create_from_image(decoded.rotations))
	material.set_shader_parameter("scales", ImageTexture.create_from_image(decoded.scales))
	material.set_shader_parameter("colors", ImageTexture.create_from_image(decoded.colors))
	material.set_shader_parameter("width", decoded.width)
	material_override = material
	_positions = decoded.positions.get_data().to_float32_array()
	_order_texture = null


## Orders the splats back to front as seen from [param camera] (by depth along its view axis).
func sort_for(camera: Camera3D) -> void:
	var n := tile.count
	var to_local := global_transform.affine_inverse()
	var eye := to_local * camera.global_position
	var ahead := (to_local.basis * -camera.global_basis.z).normalized()
	var keys := PackedInt64Array()
	keys.resize(n)
	var mask := (1 << INDEX_BITS) - 1
	for i in n:
		var depth := (
			(_positions[4 * i] - eye.x) * ahead.x
			+ (_positions[4 * i + 1] - eye.y) * ahead.y
			+ (_positions[4 * i + 2] - eye.z) * ahead.z
		)
		# Nearest last: the key grows as the depth shrinks. At equal depth the lower index is drawn
		# last, on top, as a front-to-back compositor taking ties in index order has it.
		keys[i] = (-int(depth * DEPTH_STEPS_PER_METRE) << INDEX_BITS) | (mask - i)
	keys.sort()
	var order := PackedByteArray()
	order.resize(4 * tile.width * tile.rows)
	for slot in n:
		order.encode_u32(4 * slot, mask - (keys[slot] & mask))
	var image := Image.create_from_data(tile.width, tile.rows, false, Image.FORMAT_RGBA8, order)
	if _order_texture == null:
		_order_texture = ImageTexture.create_from_image(image)
		(material_override as ShaderMaterial).set_shader_parameter("order", _order_texture)
	else:
		_order_texture.update(image)


## [param count] identity 3x4 transforms, built by doubling (no loop over the instances).
static func _identity_transforms(count: int) -> PackedFloat32Array:
	var one := PackedFloat32Array([1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0])
	var out := one.duplicate()
	while out.size() < 12 * count:
		out.append_array(out)
	out.resize(12 * count)
	return out
