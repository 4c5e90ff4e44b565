// The LOD hand-over rule (bridge/stream/handover.py, docs/protocol.md): which of the tiles a
// viewer holds it draws. Draw a held tile unless (a) a held ancestor of it is drawn, or (b) its
// whole area is covered by held finer tiles (each of its four children held, or itself covered).
// A parent gives way to its children at once when the last of them arrives, and the drawn tiles
// never overlap: no doubled splats, no z-fighting meshes.

import { keyId } from './wire.js';

/** The children of a key, one LOD finer. */
function children(key) {
    const lod = key.lod - 1;
    const out = [];
    for (const dz of [0, 1]) for (const dx of [0, 1]) out.push({ lod, ix: 2 * key.ix + dx, iz: 2 * key.iz + dz });
    return out;
}

/** The ancestor of a key at a coarser `lod` (floor division, so negative indices find theirs). */
function ancestor(key, lod) {
    const shift = 2 ** (lod - key.lod);
    return { lod, ix: Math.floor(key.ix / shift), iz: Math.floor(key.iz / shift) };
}

/** keys: the held tiles' keys ({lod, ix, iz}). Returns the Set of keyId()s to draw. */
export function tilesToDraw(keys) {
    const held = new Map(keys.map((key) => [keyId(key), key]));
    const drawn = new Set();
    if (held.size === 0) return drawn;
    let lowest = Infinity;
    let top = -Infinity;
    for (const key of held.values()) {
        lowest = Math.min(lowest, key.lod);
        top = Math.max(top, key.lod);
    }
    const covered = new Map();
    const isCovered = (key) => {
        if (key.lod <= lowest) return false;
        const id = keyId(key);
        if (!covered.has(id)) covered.set(id, children(key).every((c) => held.has(keyId(c)) || isCovered(c)));
        return covered.get(id);
    };
    // Coarse to fine: a tile's ancestors are decided before it.
    const coarseFirst = [...held.values()].sort((a, b) => b.lod - a.lod);
    for (const key of coarseFirst) {
        if (isCovered(key)) continue;
        let under = false;
        for (let lod = key.lod + 1; lod <= top && !under; lod++) under = drawn.has(keyId(ancestor(key, lod)));
        if (!under) drawn.add(keyId(key));
    }
    return drawn;
}
