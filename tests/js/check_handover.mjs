// The web viewer's LOD hand-over rule (web/src/handover.js) on the held sets in DIR/cases.json:
// prints {"drawn": [[keyId, ...] sorted, ...]}, one list per case, for the Python test to compare
// with bridge/stream/handover.py. Use: node --import ./bare_imports.mjs check_handover.mjs DIR
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tilesToDraw } from '../../web/src/handover.js';

const dir = process.argv[2];
if (!dir) {
    console.error('usage: node --import ./bare_imports.mjs check_handover.mjs DIR');
    process.exit(2);
}
const cases = JSON.parse(readFileSync(join(dir, 'cases.json'), 'utf8'));
const drawn = cases.map((keys) => [...tilesToDraw(keys.map(([lod, ix, iz]) => ({ lod, ix, iz })))].sort());
console.log(JSON.stringify({ drawn }));
