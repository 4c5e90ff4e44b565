## The tiles the streamer holds: arrived tiles wait in a queue and are built a few a frame (a
## splat tile decoded into its textures, a GLB tile into a node under [member parent]); built
## tiles are acknowledged, and dropped on an unload. A held tile a directive changed is stale
## until its new content is built over it (dropped for good if unloaded first). It decides
## nothing about drawing.
extends RefCounted

const SplatTextures := preload("res://addons/worldbridge/splat_textures.gd")
const TileFrames := preload("res://addons/worldbridge/tile_frames.gd")
const MeshTile := preload("res://addons/worldbridge/mesh_tile.gd")


## A built tile.
class Held:
	extends RefCounted
	var format := ""
	var sha256 := ""
	var splat_count := 0
	var node: Node3D  # a mesh tile's node (hidden until the hand-over rule draws it); else null
	var splats: SplatTextures.Tile  # a splat tile's decoded textures; null for an empty tile


## Where mesh tiles' nodes go.
var parent: Node3D
## Held tiles: Vector3i key -> Held.
var held := {}
## Keys built since the last update went out: the next update acknowledges them.
var acks: Array[Dictionary] = []
## True once the held set has changed since [method take_changed] was last called.
var changed := false
## Held keys the server said changed whose new content is not built yet (key -> true): the old
## content stays drawn until then.
var stale := {}
var built := 0
var dropped := 0
## Stale tiles whose new content replaced the old.
var replaced := 0

var _waiting: Array[TileFrames.Tile] = []  # joined, not built yet


func _init(owner: Node3D) -> void:
	parent = owner


## Queues an arrived tile for [method build_some].
func add(tile: TileFrames.Tile) -> void:
	_waiting.append(tile)


## Tiles waiting to be built.
func waiting() -> int:
	return _waiting.size()


## Forgets the tiles waiting (never acknowledged: a new stream sends them again) and the acks
## not sent (the new stream's first update lists what is held instead).
func forget_unsent() -> void:
	_waiting.clear()
	acks.clear()


## Builds waiting tiles until [param deadline_usec] (at least one). [param loaded] is called with
## (key, format, splat_count) for each built tile, [param failed] with a message for each refused.
func build_some(deadline_usec: int, loaded: Callable, failed: Callable) -> void:
	while not _waiting.is_empty():
		var tile: TileFrames.Tile = _waiting.pop_front()
		var why := _build(tile)
		if why.is_empty():
			loaded.call(tile.key, tile.format, tile.splat_count)
		else:
			failed.call("tile %s: %s" % [tile.key, why])
		if Time.get_ticks_usec() > deadline_usec:
			return


## Marks held [param key] stale (a directive changed it); false when it is not held (the change
## crossed its unload), and then there is nothing to replace.
func mark_stale(key: Vector3i) -> bool:
	if not held.has(key):
		return false
	stale[key] = true
	return true


## Drops [param key] (and a copy of it still waiting); true if it was held.
func drop(key: Vector3i) -> bool:
	stale.erase(key)
	for i in range(_waiting.size() - 1, -1, -1):
		if _waiting[i].key == key:
			_waiting.remove_at(i)
	if not held.has(key):
		return false
	var tile: Held = held[key]
	held.erase(key)
	if tile.node != null:
		tile.node.queue_free()
	changed = true
	dropped += 1
	return true


## Drops every tile.
func clear() -> void:
	for key: Vector3i in held.keys():
		drop(key)
	_waiting.clear()


## The held tiles as an update's "held" list (what a resumed stream does not send again).
func held_json() -> Array[Dictionary]:
	var out: Array[Dictionary] = []
	for key: Vector3i in held:
		var tile: Held = held[key]
		out.append(
			{
				"key": {"lod": key.x, "ix": key.y, "iz": key.z},
				"format": tile.format,
				"content_sha256": tile.sha256
			}
		)
	return out


## True once, after the held set changed.
func take_changed() -> bool:
	var was := changed
	changed = false
	return was


## Builds [param tile] into the held set; the reason when it cannot.
func _build(tile: TileFrames.Tile) -> String:
	var node: Node3D = null
	var splats: SplatTextures.Tile = null
	if tile.format == "splat-textures":
		var decoded: SplatTextures.Tile = SplatTextures.decode(tile.data)
		if not decoded.error.is_empty():
			return decoded.error
		if decoded.count > 0:
			splats = decoded
	elif tile.format == "glb":
		var why: Array = []
		node = MeshTile.build(tile.data, why)
		if node == null:
			return why[0]
	else:
		return "came as %s, which this addon does not draw" % tile.format
	if held.has(tile.key):  # a new version of a held tile replaces it (announced as changed, or not)
		var old: Held = held[tile.key]
		if old.node != null:
			old.node.queue_free()
		if stale.erase(tile.key):
			replaced += 1
	var entry := Held.new()
	entry.format = tile.format
	entry.sha256 = tile.sha256
	entry.splat_count = tile.splat_count
	entry.node = node
	entry.splats = splats
	if node != null:
		node.name = "tile_%d_%d_%d" % [tile.key.x, tile.key.y, tile.key.z]
		node.visible = false  # the hand-over rule decides
		parent.add_child(node)
	held[tile.key] = entry
	acks.append({"lod": tile.key.x, "ix": tile.key.y, "iz": tile.key.z})
	changed = true
	built += 1
	return ""
