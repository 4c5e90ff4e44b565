// Decode every tile listed in DIR/manifest.json with the JavaScript decoder (web/src/tilecodec.js)
// and compare its float32 output, byte for byte, with the expected values the Python decoder wrote.
// Then check that malformed variants of each tile are refused. Prints one JSON object; exit 1 on
// any disagreement. Use: node --import ./bare_imports.mjs check_tilecodec.mjs DIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { crc32, decodeTile, HEADER_SIZE, TileCodecError } from '../../web/src/tilecodec.js';
import { compareDecoded, refuser } from './vector_checks.mjs';

const dir = process.argv[2];
if (!dir) {
    console.error('usage: node --import ./bare_imports.mjs check_tilecodec.mjs DIR');
    process.exit(2);
}
const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8'));
const report = { vectors: 0, matched: 0, mismatches: [], malformed: 0, refused: 0, wrongly_accepted: [] };

/** A copy of `bytes` with a float32 header field replaced and the checksum made right again. */
function withFloat(bytes, offset, value) {
    const out = Uint8Array.from(bytes);
    const view = new DataView(out.buffer);
    view.setFloat32(offset, value, true);
    view.setUint32(HEADER_SIZE - 4, crc32(out.subarray(HEADER_SIZE), crc32(out.subarray(0, HEADER_SIZE - 4))), true);
    return out;
}

const refuses = refuser(decodeTile, TileCodecError, report);

for (const entry of manifest.vectors) {
    report.vectors += 1;
    const encoded = new Uint8Array(readFileSync(join(dir, entry.encoded)));
    const expected = new Uint8Array(readFileSync(join(dir, entry.decoded)));
    const tile = decodeTile(encoded);
    compareDecoded(entry, tile, expected, report);

    const variants = {
        truncated: encoded.subarray(0, encoded.length - 1),
        header_only: encoded.subarray(0, 50),
        bad_magic: Uint8Array.from(encoded, (b, i) => (i === 0 ? b ^ 0xff : b)),
        bad_version: Uint8Array.from(encoded, (b, i) => (i === 4 ? 99 : b)),
        flipped_payload: Uint8Array.from(encoded, (b, i) => (i === encoded.length - 1 ? b ^ 0x01 : b)),
        huge_count: Uint8Array.from(encoded, (b, i) => (i === 11 ? 0x7f : b)),
        non_finite_origin: withFloat(encoded, 16, NaN),
        negative_step: withFloat(encoded, 28, -1),
    };
    if (entry.count > 0) variants.scale_overflow = withFloat(encoded, 40, 500); // 2**500: beyond float32
    for (const [name, bytes] of Object.entries(variants)) {
        if (refuses(bytes)) report.refused += 1;
        else report.wrongly_accepted.push(`${entry.name}:${name}`);
    }
}
console.log(JSON.stringify(report));
process.exit(report.mismatches.length || report.wrongly_accepted.length ? 1 : 0);
