// Read every .spz file under a folder with npm `spz-js`; print one JSON object:
// {"files": N, "points": total, "failed": [{"file", "error"}]}. Use: node spzjs_read_all.mjs DIR
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadSpz } from 'spz-js';

const root = process.argv[2];
if (!root) {
    console.error('usage: node spzjs_read_all.mjs DIR');
    process.exit(2);
}
const files = readdirSync(root, { recursive: true }).filter((name) => name.endsWith('.spz')).sort();
let points = 0;
const failed = [];
for (const name of files) {
    try {
        // loadSpz wants a Uint8Array (it hangs on a bare ArrayBuffer under Node 20).
        const cloud = await loadSpz(new Uint8Array(readFileSync(join(root, name))));
        points += cloud.numPoints;
    } catch (error) {
        failed.push({ file: name, error: String(error) });
    }
}
console.log(JSON.stringify({ files: files.length, points, failed }));
