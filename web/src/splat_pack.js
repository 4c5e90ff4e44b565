// Packs decoded splats into the GPU layout the splat shader reads, and keeps what sorting needs.
//
// Three RGBA32UI texels per splat (48 bytes):
//   texel 0: position x, y, z (float32 bits), colour r|g (two float16)
//   texel 1: world covariance c00, c01, c02, c11 (float32 bits)
//   texel 2: c12, c22 (float32 bits), colour b|opacity (two float16), 0
// The covariance Σ = R S Sᵀ Rᵀ is computed here once, in float64, as bridge/render/rasterize.py
// does, so the vertex shader only projects it.

export const UINTS_PER_SPLAT = 12;

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float -> IEEE half bits, round to nearest even (colours and opacities: half is ample). */
export function toHalf(value) {
    f32[0] = value;
    const x = u32[0];
    const sign = (x >>> 16) & 0x8000;
    const exp = (x >>> 23) & 0xff;
    let mant = x & 0x7fffff;
    if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
    let e = exp - 127 + 15;
    if (e >= 0x1f) return sign | 0x7c00;
    if (e <= 0) {
        if (e < -10) return sign;
        mant |= 0x800000;
        const shift = 14 - e;
        let half = mant >>> shift;
        const rest = mant & ((1 << shift) - 1);
        const halfway = 1 << (shift - 1);
        if (rest > halfway || (rest === halfway && (half & 1))) half += 1;
        return sign | half;
    }
    let half = (e << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1))) half += 1;
    return sign | half;
}

/**
 * Decoded tile (tilecodec.js's output) -> { packed: Uint32Array(12N), centres: Float32Array(3N),
 * radii: Float32Array(N) }, radii being 3 sigma of the largest axis (for frustum culling).
 */
export function packSplats({ count, positions, scales, rotations, opacities, colors }) {
    const packed = new Uint32Array(UINTS_PER_SPLAT * count);
    const asFloat = new Float32Array(packed.buffer);
    const radii = new Float32Array(count);
    for (let i = 0; i < count; i++) {
        let w = rotations[4 * i];
        let x = rotations[4 * i + 1];
        let y = rotations[4 * i + 2];
        let z = rotations[4 * i + 3];
        const norm = Math.max(Math.hypot(w, x, y, z), 1e-30);
        w /= norm; x /= norm; y /= norm; z /= norm;
        // Rotation matrix (wxyz), rows as in rasterize.py's _quat_to_rotmat, times diag(scale).
        const sx = scales[3 * i];
        const sy = scales[3 * i + 1];
        const sz = scales[3 * i + 2];
        const m00 = (1 - 2 * (y * y + z * z)) * sx;
        const m01 = 2 * (x * y - w * z) * sy;
        const m02 = 2 * (x * z + w * y) * sz;
        const m10 = 2 * (x * y + w * z) * sx;
        const m11 = (1 - 2 * (x * x + z * z)) * sy;
        const m12 = 2 * (y * z - w * x) * sz;
        const m20 = 2 * (x * z - w * y) * sx;
        const m21 = 2 * (y * z + w * x) * sy;
        const m22 = (1 - 2 * (x * x + y * y)) * sz;
        const c00 = m00 * m00 + m01 * m01 + m02 * m02;
        const c01 = m00 * m10 + m01 * m11 + m02 * m12;
        const c02 = m00 * m20 + m01 * m21 + m02 * m22;
        const c11 = m10 * m10 + m11 * m11 + m12 * m12;
        const c12 = m10 * m20 + m11 * m21 + m12 * m22;
        const c22 = m20 * m20 + m21 * m21 + m22 * m22;
        const o = UINTS_PER_SPLAT * i;
        asFloat[o] = positions[3 * i];
        asFloat[o + 1] = positions[3 * i + 1];
        asFloat[o + 2] = positions[3 * i + 2];
        packed[o + 3] = (toHalf(colors[3 * i]) | (toHalf(colors[3 * i + 1]) << 16)) >>> 0;
        asFloat[o + 4] = c00;
        asFloat[o + 5] = c01;
        asFloat[o + 6] = c02;
        asFloat[o + 7] = c11;
        asFloat[o + 8] = c12;
        asFloat[o + 9] = c22;
        packed[o + 10] = (toHalf(colors[3 * i + 2]) | (toHalf(opacities[i]) << 16)) >>> 0;
        packed[o + 11] = 0;
        radii[i] = 3 * Math.sqrt(Math.max(sx * sx, sy * sy, sz * sz));
    }
    return { packed, centres: positions, radii };
}
