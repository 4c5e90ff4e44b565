## Decoder of WorldBridge's GPU-ready tile format ("splat-textures", magic "WBTX", version 1).
##
## The byte layout is documented beside the Python encoder, bridge/formats/splat_textures.py:
## a 96-byte header, then one zstd frame holding four texture images of [member Tile.width] x
## [member Tile.rows] texels (texel i is splat i; the last row is padded with zero texels):
## positions relative to [member Tile.origin] (RGBA32F), rotations as quaternions x, y, z, w
## (RGBA16F), scales as linear standard deviations in metres (RGBA16F), sRGB colour with linear
## opacity (RGBA8). A tile decodes with one [method PackedByteArray.decompress] and one
## [method Image.create_from_data] per texture: no loop over the splats in script.
##
## The header's SHA-256 is checked before anything is inflated: Godot's decompress does not
## survive a damaged zstd frame (it aborts the engine or returns garbage of the asked size).
## Texel values are not checked (that would be a loop over the splats): they go to the GPU as sent.
##
## Frame: glTF's, which is Godot's: Y up, metres, -Z forward. The origin is kept in doubles
## (GDScript floats); place the tile's node at the origin minus the player's floating origin, so
## a single-precision engine keeps millimetres far from the world's origin.
##
## Use: [code]var tile := SplatTextures.decode(bytes)[/code] (with
## [code]const SplatTextures := preload("res://addons/worldbridge/splat_textures.gd")[/code]),
## then check [code]tile.error.is_empty()[/code].
extends RefCounted

const MAGIC := "WBTX"
const VERSION := 1
const HEADER_SIZE := 96
const HASHED_HEADER := 64
const BYTES_PER_TEXEL_POSITION := 16
const BYTES_PER_TEXEL_HALF4 := 8
const BYTES_PER_TEXEL_COLOUR := 4
const BYTES_PER_SPLAT := 36
## The decoder refuses more: it bounds what a hostile header can make it allocate.
const MAX_SPLATS := 1 << 21
const MAX_WIDTH := 16384


## One decoded tile: four images ready for [method ImageTexture.create_from_image], and the
## header's fields. [member error] is empty when the tile decoded; otherwise it says why not and
## the images are null.
class Tile:
	extends RefCounted

	var error := ""
	var count := 0
	var width := 0
	var rows := 0
	## World position of the tile's local origin, metres (double precision).
	var origin_x := 0.0
	var origin_y := 0.0
	var origin_z := 0.0
	var positions: Image  ## FORMAT_RGBAF: x, y, z relative to the origin; a = 0
	var rotations: Image  ## FORMAT_RGBAH: quaternion x, y, z, w
	var scales: Image  ## FORMAT_RGBAH: standard deviation along local x, y, z, metres; a = 0
	var colors: Image  ## FORMAT_RGBA8: sRGB colour, linear opacity

	func _init(reason: String = "") -> void:
		error = reason


static func _failed(reason: String) -> Tile:
	return Tile.new("splat-textures: " + reason)


## SHA-256 of the header's first 64 bytes and the body, as the header carries it.
static func _digest(data: PackedByteArray) -> PackedByteArray:
	var hashing := HashingContext.new()
	hashing.start(HashingContext.HASH_SHA256)
	hashing.update(data.slice(0, HASHED_HEADER))
	if data.size() > HEADER_SIZE:  # update() refuses an empty array
		hashing.update(data.slice(HEADER_SIZE))
	return hashing.finish()


static func _is_power_of_two(value: int) -> bool:
	return value > 0 and (value & (value - 1)) == 0


## Decodes one tile. Never raises: a malformed, truncated or hostile input gives a [Tile] whose
## [member Tile.error] says why.
static func decode(data: PackedByteArray) -> Tile:
	if data.size() < HEADER_SIZE:
		return _failed("%d bytes, shorter than the header" % data.size())
	if data.slice(0, 4).get_string_from_ascii() != MAGIC:
		return _failed("not a splat-textures tile (wrong magic)")
	var version := data.decode_u16(4)
	if version != VERSION:
		return _failed("version %d is not supported" % version)
	if data.decode_u16(6) != 0:
		return _failed("flags set bits this version does not know")
	var count := data.decode_u32(8)
	var width := data.decode_u32(12)
	var rows := data.decode_u32(16)
	var body_size := data.decode_u32(20)
	var compressed := data.decode_u32(24)
	if body_size > BYTES_PER_SPLAT * MAX_SPLATS:
		return _failed(
			"body of %d bytes is over the limit: refused as a decompression bomb" % body_size
		)
	if count > MAX_SPLATS:
		return _failed("%d splats are more than the limit of %d" % [count, MAX_SPLATS])
	if width > MAX_WIDTH or not _is_power_of_two(width):
		return _failed("texture width %d is not a power of two up to %d" % [width, MAX_WIDTH])
	if rows != ceili(float(count) / width):
		return _failed("%d rows disagree with %d splats" % [rows, count])
	if body_size != BYTES_PER_SPLAT * width * rows:
		return _failed("body size %d disagrees with the textures' size" % body_size)
	if compressed != data.size() - HEADER_SIZE:
		return _failed("compressed length %d disagrees with the bytes present" % compressed)
	if _digest(data) != data.slice(HASHED_HEADER, HEADER_SIZE):
		return _failed("checksum mismatch: the tile is damaged (SHA-256 of header and body)")
	var tile := Tile.new()
	tile.count = count
	tile.width = width
	tile.rows = rows
	tile.origin_x = data.decode_double(32)
	tile.origin_y = data.decode_double(40)
	tile.origin_z = data.decode_double(48)
	if not (is_finite(tile.origin_x) and is_finite(tile.origin_y) and is_finite(tile.origin_z)):
		return _failed("the origin is not finite")
	if count == 0:
		return tile  # an empty tile: no body to inflate, no images
	var body := data.slice(HEADER_SIZE).decompress(body_size, FileAccess.COMPRESSION_ZSTD)
	if body.size() != body_size:
		return _failed("the body inflates to %d bytes, not %d" % [body.size(), body_size])
	var texels := width * rows
	var at := 0
	var layout := [
		[Image.FORMAT_RGBAF, BYTES_PER_TEXEL_POSITION],
		[Image.FORMAT_RGBAH, BYTES_PER_TEXEL_HALF4],
		[Image.FORMAT_RGBAH, BYTES_PER_TEXEL_HALF4],
		[Image.FORMAT_RGBA8, BYTES_PER_TEXEL_COLOUR],
	]
	var images: Array[Image] = []
	for texture: Array in layout:  # four textures, not a loop over splats
		var size: int = texture[1] * texels
		images.append(
			Image.create_from_data(width, rows, false, texture[0], body.slice(at, at + size))
		)
		at += size
	tile.positions = images[0]
	tile.rotations = images[1]
	tile.scales = images[2]
	tile.colors = images[3]
	return tile
