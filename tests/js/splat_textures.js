// Decoder for WorldBridge's GPU-ready tile format ("splat-textures", magic "WBTX", version 1).
//
// The byte layout is documented beside the Python encoder, bridge/formats/splat_textures.py.
// `readTextures` gives the four texture images as typed arrays ready for texImage2D (RGBA32F,
// RGBA16F as raw half floats, RGBA16F, RGBA8); `decodeSplatTextures` widens them to per-splat
// float32 arrays in world coordinates, rounding exactly as the Python decoder does (float64 sum,
// one rounding to float32), so both give the same bits (tests/vectors/ checks it).
// Frame: glTF's world frame (x right, y up, z back; metres).
//
// Plain ES module. Its one dependency is a zstd decompressor: npm `fzstd`, imported below, or any
// function (compressed: Uint8Array, out: Uint8Array) => Uint8Array passed as `options.decompress`.
// The header's SHA-256 (of header bytes 0..63 and the body) is checked when `options.sha256`, a
// synchronous (bytes: Uint8Array) => Uint8Array digest, is given (Node: crypto's createHash);
// a browser has no synchronous SHA-256, and fzstd is memory-safe on a damaged frame, so without
// one a damaged tile gives an error or wrong values, never a crash.

import { decompress as fzstdDecompress } from 'fzstd';

export const MAGIC = 'WBTX';
export const VERSION = 1;
export const HEADER_SIZE = 96;
export const HASHED_HEADER = 64;
export const BYTES_PER_SPLAT = 36;
export const MAX_SPLATS = 1 << 21;
export const MAX_WIDTH = 16384;
const ZSTD_MAGIC = 0xfd2fb528;

export class SplatTexturesError extends Error {
    constructor(message) {
        super(message);
        this.name = 'SplatTexturesError';
    }
}

function fail(message) {
    throw new SplatTexturesError(message);
}

/** The header's fields, checked (no decompression). */
export function readHeader(bytes, { maxSplats = MAX_SPLATS } = {}) {
    if (bytes.length < HEADER_SIZE) fail(`splat-textures data has ${bytes.length} bytes, shorter than the header`);
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const magic = String.fromCharCode(...bytes.subarray(0, 4));
    if (magic !== MAGIC) fail(`not a splat-textures tile: magic ${JSON.stringify(magic)}`);
    const version = view.getUint16(4, true);
    if (version !== VERSION) fail(`splat-textures version ${version} is not supported`);
    if (view.getUint16(6, true) !== 0) fail('splat-textures flags set bits this version does not know');
    const reserved = [...bytes.subarray(28, 32), ...bytes.subarray(56, 64)];
    if (reserved.some((b) => b !== 0)) fail('splat-textures reserved header bytes are not zero');
    const [count, width, rows, bodySize, compressedLength] = [8, 12, 16, 20, 24].map((o) => view.getUint32(o, true));
    if (bodySize > BYTES_PER_SPLAT * maxSplats) fail(`body of ${bodySize} bytes is over the limit: a decompression bomb`);
    if (count > maxSplats) fail(`tile claims ${count} splats, more than the limit of ${maxSplats}`);
    if (width < 1 || width > MAX_WIDTH || (width & (width - 1)) !== 0) fail(`texture width ${width} is not a power of two`);
    if (rows !== Math.ceil(count / width)) fail(`${rows} rows disagree with ${count} splats`);
    if (bodySize !== BYTES_PER_SPLAT * width * rows) fail(`body size ${bodySize} disagrees with the texture size`);
    if (compressedLength !== bytes.length - HEADER_SIZE) fail('compressed length disagrees with the bytes present');
    const origin = [32, 40, 48].map((o) => view.getFloat64(o, true));
    if (!origin.every(Number.isFinite)) fail('splat-textures origin is not finite');
    return { version, count, width, rows, bodySize, compressedLength, origin };
}

/** The content size a zstd frame header declares, or -1 when it declares none. */
function frameContentSize(frame) {
    if (frame.length < 6) fail('splat-textures body is not a zstd frame');
    const magic = new DataView(frame.buffer, frame.byteOffset, 4).getUint32(0, true);
    if (magic !== ZSTD_MAGIC) fail('splat-textures body is not a zstd frame');
    const descriptor = frame[4];
    const singleSegment = (descriptor >> 5) & 1;
    const sizeFlag = descriptor >> 6;
    const dictBytes = [0, 1, 2, 4][descriptor & 3];
    const sizeBytes = sizeFlag ? 1 << sizeFlag : singleSegment;
    if (!sizeBytes) return -1;
    const at = 5 + (singleSegment ? 0 : 1) + dictBytes;
    if (frame.length < at + sizeBytes) fail('splat-textures body is not a zstd frame');
    let size = 0;
    for (let i = sizeBytes - 1; i >= 0; i--) size = size * 256 + frame[at + i];
    return sizeFlag === 1 ? size + 256 : size;
}

/** The header and the four texture images (views into one decompressed body). */
export function readTextures(bytes, options = {}) {
    const header = readHeader(bytes, options);
    const frame = bytes.subarray(HEADER_SIZE);
    if (options.sha256) {
        const hashed = new Uint8Array(HASHED_HEADER + frame.length);
        hashed.set(bytes.subarray(0, HASHED_HEADER));
        hashed.set(frame, HASHED_HEADER);
        const digest = options.sha256(hashed);
        if (digest.some((b, i) => b !== bytes[HASHED_HEADER + i])) fail('splat-textures checksum mismatch: the tile is damaged');
    }
    const declared = frameContentSize(frame);
    if (declared !== header.bodySize) fail(`zstd frame declares ${declared} bytes, the header ${header.bodySize}`);
    const decompress = options.decompress ?? fzstdDecompress;
    let body;
    try {
        body = decompress(frame, new Uint8Array(header.bodySize));
    } catch (error) {
        fail(`splat-textures body is corrupt: ${error.message}`);
    }
    if (body.length !== header.bodySize) fail(`body inflates to ${body.length} bytes, expected ${header.bodySize}`);
    const texels = header.width * header.rows;
    const buffer = body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength); // aligned for the views
    return {
        header,
        positions: new Float32Array(buffer, 0, texels * 4),
        rotations: new Uint16Array(buffer, 16 * texels, texels * 4),
        scales: new Uint16Array(buffer, 24 * texels, texels * 4),
        colors: new Uint8Array(buffer, 32 * texels, texels * 4),
    };
}

/** An IEEE-754 half float (as its 16 bits) widened to a number (exact). */
export function halfToFloat(bits) {
    const sign = bits & 0x8000 ? -1 : 1;
    const exponent = (bits >> 10) & 0x1f;
    const fraction = bits & 0x3ff;
    if (exponent === 0) return sign * fraction * 2 ** -24;
    if (exponent === 31) return fraction ? NaN : sign * Infinity;
    return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

/** Per-splat float32 arrays in world coordinates: positions, scales, rotations (w x y z),
 * opacities, colours (sRGB), as the Python decoder gives them. */
export function decodeSplatTextures(bytes, options = {}) {
    const { header, positions: rel, rotations: rot, scales: scl, colors: rgba } = readTextures(bytes, options);
    const n = header.count;
    const out = {
        count: n,
        origin: header.origin,
        positions: new Float32Array(n * 3),
        scales: new Float32Array(n * 3),
        rotations: new Float32Array(n * 4),
        opacities: new Float32Array(n),
        colors: new Float32Array(n * 3),
    };
    for (let i = 0; i < n; i++) {
        for (let k = 0; k < 3; k++) {
            const p = rel[4 * i + k];
            const s = halfToFloat(scl[4 * i + k]);
            if (!Number.isFinite(p) || !Number.isFinite(s)) fail('splat-textures texels hold non-finite numbers');
            if (s < 0 || Object.is(s, -0)) fail('splat-textures scales are negative');
            out.positions[3 * i + k] = header.origin[k] + p;
            if (!Number.isFinite(out.positions[3 * i + k])) fail("positions reach beyond float32's range");
            out.scales[3 * i + k] = s;
            out.colors[3 * i + k] = rgba[4 * i + k] / 255;
        }
        for (let k = 0; k < 4; k++) {
            const q = halfToFloat(rot[4 * i + k]);
            if (!Number.isFinite(q)) fail('splat-textures texels hold non-finite numbers');
            out.rotations[4 * i + ((k + 1) % 4)] = q; // x y z w -> w x y z
        }
        out.opacities[i] = rgba[4 * i + 3] / 255;
    }
    return out;
}
