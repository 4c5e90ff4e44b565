// The WebSocket stream's wire format as the browser sees it (bridge/api/ws_wire.py is the spec):
// JSON text frames for control, binary frames holding one tile after a 60-byte "WBT1" header.

export const HEADER_BYTES = 60;
const MAGIC = 'WBT1';
// TileFormat enum values (proto/worldbridge/v1/types.proto).
export const FORMAT_NAMES = { 1: 'ply', 2: 'spz', 3: 'glb', 4: 'stream', 5: 'gltf-splats' };

export function keyId(key) {
    return `${key.lod}/${key.ix}/${key.iz}`;
}

/** One binary frame -> { key, format, splatCount, data }; throws Error when it is not a WBT1 tile. */
export function parseTileFrame(buffer) {
    if (buffer.byteLength < HEADER_BYTES) throw new Error(`tile frame of ${buffer.byteLength} bytes is shorter than its header`);
    const view = new DataView(buffer);
    const magic = String.fromCharCode(view.getUint8(0), view.getUint8(1), view.getUint8(2), view.getUint8(3));
    if (magic !== MAGIC) throw new Error(`tile frame magic ${JSON.stringify(magic)} is not ${MAGIC}`);
    const key = {
        lod: view.getUint8(4),
        ix: Number(view.getBigInt64(8, true)),
        iz: Number(view.getBigInt64(16, true)),
    };
    return {
        key,
        format: FORMAT_NAMES[view.getUint8(5)] ?? `format ${view.getUint8(5)}`,
        splatCount: view.getUint32(24, true),
        data: new Uint8Array(buffer, HEADER_BYTES),
    };
}

const vec = (v) => ({ x: v[0], y: v[1], z: v[2] });

/** A ViewerUpdate as proto3 JSON (proto field names). `pose` fields are plain arrays. */
export function viewerUpdate({ sequence, worldId, token, pose, radius, budget, acks }) {
    const update = { sequence };
    if (worldId) update.world_id = worldId;
    if (token) update.token = token;
    if (pose) {
        update.pose = {
            position: vec(pose.position),
            forward: vec(pose.forward),
            velocity: vec(pose.velocity),
            vertical_fov_deg: pose.verticalFovDeg,
            viewport_height_px: Math.max(1, Math.round(pose.viewportHeight)),
        };
    }
    if (radius) update.view_radius_m = radius;
    if (budget) update.budget = budget;
    if (acks && acks.length) update.acks = acks;
    return JSON.stringify(update);
}
