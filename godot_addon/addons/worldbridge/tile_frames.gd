## Joins the WebSocket's binary tile frames ("WBT2", docs/protocol.md) into whole tiles.
##
## Every binary message is one piece of one tile: an 80-byte little-endian header, then the piece.
## A tile's frames come one after another, in order. [method add] returns the finished [Tile]
## once its last frame is in and its SHA-256 matches, null while a tile is still arriving; a frame
## that breaks the rules sets [member error] and drops the tile being joined.
extends RefCounted

const MAGIC := "WBT2"
const HEADER_SIZE := 80
const FIRST := 1
const LAST := 2
## The largest tile accepted: bounds what a hostile header can make the client hold.
const MAX_TILE_BYTES := 256 * 1024 * 1024
## The wire's TileFormat enum (proto/worldbridge/v1/types.proto).
const FORMAT_NAMES := {
	1: "ply", 2: "spz", 3: "glb", 4: "stream", 5: "gltf-splats", 6: "splat-textures"
}


## One whole tile as it came: [member key] is (lod, ix, iz).
class Tile:
	extends RefCounted

	var key := Vector3i.ZERO
	var format := ""
	var splat_count := 0
	var sha256 := ""  ## hex, names the tile at GET /v1/blobs/{sha256}
	var data := PackedByteArray()


## Why the last frame was refused; empty when it was accepted.
var error := ""
var _joining: Tile
var _total := 0


## Adds one binary message; the finished tile when this was its last frame, else null.
func add(frame: PackedByteArray) -> Tile:
	error = _check(frame)
	if not error.is_empty():
		_joining = null
		return null
	_joining.data.append_array(frame.slice(HEADER_SIZE))
	if not frame.decode_u8(6) & LAST:
		return null
	var tile := _joining
	_joining = null
	if tile.data.size() != _total:
		return _refuse("the tile ended at %d of its %d bytes" % [tile.data.size(), _total])
	if sha256_hex(tile.data) != tile.sha256:
		return _refuse("tile %s: the SHA-256 does not match (damaged in transit)" % tile.key)
	return tile


## Why [param frame] cannot continue (or start) a tile, or ""; a first frame starts one.
func _check(frame: PackedByteArray) -> String:
	if frame.size() < HEADER_SIZE or frame.slice(0, 4).get_string_from_ascii() != MAGIC:
		return "tile frames: a binary message that is not a WBT2 frame (%d bytes)" % frame.size()
	var offset := frame.decode_u64(32)
	var total := frame.decode_u64(40)
	if frame.decode_u8(6) & FIRST:
		if total < 0 or total > MAX_TILE_BYTES:
			return (
				"tile frames: a tile of %d bytes is over the limit of %d" % [total, MAX_TILE_BYTES]
			)
		_joining = Tile.new()
		_joining.key = Vector3i(frame.decode_u8(4), frame.decode_s64(8), frame.decode_s64(16))
		var code := frame.decode_u8(5)
		_joining.format = FORMAT_NAMES.get(code, "format %d" % code)
		_joining.splat_count = frame.decode_u32(24)
		_joining.sha256 = frame.slice(48, HEADER_SIZE).hex_encode()
		_total = total
	if _joining == null:
		return "tile frames: a frame without a first frame before it"
	var piece_size := frame.size() - HEADER_SIZE
	if offset != _joining.data.size() or offset + piece_size > _total or total != _total:
		return "tile frames: a frame at offset %d does not continue the tile" % offset
	return ""


## Forgets a half-joined tile (after a reconnect its frames start again).
func reset() -> void:
	_joining = null
	error = ""


func _refuse(reason: String) -> Tile:
	_joining = null
	error = "tile frames: " + reason
	return null


static func sha256_hex(data: PackedByteArray) -> String:
	var hashing := HashingContext.new()
	hashing.start(HashingContext.HASH_SHA256)
	if not data.is_empty():  # update() refuses an empty array
		hashing.update(data)
	return hashing.finish().hex_encode()
