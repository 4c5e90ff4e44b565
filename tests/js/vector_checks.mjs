// What the vector checks share: a decoded tile as the bytes of the decoded layout, and the
// count of malformed inputs a decoder refuses with its own error type.

/** positions, scales, rotations, opacities, colours (float32 LE), as the `.f32` files hold them. */
export function decodedBytes(tile) {
    const parts = [tile.positions, tile.scales, tile.rotations, tile.opacities, tile.colors];
    const out = new Uint8Array(parts.reduce((sum, p) => sum + p.byteLength, 0));
    let offset = 0;
    for (const p of parts) {
        out.set(new Uint8Array(p.buffer, p.byteOffset, p.byteLength), offset);
        offset += p.byteLength;
    }
    return out;
}

/** A function (bytes) => bool that counts in `report.malformed` and says whether `decode`
 * refused `bytes` with `ErrorType`; any other exception is a crash and propagates. */
export function refuser(decode, ErrorType, report) {
    return (bytes) => {
        report.malformed += 1;
        try {
            decode(bytes);
        } catch (error) {
            if (error instanceof ErrorType) return true;
            throw error;
        }
        return false;
    };
}

/** Compare a decoded tile with the expected `.f32` bytes of its manifest entry: count a match in
 * `report.matched`, or record the first differing byte in `report.mismatches`. */
export function compareDecoded(entry, tile, expected, report) {
    const got = decodedBytes(tile);
    let first = -1;
    if (tile.count !== entry.count || got.length !== expected.length) first = 0;
    else first = got.findIndex((b, i) => b !== expected[i]);
    if (first === -1) report.matched += 1;
    else report.mismatches.push({ name: entry.name, firstByte: first });
}
