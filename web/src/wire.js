// The WebSocket stream's wire format as the browser sees it (bridge/wire/websocket.py and
// docs/protocol.md are the spec; proto/worldbridge/v1/stream.schema.json the JSON messages):
// JSON text frames for control, binary frames each holding a piece of a tile after an 80-byte
// "WBT2" header. A tile's frames arrive in order, one tile at a time.

export const HEADER_BYTES = 80;
const MAGIC = 'WBT2';
const FIRST = 1;
const LAST = 2;
// TileFormat enum values (proto/worldbridge/v1/types.proto).
export const FORMAT_NAMES = { 1: 'ply', 2: 'spz', 3: 'glb', 4: 'stream', 5: 'gltf-splats' };

export function keyId(key) {
    return `${key.lod}/${key.ix}/${key.iz}`;
}

function hex(bytes) {
    return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

/** One binary frame -> its header fields and piece; throws Error when it is not a WBT2 frame. */
export function parseTileFrame(buffer) {
    if (buffer.byteLength < HEADER_BYTES) throw new Error(`tile frame of ${buffer.byteLength} bytes is shorter than its header`);
    const view = new DataView(buffer);
    const magic = String.fromCharCode(view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
    if (magic !== MAGIC) throw new Error(`tile frame magic ${JSON.stringify(magic)} is not ${MAGIC}`);
    const flags = view.getUint8(6);
    return {
        key: { lod: view.getUint8(4), ix: Number(view.getBigInt64(8, true)), iz: Number(view.getBigInt64(16, true)) },
        format: FORMAT_NAMES[view.getUint8(5)] ?? `format ${view.getUint8(5)}`,
        first: (flags & FIRST) !== 0,
        last: (flags & LAST) !== 0,
        splatCount: view.getUint32(24, true),
        offset: Number(view.getBigUint64(32, true)),
        totalBytes: Number(view.getBigUint64(40, true)),
        sha256: hex(new Uint8Array(buffer, 48, 32)),
        data: new Uint8Array(buffer, HEADER_BYTES),
    };
}

/** Joins a tile's frames: add() returns the whole tile ({ key, format, sha256, splatCount, data }) at its last frame. */
export class FrameAssembler {
    constructor() {
        this.tile = null;
        this.filled = 0;
    }

    add(frame) {
        if (frame.first) {
            this.tile = { ...frame, data: new Uint8Array(frame.totalBytes) };
            this.filled = 0;
        }
        if (!this.tile) throw new Error(`a frame of tile ${keyId(frame.key)} came without its first`);
        if (frame.offset !== this.filled || frame.offset + frame.data.length > this.tile.data.length) {
            throw new Error(`tile ${keyId(frame.key)}: piece at ${frame.offset}, expected ${this.filled}`);
        }
        this.tile.data.set(frame.data, frame.offset);
        this.filled += frame.data.length;
        if (!frame.last) return null;
        const tile = this.tile;
        this.tile = null;
        if (this.filled !== tile.data.length) throw new Error(`tile ${keyId(tile.key)} ended at ${this.filled} of ${tile.data.length} bytes`);
        return tile;
    }
}

const vec = (v) => ({ x: v[0], y: v[1], z: v[2] });

/** A ViewerUpdate as proto3 JSON (proto field names). `pose` fields are plain arrays. */
export function viewerUpdate({ sequence, worldId, token, pose, radius, budget, acks, resume, maxChunkBytes }) {
    const update = { sequence };
    if (worldId) update.world_id = worldId;
    if (token) update.token = token;
    if (maxChunkBytes) update.max_chunk_bytes = maxChunkBytes;
    if (resume?.sessionId) update.resume_session_id = resume.sessionId;
    if (resume?.held?.length) update.held = resume.held;
    if (pose) {
        update.pose = {
            position: vec(pose.position),
            forward: vec(pose.forward),
            velocity: vec(pose.velocity),
            vertical_fov_deg: pose.verticalFovDeg,
            viewport_height_px: Math.max(1, Math.round(pose.viewportHeight)),
            viewport_width_px: Math.max(1, Math.round(pose.viewportWidth)),
        };
    }
    if (radius) update.view_radius_m = radius;
    if (budget) update.budget = budget;
    if (acks && acks.length) update.acks = acks;
    return JSON.stringify(update);
}
