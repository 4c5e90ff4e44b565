## The LOD hand-over rule (docs/protocol.md; the reference is bridge/stream/handover.py): which
## of the held tiles to draw.
##
## Draw a held tile unless (a) a held ancestor of it is drawn, or (b) its whole area is covered
## by held finer tiles (each of its four children is held, or is itself covered). So a parent
## gives way to its children at once when the last of them arrives, and drawn tiles never overlap.
## Keys are Vector3i(lod, ix, iz); a parent is (lod + 1, ix >> 1, iz >> 1) (floor division).
extends RefCounted


## The keys of [param held] (a Dictionary whose keys are tile keys) to draw, as a Dictionary
## used as a set (key -> true).
static func tiles_to_draw(held: Dictionary) -> Dictionary:
	var drawn := {}
	if held.is_empty():
		return drawn
	var lowest := 1 << 30
	var top := -1
	for key: Vector3i in held:
		lowest = mini(lowest, key.x)
		top = maxi(top, key.x)
	var covered := {}
	var coarse_first: Array = held.keys()
	coarse_first.sort_custom(func(a: Vector3i, b: Vector3i) -> bool: return a.x > b.x)
	for key: Vector3i in coarse_first:
		if _is_covered(key, held, lowest, covered):
			continue
		var ancestor_drawn := false
		var up := key
		while up.x < top and not ancestor_drawn:
			up = parent(up)
			ancestor_drawn = drawn.has(up)
		if not ancestor_drawn:
			drawn[key] = true
	return drawn


static func parent(key: Vector3i) -> Vector3i:
	return Vector3i(key.x + 1, key.y >> 1, key.z >> 1)  # >> floors negative indices too


static func children(key: Vector3i) -> Array[Vector3i]:
	var lod := key.x - 1
	var x := key.y * 2
	var z := key.z * 2
	return [
		Vector3i(lod, x, z),
		Vector3i(lod, x + 1, z),
		Vector3i(lod, x, z + 1),
		Vector3i(lod, x + 1, z + 1)
	]


## Is the whole area of [param key] held at finer LODs (itself not counted)?
## Memoised in [param memo].
static func _is_covered(key: Vector3i, held: Dictionary, lowest: int, memo: Dictionary) -> bool:
	if key.x <= lowest:
		return false
	if memo.has(key):
		return memo[key]
	var all_in := true
	for child in children(key):
		if not (held.has(child) or _is_covered(child, held, lowest, memo)):
			all_in = false
			break
	memo[key] = all_in
	return all_in
