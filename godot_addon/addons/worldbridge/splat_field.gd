## Draws the splats of many decoded splat-textures tiles (splat_textures.gd) as one field with one
## back-to-front order over all of them (splat_field.gdshader): splats of neighbouring tiles
## interleave in depth (a facade split between two tiles, anything standing on a tile border),
## which a sort per tile cannot get right. Works in the Compatibility renderer.
##
## The tiles' texture bytes are concatenated as they are (texel i is splat i in every tile, so the
## bytes of one tile continue those of the one before, whatever the row width); a small table
## says where each tile starts and where its origin is. Building and sorting are jobs spread over
## frames: [method start_build], then [method build_step] until it returns true; [method
## start_sort], then [method sort_step] until it returns true. The order in use until then is the
## previous one, which stays valid because the field's splats never change once built (a new set
## of tiles is a new field).
extends MultiMeshInstance3D

const SplatTextures := preload("res://addons/worldbridge/splat_textures.gd")
const FIELD_SHADER := preload("res://addons/worldbridge/splat_field.gdshader")
const WIDTH := 2048  # texels a row of the field's textures
const INDEX_BITS := 24  # splat index in a sort key's low bits (the order texture holds 24 bits)
const MAX_SPLATS := 1 << INDEX_BITS
const DEPTH_STEPS_PER_METRE := 65536.0  # 15 um; with 24 index bits, depths to 2,000 km
const SLOTS_PER_STEP := 65536  # order texels written between budget checks
const NEAR_M := 0.01  # the shader draws nothing nearer (or behind): such splats are left out
const TEXEL_BYTES := [16, 8, 8, 4]
const TEXEL_FORMATS := [
	Image.FORMAT_RGBAF, Image.FORMAT_RGBAH, Image.FORMAT_RGBAH, Image.FORMAT_RGBA8
]
const TEXTURE_NAMES := ["positions", "rotations", "scales", "colors"]

## Splats in the field.
var count := 0
## Splats drawn by the last finished sort: those in front of its camera.
var drawn := 0
## True once a sort has finished: before that the field draws nothing.
var sorted := false
## Script time the last finished sort took, all its steps together, microseconds.
var last_sort_usec := 0
## True once [method build_step] has made the field (its textures and MultiMesh).
var built := false
## Script time the build took so far, all its steps together, microseconds.
var build_usec := 0

var _positions: Array[PackedFloat32Array] = []  # per tile: x, y, z, 0 relative to its origin
var _origins: Array[Vector3] = []  # per tile, relative to this node
var _starts := PackedInt32Array()
var _rows := 0
# The build job: tiles appended one a part, then a texture a part, then the MultiMesh.
var _tiles: Array[SplatTextures.Tile] = []
var _origin := Vector3.ZERO
var _reuse: MultiMesh
var _next_build := 0
var _added := 0
var _bytes: Array = []
var _table := PackedFloat32Array()
var _material: ShaderMaterial
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


## Starts making the field from [param tiles] (decoded, each with splats), placed relative to the
## world position [param origin] of the scene's origin; [method build_step] goes on with it.
## [param reuse]: a MultiMesh of a retired field, taken when it has room (allocating one for a
## million instances is a 60 ms step in the web runtime). False (and an empty field) past
## MAX_SPLATS.
func start_build(
	tiles: Array[SplatTextures.Tile], origin := Vector3.ZERO, reuse: MultiMesh = null
) -> bool:
	count = 0
	for tile in tiles:
		count += tile.count
	var fits := count <= MAX_SPLATS
	_tiles = tiles
	if not fits:
		count = 0
		_tiles = []
	_origin = origin
	_reuse = reuse
	_next_build = 0
	_bytes = [PackedByteArray(), PackedByteArray(), PackedByteArray(), PackedByteArray()]
	_table = PackedFloat32Array()
	_material = ShaderMaterial.new()
	_material.shader = FIELD_SHADER
	return fits


## Goes on making the field until [param deadline_usec] (Time.get_ticks_usec()) passes, a tile
## or a texture at least; true once [member built].
func build_step(deadline_usec: int) -> bool:
	var began := Time.get_ticks_usec()
	while not built:
		_build_part()
		if Time.get_ticks_usec() > deadline_usec:
			break
	build_usec += Time.get_ticks_usec() - began
	return built


## One part of the build: a tile's bytes appended, or one texture made, or the MultiMesh.
func _build_part() -> void:
	var tile_count := _tiles.size()
	if _next_build < tile_count:  # a tile's texels after the ones before (its row padding dropped)
		var tile: SplatTextures.Tile = _tiles[_next_build]
		var images := [tile.positions, tile.rotations, tile.scales, tile.colors]
		for k in 4:
			var data: PackedByteArray = (images[k] as Image).get_data()
			_bytes[k].append_array(data.slice(0, TEXEL_BYTES[k] * tile.count))
		var at := Vector3(tile.origin_x, tile.origin_y, tile.origin_z) - _origin
		_table.append_array(PackedFloat32Array([float(_added), at.x, at.y, at.z]))
		_starts.append(_added)
		_origins.append(at)
		_positions.append(tile.positions.get_data().to_float32_array())
		_added += tile.count
	elif _next_build < tile_count + 4:  # the four splat textures, one a part
		var k := _next_build - tile_count
		if k == 0:
			_starts.append(count)  # one past the last tile: tile t holds _starts[t] to [t+1]
			_rows = maxi(1, ceili(float(count) / WIDTH))
		_bytes[k].resize(TEXEL_BYTES[k] * WIDTH * _rows)  # zero texels pad the last row
		var image := Image.create_from_data(WIDTH, _rows, false, TEXEL_FORMATS[k], _bytes[k])
		_material.set_shader_parameter(TEXTURE_NAMES[k], ImageTexture.create_from_image(image))
		_bytes[k] = PackedByteArray()
	else:
		_finish_build()
	_next_build += 1


func _finish_build() -> void:
	var tile_table := Image.create_from_data(
		maxi(1, _tiles.size()), 1, false, Image.FORMAT_RGBAF, _table.to_byte_array()
	)
	_material.set_shader_parameter("tiles", ImageTexture.create_from_image(tile_table))
	_material.set_shader_parameter("tile_count", _tiles.size())
	_material.set_shader_parameter("width", WIDTH)
	material_override = _material
	var splats := _reuse
	if splats == null or splats.instance_count < count:
		var quad := QuadMesh.new()
		quad.size = Vector2(2.0, 2.0)  # corners at (+-1, +-1): the shader scales them to the splat
		splats = MultiMesh.new()
		# 8 floats an instance, not 12: the transforms are never read.
		splats.transform_format = MultiMesh.TRANSFORM_2D
		splats.mesh = quad
		# Room to grow: a later field of up to twice as many splats reuses it. Its transforms
		# stay zero: the shader places splats with field_to_world, never the instance's.
		splats.instance_count = maxi(1, nearest_po2(count))
		# The shader moves every vertex: bounds from the transforms would cull wrongly.
		splats.custom_aabb = AABB(Vector3(-1.0e6, -1.0e6, -1.0e6), Vector3(2.0e6, 2.0e6, 2.0e6))
	splats.visible_instance_count = 0  # nothing until the first sort is in
	multimesh = splats
	_tiles = []
	_reuse = null
	built = true


## Starts ordering the splats back to front as seen from [param camera] (a sort already under
## way starts again from there).
func start_sort(camera: Camera3D) -> void:
	_material.set_shader_parameter("field_to_world", Projection(global_transform))
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
			# Only splats in front are keyed (the shader draws no others): a third fewer keys
			# for the native sort at the spawn, its one step that cannot be split.
			if depth > NEAR_M:
				# Nearest last: the key grows as the depth shrinks; at equal depth the lower
				# index is drawn last (on top), as a front-to-back compositor taking ties in
				# order has it.
				var index := start + i
				_keys[_in_front] = (
					(-int(depth * DEPTH_STEPS_PER_METRE) << INDEX_BITS) | (mask - index)
				)
				_in_front += 1
		_next_tile += 1
		if Time.get_ticks_usec() > deadline_usec:
			return false
	if _next_tile >= 0:
		_next_tile = -1
		_keys.resize(_in_front)
		_keys.sort()
		_order.resize(4 * WIDTH * _rows)
		_next_slot = 0
		if Time.get_ticks_usec() > deadline_usec:
			return false
	# Only splats in front of the camera are drawn, which halves the vertex work of a view in
	# the middle of its tiles.
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
		_material.set_shader_parameter("order", _order_texture)
	else:
		_order_texture.update(image)
	multimesh.visible_instance_count = _in_front
	drawn = _in_front
	sorted = true
	return true
