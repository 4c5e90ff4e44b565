## Draws the splats of many decoded splat-textures tiles (splat_textures.gd) as one field with one
## back-to-front order over all of them (splat_field.gdshader): splats of neighbouring tiles
## interleave in depth (a facade split between two tiles, anything standing on a tile border),
## which a sort per tile cannot get right. Works in the Compatibility renderer.
##
## The tiles' texture bytes are concatenated as they are (texel i is splat i in every tile, so the
## bytes of one tile continue those of the one before, whatever the row width); a small table
## says where each tile starts and where its origin is. Sorting is a job spread over frames:
## [method start_sort], then [method sort_step] until it returns true; the order in use until then
## is the previous one, which stays valid because the field's splats never change after [method
## build] (a new set of tiles is a new field).
extends MultiMeshInstance3D

const SplatTextures := preload("res://addons/worldbridge/splat_textures.gd")
const FIELD_SHADER := preload("res://addons/worldbridge/splat_field.gdshader")
const WIDTH := 2048  # texels a row of the field's textures
const INDEX_BITS := 24  # splat index in a sort key's low bits (the order texture holds 24 bits)
const MAX_SPLATS := 1 << INDEX_BITS
const DEPTH_STEPS_PER_METRE := 65536.0  # 15 um; with 24 index bits, depths to 2,000 km
const SLOTS_PER_STEP := 65536  # order texels written between budget checks
const NEAR_M := 0.01  # the shader draws nothing nearer (or behind): such splats are left out

## Splats in the field.
var count := 0
## Splats drawn by the last finished sort: those in front of its camera.
var drawn := 0
## True once a sort has finished: before that the field draws nothing.
var sorted := false
## Script time the last finished sort took, all its steps together, microseconds.
var last_sort_usec := 0

var _positions: Array[PackedFloat32Array] = []  # per tile: x, y, z, 0 relative to its origin
var _origins: Array[Vector3] = []  # per tile, relative to this node
var _starts := PackedInt32Array()
var _rows := 0
var _order_texture: ImageTexture
# The sort job: keys per tile, then one native sort, then the order texture in slices.
var _keys := PackedInt64Array()
var _order := PackedByteArray()
var _next_tile := -1
var _next_slot := -1
var _eye := Vector3.ZERO
var _ahead := Vector3.FORWARD
var _sort_usec := 0
var _in_front := 0  # splats of the sort under way that are in front of the camera


## Makes the field from [param tiles] (decoded, each with splats), placed relative to the world
## position [param origin] of the scene's origin. False (and an empty field) past MAX_SPLATS.
func build(tiles: Array[SplatTextures.Tile], origin := Vector3.ZERO) -> bool:
	var bytes := [PackedByteArray(), PackedByteArray(), PackedByteArray(), PackedByteArray()]
	var sizes := [16, 8, 8, 4]
	var table := PackedFloat32Array()
	count = 0
	for tile in tiles:
		if count + tile.count > MAX_SPLATS:
			count = 0
			return false
		var images := [tile.positions, tile.rotations, tile.scales, tile.colors]
		for k in 4:
			var data: PackedByteArray = (images[k] as Image).get_data()
			bytes[k].append_array(data.slice(0, sizes[k] * tile.count))  # drop the row padding
		var at := Vector3(tile.origin_x, tile.origin_y, tile.origin_z) - origin
		_starts.append(count)
		_origins.append(at)
		table.append_array(PackedFloat32Array([float(count), at.x, at.y, at.z]))
		_positions.append(tile.positions.get_data().to_float32_array())
		count += tile.count
	_starts.append(count)  # one past the last tile: tile t holds splats _starts[t] to _starts[t+1]
	_rows = maxi(1, ceili(float(count) / WIDTH))
	var formats := [Image.FORMAT_RGBAF, Image.FORMAT_RGBAH, Image.FORMAT_RGBAH, Image.FORMAT_RGBA8]
	var names := ["positions", "rotations", "scales", "colors"]
	var material := ShaderMaterial.new()
	material.shader = FIELD_SHADER
	for k in 4:
		bytes[k].resize(sizes[k] * WIDTH * _rows)  # zero texels pad the last row
		var image := Image.create_from_data(WIDTH, _rows, false, formats[k], bytes[k])
		material.set_shader_parameter(names[k], ImageTexture.create_from_image(image))
	var tile_table := Image.create_from_data(
		maxi(1, tiles.size()), 1, false, Image.FORMAT_RGBAF, table.to_byte_array()
	)
	material.set_shader_parameter("tiles", ImageTexture.create_from_image(tile_table))
	material.set_shader_parameter("tile_count", tiles.size())
	material.set_shader_parameter("width", WIDTH)
	material_override = material
	var quad := QuadMesh.new()
	quad.size = Vector2(2.0, 2.0)  # corners at (+-1, +-1): the shader scales them to the splat
	var splats := MultiMesh.new()
	splats.transform_format = MultiMesh.TRANSFORM_3D
	splats.mesh = quad
	splats.instance_count = count
	splats.buffer = _identity_transforms(count)
	splats.visible_instance_count = 0  # nothing until the first sort is in
	# The shader moves every vertex: bounds from the transforms would cull wrongly.
	splats.custom_aabb = AABB(Vector3(-1.0e6, -1.0e6, -1.0e6), Vector3(2.0e6, 2.0e6, 2.0e6))
	multimesh = splats
	return true


## Starts ordering the splats back to front as seen from [param camera] (a sort already under
## way starts again from there).
func start_sort(camera: Camera3D) -> void:
	var to_local := global_transform.affine_inverse()
	_eye = to_local * camera.global_position
	_ahead = (to_local.basis * -camera.global_basis.z).normalized()
	_keys.resize(count)
	_next_tile = 0
	_next_slot = -1
	_sort_usec = 0
	_in_front = 0


## True while a sort is under way.
func sorting() -> bool:
	return _next_tile >= 0 or _next_slot >= 0


## Goes on with the sort until [param deadline_usec] (Time.get_ticks_usec()) passes, a tile or a
## slice at least; true when the new order is in use.
func sort_step(deadline_usec: int) -> bool:
	var began := Time.get_ticks_usec()
	var done := _sort_step(deadline_usec)
	_sort_usec += Time.get_ticks_usec() - began
	if done:
		last_sort_usec = _sort_usec
	return done


func _sort_step(deadline_usec: int) -> bool:
	var mask := (1 << INDEX_BITS) - 1
	while _next_tile >= 0 and _next_tile < _positions.size():
		var p := _positions[_next_tile]
		var eye := _eye - _origins[_next_tile]
		var start := _starts[_next_tile]
		# The tile's own splats only: the zero texels padding its last row are no splats.
		for i in _starts[_next_tile + 1] - start:
			var depth := (
				(p[4 * i] - eye.x) * _ahead.x
				+ (p[4 * i + 1] - eye.y) * _ahead.y
				+ (p[4 * i + 2] - eye.z) * _ahead.z
			)
			# Nearest last: the key grows as the depth shrinks; at equal depth the lower index
			# is drawn last (on top), as a front-to-back compositor taking ties in order has it.
			var index := start + i
			_keys[index] = (-int(depth * DEPTH_STEPS_PER_METRE) << INDEX_BITS) | (mask - index)
			if depth > NEAR_M:
				_in_front += 1
		_next_tile += 1
		if Time.get_ticks_usec() > deadline_usec:
			return false
	if _next_tile >= 0:
		_next_tile = -1
		_keys.sort()
		_order.resize(4 * WIDTH * _rows)
		_next_slot = 0
		if Time.get_ticks_usec() > deadline_usec:
			return false
	# In front of the camera is the start of the order (their keys are the lowest): only those
	# are drawn, which halves the vertex work of a view in the middle of its tiles.
	while _next_slot < _in_front:
		for slot in range(_next_slot, mini(_next_slot + SLOTS_PER_STEP, _in_front)):
			_order.encode_u32(4 * slot, mask - (_keys[slot] & mask))
		_next_slot += SLOTS_PER_STEP
		if _next_slot < _in_front and Time.get_ticks_usec() > deadline_usec:
			return false
	_next_slot = -1
	var image := Image.create_from_data(WIDTH, _rows, false, Image.FORMAT_RGBA8, _order)
	if _order_texture == null:
		_order_texture = ImageTexture.create_from_image(image)
		(material_override as ShaderMaterial).set_shader_parameter("order", _order_texture)
	else:
		_order_texture.update(image)
	multimesh.visible_instance_count = _in_front
	drawn = _in_front
	sorted = true
	return true


## [param instances] identity 3x4 transforms, built by doubling (no loop over the instances).
static func _identity_transforms(instances: int) -> PackedFloat32Array:
	var one := PackedFloat32Array([1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0])
	var out := one.duplicate()
	while out.size() < 12 * instances:
		out.append_array(out)
	out.resize(12 * instances)
	return out
