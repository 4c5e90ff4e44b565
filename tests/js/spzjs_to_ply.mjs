// Read an SPZ file with npm `spz-js` and write what it decoded as a 3DGS PLY.
// spz-js reads SPZ versions 1-2 only and does no axis conversion: the PLY it writes is in the
// SPZ file's own frame (RUB). Usage: node spzjs_to_ply.mjs IN.spz OUT.ply
import { readFileSync, writeFileSync } from 'node:fs';
import { loadSpz, serializePly } from 'spz-js';

const [input, output] = process.argv.slice(2);
if (!input || !output) {
    console.error('usage: node spzjs_to_ply.mjs IN.spz OUT.ply');
    process.exit(2);
}
const bytes = readFileSync(input);
// loadSpz wants a Uint8Array (it hangs on a bare ArrayBuffer under Node 20).
const cloud = await loadSpz(new Uint8Array(bytes));
if (!cloud) {
    console.error(`spz-js could not read ${input}`);
    process.exit(1);
}
writeFileSync(output, Buffer.from(serializePly(cloud)));
console.log(JSON.stringify({ numPoints: cloud.numPoints, shDegree: cloud.shDegree }));
