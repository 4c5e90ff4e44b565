// Decoder for WorldBridge's tile codec ("stream" format, magic "WBTC", version 1).
//
// The byte layout is documented beside the Python encoder, bridge/formats/tilecodec.py; this file
// follows it step for step. Every value is computed in float64 in the same order as the Python
// decoder and rounded once to float32, so both decoders give the same bits (tests/vectors/ checks
// it). Frame: glTF's world frame (x right, y up, z back; metres); quaternions are w, x, y, z.
//
// Plain ES module. Its one dependency is a zstd decompressor: npm `fzstd`, imported below, or any
// function (compressed: Uint8Array, out: Uint8Array) => Uint8Array passed as `options.decompress`.

import { decompress as fzstdDecompress } from 'fzstd';

export const MAGIC = [0x57, 0x42, 0x54, 0x43]; // "WBTC"
export const VERSION = 1;
export const HEADER_SIZE = 96;
export const BYTES_PER_SPLAT_RAW = 17;
export const DEFAULT_MAX_SPLATS = 1 << 22;
const KNOWN_FLAGS = 0x1;
const ZSTD_MAGIC = 0xfd2fb528;

export class TileCodecError extends Error {
    constructor(message) {
        super(message);
        this.name = 'TileCodecError';
    }
}

const CRC_TABLE = (() => {
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
        let c = n;
        for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
        table[n] = c >>> 0;
    }
    return table;
})();

/** CRC-32 (IEEE, as zlib's crc32), continuing from `crc`. */
export function crc32(bytes, crc = 0) {
    let c = ~crc >>> 0;
    for (let i = 0; i < bytes.length; i++) c = CRC_TABLE[(c ^ bytes[i]) & 0xff] ^ (c >>> 8);
    return ~c >>> 0;
}

/** The content size a zstd frame header declares, or -1 when it declares none. */
function zstdContentSize(bytes) {
    if (bytes.length < 5) throw new TileCodecError('tile payload is too short for a zstd frame');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (view.getUint32(0, true) !== ZSTD_MAGIC) throw new TileCodecError('tile payload is not a zstd frame');
    const fhd = bytes[4];
    const singleSegment = (fhd >> 5) & 1;
    const fcsFlag = fhd >> 6;
    const didSize = [0, 1, 2, 4][fhd & 3];
    const fcsSize = fcsFlag === 0 ? singleSegment : [1, 2, 4, 8][fcsFlag];
    const at = 5 + (singleSegment ? 0 : 1) + didSize;
    if (fcsSize === 0) return -1;
    if (bytes.length < at + fcsSize) throw new TileCodecError('tile payload zstd header is truncated');
    if (fcsSize === 1) return bytes[at];
    if (fcsSize === 2) return view.getUint16(at, true) + 256;
    if (fcsSize === 4) return view.getUint32(at, true);
    const high = view.getUint32(at + 4, true);
    return high === 0 ? view.getUint32(at, true) : Number.MAX_SAFE_INTEGER;
}

/** Parse and check the 96-byte header; throws TileCodecError when malformed. */
export function readHeader(bytes, { maxSplats = DEFAULT_MAX_SPLATS } = {}) {
    if (bytes.length < HEADER_SIZE) {
        throw new TileCodecError(`tile codec data has ${bytes.length} bytes, shorter than the ${HEADER_SIZE}-byte header`);
    }
    if (MAGIC.some((b, i) => bytes[i] !== b)) throw new TileCodecError('not a WorldBridge tile: bad magic');
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const version = bytes[4];
    const flags = bytes[5];
    const shDegree = bytes[6];
    const rotationLevels = bytes[7];
    const count = view.getUint32(8, true);
    const payloadLength = view.getUint32(12, true);
    if (version !== VERSION) throw new TileCodecError(`tile codec version ${version} is not supported`);
    if (flags & ~KNOWN_FLAGS) throw new TileCodecError(`tile codec flags ${flags} set unknown bits`);
    if (shDegree !== 0) throw new TileCodecError(`tile codec SH degree ${shDegree} is not supported`);
    if (rotationLevels < 1 || rotationLevels > 127) {
        throw new TileCodecError(`tile codec rotation levels ${rotationLevels} outside 1..127`);
    }
    if (count > maxSplats) throw new TileCodecError(`tile claims ${count} splats, more than the limit of ${maxSplats}`);
    if (payloadLength !== bytes.length - HEADER_SIZE) {
        throw new TileCodecError(`tile payload length ${payloadLength} disagrees with the bytes present`);
    }
    for (let i = 72; i < 92; i++) {
        if (bytes[i] !== 0) throw new TileCodecError('tile codec reserved header bytes are not zero');
    }
    const f = (offset) => view.getFloat32(offset, true);
    const vec = (offset) => [f(offset), f(offset + 4), f(offset + 8)];
    const header = {
        version, flags, count, payloadLength, rotationLevels,
        positionOrigin: vec(16), positionStep: vec(28),
        scaleOrigin: vec(40), scaleStep: vec(52),
        colorOrigin: f(64), colorStep: f(68),
    };
    const numbers = [...header.positionOrigin, ...header.positionStep, ...header.scaleOrigin,
        ...header.scaleStep, header.colorOrigin, header.colorStep];
    if (!numbers.every(Number.isFinite)) throw new TileCodecError('tile codec header holds a non-finite number');
    if ([...header.positionStep, ...header.scaleStep, header.colorStep].some((s) => s < 0)) {
        throw new TileCodecError('tile codec header holds a negative quantisation step');
    }
    return header;
}

/**
 * Decode one tile. Returns { header, count, positions, scales, rotations, opacities, colors }
 * as Float32Arrays (3N, 3N, 4N w-x-y-z, N, 3N). Throws TileCodecError on malformed input.
 */
export function decodeTile(input, { maxSplats = DEFAULT_MAX_SPLATS, decompress = fzstdDecompress } = {}) {
    const bytes = input instanceof Uint8Array ? input : new Uint8Array(input);
    const header = readHeader(bytes, { maxSplats });
    const stored = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(HEADER_SIZE - 4, true);
    const payload = bytes.subarray(HEADER_SIZE);
    const crc = crc32(payload, crc32(bytes.subarray(0, HEADER_SIZE - 4)));
    if (crc !== stored) throw new TileCodecError('tile checksum mismatch');
    const n = header.count;
    const expected = BYTES_PER_SPLAT_RAW * n;
    const declared = zstdContentSize(payload);
    if (declared !== expected) {
        throw new TileCodecError(`tile payload declares ${declared} bytes, ${n} splats need ${expected}`);
    }
    let raw;
    try {
        // A buffer of exactly the expected size: a frame cannot inflate past it (bomb-proof).
        raw = decompress(payload, new Uint8Array(expected));
    } catch (error) {
        throw new TileCodecError(`tile payload is corrupt: ${error.message}`);
    }
    if (!raw || raw.length !== expected) throw new TileCodecError('tile payload inflates to the wrong size');
    const plane = (k) => raw.subarray(k * n, (k + 1) * n);

    const positions = new Float32Array(3 * n);
    for (let axis = 0; axis < 3; axis++) {
        const lo = plane(2 * axis);
        const hi = plane(2 * axis + 1);
        const origin = header.positionOrigin[axis];
        const step = header.positionStep[axis];
        let q = 0;
        for (let i = 0; i < n; i++) {
            const z = lo[i] | (hi[i] << 8);
            q = (q + ((z >>> 1) ^ -(z & 1))) & 0xffff;
            positions[3 * i + axis] = origin + q * step;
        }
    }

    const colors = new Float32Array(3 * n);
    {
        const [d0, d1, d2] = [plane(6), plane(7), plane(8)];
        let g = 0;
        let rg = 0;
        let bg = 0;
        for (let i = 0; i < n; i++) {
            g = (g + d0[i]) & 0xff;
            rg = (rg + d1[i]) & 0xff;
            bg = (bg + d2[i]) & 0xff;
            colors[3 * i] = header.colorOrigin + ((rg + g) & 0xff) * header.colorStep;
            colors[3 * i + 1] = header.colorOrigin + g * header.colorStep;
            colors[3 * i + 2] = header.colorOrigin + ((bg + g) & 0xff) * header.colorStep;
        }
    }

    const opacities = new Float32Array(n);
    const alpha = plane(9);
    for (let i = 0; i < n; i++) opacities[i] = alpha[i] / 255;

    const scales = new Float32Array(3 * n);
    for (let axis = 0; axis < 3; axis++) {
        const q = plane(10 + axis);
        // 256 possible indices per axis: compute each power once.
        const table = new Float64Array(256);
        for (let k = 0; k < 256; k++) table[k] = 2 ** (header.scaleOrigin[axis] + k * header.scaleStep[axis]);
        for (let i = 0; i < n; i++) scales[3 * i + axis] = table[q[i]];
    }

    const rotations = new Float32Array(4 * n);
    {
        const largest = plane(13);
        const small = [plane(14), plane(15), plane(16)];
        const levels = header.rotationLevels;
        const q = new Float64Array(4);
        const c = new Float64Array(3);
        for (let i = 0; i < n; i++) {
            const big = largest[i];
            if (big > 3) throw new TileCodecError('tile rotation data names a quaternion component beyond the fourth');
            for (let k = 0; k < 3; k++) {
                const s = small[k][i] > 127 ? small[k][i] - 256 : small[k][i];
                if (Math.abs(s) > levels) throw new TileCodecError('tile rotation data exceeds its declared levels');
                c[k] = (s / levels) * Math.SQRT1_2;
            }
            const w = Math.sqrt(Math.max(0, 1 - (c[0] * c[0] + c[1] * c[1] + c[2] * c[2])));
            for (let j = 0, k = 0; j < 4; j++) q[j] = j === big ? w : c[k++];
            const norm = Math.sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
            for (let j = 0; j < 4; j++) rotations[4 * i + j] = q[j] / norm;
        }
    }
    // Finite header numbers can still reach past float32's range (rounded to Infinity above).
    for (const values of [positions, scales, colors]) {
        for (let i = 0; i < values.length; i++) {
            if (!Number.isFinite(values[i])) throw new TileCodecError("tile decodes to values beyond float32's range");
        }
    }
    return { header, count: n, positions, scales, rotations, opacities, colors };
}
