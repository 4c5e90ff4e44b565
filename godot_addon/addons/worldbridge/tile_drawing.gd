## What of the held tiles is on screen: the LOD hand-over rule (handover.gd) picks the tiles to
## draw; mesh tiles are shown or hidden, splat tiles go into one splat field (splat_field.gd) in
## one depth order. A new drawn set becomes a new field, shown once built and sorted (the old one
## stays until then); a moved camera re-sorts the field in use. All of it a budget at a time: a
## field is built a tile or a texture a step, and its MultiMesh is the retired field's when that
## has room.
extends RefCounted

const SplatField := preload("res://addons/worldbridge/splat_field.gd")
const SplatTextures := preload("res://addons/worldbridge/splat_textures.gd")
const TileCache := preload("res://addons/worldbridge/tile_cache.gd")
const Handover := preload("res://addons/worldbridge/handover.gd")
const ViewerPose := preload("res://addons/worldbridge/viewer_pose.gd")

## Where the fields go.
var parent: Node3D
## Draw splat tiles (else meshes only).
var splats := true
## Re-sort once the camera has moved this far (metres) or turned this much (degrees).
var resort_distance_m := 0.5
var resort_angle_deg := 2.0
## The held keys the hand-over rule draws (key -> true).
var drawn := {}
## Script time of the last finished field build, all its steps together, microseconds.
var last_build_usec := 0

var _field: SplatField  # the drawn splat tiles, in one depth order
var _next_field: SplatField  # the field of a newer drawn set, shown once built and sorted
var _spare: MultiMesh  # a retired field's instances, for the next field
var _field_dirty := false
var _sorted_from := Vector3.INF  # camera position and facing of the field's last sort
var _sorted_facing := Vector3.ZERO


func _init(owner: Node3D) -> void:
	parent = owner


## Applies the hand-over rule to [param cache]'s held tiles.
func hand_over(cache: TileCache) -> void:
	drawn = Handover.tiles_to_draw(cache.held)
	for key: Vector3i in cache.held:
		var tile: TileCache.Held = cache.held[key]
		if tile.node != null:
			tile.node.visible = drawn.has(key)
	_field_dirty = true


## Splats in the drawn tiles.
func drawn_splats(cache: TileCache) -> int:
	var total := 0
	for key: Vector3i in drawn:
		var tile: TileCache.Held = cache.held.get(key)
		if tile != null:  # dropped since the rule last ran
			total += tile.splat_count
	return total


## Keeps the splat field in step with the drawn tiles and [param camera] until
## [param deadline_usec]; the reason when a drawn set cannot be drawn, else "".
func update(cache: TileCache, camera: Camera3D, deadline_usec: int) -> String:
	if not splats or camera == null:
		return ""
	var problem := ""
	if _field_dirty and _next_field == null:
		_field_dirty = false
		var tiles: Array[SplatTextures.Tile] = []
		var keys: Array = drawn.keys()
		keys.sort()  # a deterministic layout
		for key: Vector3i in keys:
			var tile: TileCache.Held = cache.held[key]
			if tile.splats != null:
				tiles.append(tile.splats)
		_next_field = SplatField.new()
		if not _next_field.start_build(tiles, Vector3.ZERO, _spare):
			problem = "%d tiles hold more splats than one field draws" % tiles.size()
		_spare = null
		parent.add_child(_next_field)
	if _next_field != null:
		if not _next_field.built:
			if not _next_field.build_step(deadline_usec):
				return problem
			last_build_usec = _next_field.build_usec
			_next_field.start_sort(camera)
			_mark_sorted(camera)
			if Time.get_ticks_usec() > deadline_usec:
				return problem
		if _next_field.sort_step(deadline_usec):
			if _field != null:
				_spare = _field.multimesh  # its instances serve the next field
				_field.queue_free()
			_field = _next_field
			_next_field = null
		return problem
	if _field == null:
		return problem
	if not _field.sorting() and _view_changed(camera):
		_field.start_sort(camera)
		_mark_sorted(camera)
	if _field.sorting():
		_field.sort_step(deadline_usec)
	return problem


## True while the drawn splat tiles are not yet all on screen in an order for [param camera].
func pending(camera: Camera3D) -> bool:
	if not splats:
		return false
	if _field_dirty or _next_field != null or (_field != null and _field.sorting()):
		return true
	return _field != null and camera != null and _view_changed(camera)


## Script time of the last finished sort, microseconds.
func last_sort_usec() -> int:
	return _field.last_sort_usec if _field != null else 0


## Splats in front of the camera at the last finished sort (those drawn).
func splats_in_view() -> int:
	return _field.drawn if _field != null else 0


## Frees the fields.
func clear() -> void:
	for field: SplatField in [_field, _next_field]:
		if field != null:
			field.queue_free()
	_field = null
	_next_field = null
	_spare = null
	drawn = {}


func _view_changed(camera: Camera3D) -> bool:
	if _sorted_from.distance_to(camera.global_position) > resort_distance_m:
		return true
	return _sorted_facing.dot(ViewerPose.forward_of(camera)) < cos(deg_to_rad(resort_angle_deg))


func _mark_sorted(camera: Camera3D) -> void:
	_sorted_from = camera.global_position
	_sorted_facing = ViewerPose.forward_of(camera)
