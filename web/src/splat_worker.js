// The splat worker: decodes "stream" tiles (web/src/tilecodec.js), packs them for the GPU, and
// depth-sorts every resident splat for the camera, so the page's main thread never stalls on either.
//
// Messages in:  {type: 'decode', id, bytes}            -> {type: 'decoded', id, count, packed} | {type: 'decodeError', id, message}
//               {type: 'place', id, key, rows, rowShift} the GPU rows the page gave a decoded tile
//               {type: 'remove', id}
//               {type: 'sort', seq, view}               -> {type: 'sorted', seq, version, order}
// `version` counts place/remove messages, so the page knows which placements a sort has seen.

import { decodeTile } from './tilecodec.js';
import { packSplats } from './splat_pack.js';
import { DepthSorter } from './depth_sort.js';
import { tilesToDraw } from './handover.js';
import { keyId } from './wire.js';

const tiles = new Map(); // id -> { centres, radii, count, rows, rowShift, slotOf }
let version = 0;
const sorter = new DepthSorter();

function byKey(a, b) {
    return a.key.lod - b.key.lod || a.key.ix - b.key.ix || a.key.iz - b.key.iz;
}

function handle(msg) {
    switch (msg.type) {
        case 'decode': {
            let decoded;
            try {
                decoded = decodeTile(new Uint8Array(msg.bytes));
            } catch (error) {
                postMessage({ type: 'decodeError', id: msg.id, message: String(error.message || error) });
                return;
            }
            const { packed, centres, radii } = packSplats(decoded);
            tiles.set(msg.id, { centres, radii, count: decoded.count, rows: null });
            postMessage({ type: 'decoded', id: msg.id, count: decoded.count, packed }, [packed.buffer]);
            return;
        }
        case 'place': {
            const tile = tiles.get(msg.id);
            if (!tile) return;
            const rows = msg.rows;
            const shift = msg.rowShift;
            const mask = (1 << shift) - 1;
            tile.rows = rows;
            tile.key = msg.key;
            tile.slotOf = (j) => ((rows[j >>> shift] << shift) | (j & mask)) >>> 0;
            version++;
            return;
        }
        case 'remove':
            if (tiles.delete(msg.id)) version++;
            else version++; // a tile removed before it was decoded still counts as seen
            return;
        case 'sort': {
            // The tiles the hand-over rule draws, in the order the server's renderer concatenates
            // them: by key (lod, ix, iz).
            const held = [...tiles.values()].filter((t) => t.rows);
            const drawn = tilesToDraw(held.map((t) => t.key));
            const placed = held.filter((t) => drawn.has(keyId(t.key))).sort(byKey);
            const total = placed.reduce((sum, t) => sum + t.count, 0);
            const order = sorter.sort(placed, msg.view, total);
            postMessage({ type: 'sorted', seq: msg.seq, version, order, considered: total }, [order.buffer]);
            return;
        }
        default:
            postMessage({ type: 'error', message: `unknown worker message ${msg.type}` });
    }
}

self.onmessage = (event) => handle(event.data);
