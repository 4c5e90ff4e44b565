// Decode every tile listed in DIR/manifest.json with the JavaScript splat-textures decoder
// (splat_textures.js, beside it) and check it two ways: byte for byte against the float32 values the
// Python decoder wrote (NAME.f32), and against the splats before encoding (NAME.source.f32)
// within the precision the format states, which needs no trust in the Python side. Then check that
// malformed variants of each tile are refused. Prints one JSON object; exit 1 on any failure.
// Use: node --import ./bare_imports.mjs check_splat_textures.mjs DIR
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSplatTextures, SplatTexturesError } from './splat_textures.js';
import { compareDecoded, refuser } from './vector_checks.mjs';

const dir = process.argv[2];
if (!dir) {
    console.error('usage: node --import ./bare_imports.mjs check_splat_textures.mjs DIR');
    process.exit(2);
}
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
const report = { vectors: 0, matched: 0, mismatches: [], within_precision: 0, imprecise: [], malformed: 0, refused: 0, wrongly_accepted: [] };

function floats(bytes) {
    return new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength));
}

/** Split a decoded-layout float32 array (positions, scales, rotations, opacities, colours). */
function fields(all, n) {
    const sizes = { positions: 3 * n, scales: 3 * n, rotations: 4 * n, opacities: n, colors: 3 * n };
    const out = {};
    let at = 0;
    for (const [name, size] of Object.entries(sizes)) {
        out[name] = all.subarray(at, at + size);
        at += size;
    }
    return out;
}

/** The gap between float32 values at magnitude |x| (its unit in the last place). */
function ulp32(x) {
    const a = Math.abs(Math.fround(x));
    if (a < 2 ** -126) return 2 ** -149;
    return 2 ** (Math.floor(Math.log2(a)) - 23);
}

/** Half a half-float step at |v|: relative 2**-11 for normal numbers, 2**-25 below them. */
function halfStep(v) {
    return Math.max(Math.abs(v) * 2 ** -11, 2 ** -25);
}

/** The first splat value outside the stated precision, or null. */
function firstImprecise(tile, source, origin, n) {
    for (let i = 0; i < n; i++) {
        for (let k = 0; k < 3; k++) {
            const j = 3 * i + k;
            const rel = source.positions[j] - origin[k];
            const posTol = ulp32(rel) / 2 + ulp32(tile.positions[j]) / 2;
            if (Math.abs(tile.positions[j] - source.positions[j]) > posTol) return `position ${j}`;
            if (Math.abs(tile.scales[j] - source.scales[j]) > halfStep(source.scales[j])) return `scale ${j}`;
            const c = Math.min(1, Math.max(0, source.colors[j]));
            if (Math.abs(tile.colors[j] - c) > 0.5 / 255 + 1e-6) return `colour ${j}`;
        }
        const q = source.rotations.subarray(4 * i, 4 * i + 4);
        const norm = Math.hypot(...q);
        const unit = norm > 1e-12 ? [...q].map((v) => v / norm) : [1, 0, 0, 0];
        for (let k = 0; k < 4; k++) {
            if (Math.abs(tile.rotations[4 * i + k] - unit[k]) > halfStep(unit[k]) + 1e-7) return `rotation ${i}`;
        }
        const o = Math.min(1, Math.max(0, source.opacities[i]));
        if (Math.abs(tile.opacities[i] - o) > 0.5 / 255 + 1e-6) return `opacity ${i}`;
    }
    return null;
}

const sha256 = (bytes) => new Uint8Array(createHash('sha256').update(bytes).digest());
const decode = (bytes) => decodeSplatTextures(bytes, { sha256 });
const refuses = refuser(decode, SplatTexturesError, report);

function withU32(bytes, offset, value) {
    const out = Uint8Array.from(bytes);
    new DataView(out.buffer).setUint32(offset, value, true);
    return out;
}

for (const entry of manifest.vectors) {
    report.vectors += 1;
    const encoded = new Uint8Array(readFileSync(join(dir, entry.encoded)));
    const expected = new Uint8Array(readFileSync(join(dir, entry.decoded)));
    const tile = decode(encoded);
    compareDecoded(entry, tile, expected, report);

    const source = fields(floats(readFileSync(join(dir, entry.source))), entry.count);
    const imprecise = firstImprecise(tile, source, tile.origin, entry.count);
    if (imprecise === null) report.within_precision += 1;
    else report.imprecise.push(`${entry.name}: ${imprecise}`);

    const variants = {
        truncated: encoded.subarray(0, encoded.length - 1),
        header_only: encoded.subarray(0, 40),
        bad_magic: Uint8Array.from(encoded, (b, i) => (i === 0 ? b ^ 0xff : b)),
        bad_version: Uint8Array.from(encoded, (b, i) => (i === 4 ? 99 : b)),
        unknown_flag: Uint8Array.from(encoded, (b, i) => (i === 6 ? 1 : b)),
        bomb: withU32(encoded, 20, 0xffffffff),
        huge_count: withU32(encoded, 8, 0x7fffffff),
        rows_mismatch: withU32(encoded, 16, entry.rows + 1),
        width_not_power_of_two: withU32(encoded, 12, 1000),
        non_finite_origin: Uint8Array.from(encoded, (b, i) => (i >= 32 && i < 40 ? [0, 0, 0, 0, 0, 0, 0xf8, 0x7f][i - 32] : b)),
        trailing_byte: Uint8Array.from([...encoded, 0]),
        flipped_body_byte: Uint8Array.from(encoded, (b, i) => (i === encoded.length - 1 ? b ^ 0x01 : b)),
        flipped_origin_byte: Uint8Array.from(encoded, (b, i) => (i === 33 ? b ^ 0x01 : b)),
    };
    for (const [name, bytes] of Object.entries(variants)) {
        if (refuses(bytes)) report.refused += 1;
        else report.wrongly_accepted.push(`${entry.name}:${name}`);
    }
}
console.log(JSON.stringify(report));
process.exit(report.mismatches.length || report.imprecise.length || report.wrongly_accepted.length ? 1 : 0);
