// After `vite build`: records the sha256 of every source the build read and of every file it
// wrote, in bridge/api/viewer/build-manifest.json. tests/test_web_viewer_build.py recomputes both,
// so a source edited without a rebuild (or a hand-edited build) fails the suite.
import { createHash } from 'node:crypto';
import { readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const web = fileURLToPath(new URL('..', import.meta.url));
const out = join(web, '..', 'bridge', 'api', 'viewer');
export const SOURCES = ['index.html', 'vite.config.js', 'package.json', 'package-lock.json', 'src'];

function files(root, entry) {
    const path = join(root, entry);
    if (statSync(path).isDirectory()) return readdirSync(path).sort().flatMap((name) => files(root, join(entry, name)));
    return [entry.split('\\').join('/')];
}

const sha = (path) => createHash('sha256').update(readFileSync(path)).digest('hex');
const hashes = (root, entries) => Object.fromEntries(entries.flatMap((e) => files(root, e)).sort().map((f) => [f, sha(join(root, f))]));

const outputs = hashes(out, readdirSync(out).filter((name) => name !== 'build-manifest.json'));
const manifest = { note: 'written by web/scripts/write_manifest.mjs after vite build', sources: hashes(web, SOURCES), outputs };
writeFileSync(join(out, 'build-manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
console.log(`build-manifest.json: ${Object.keys(manifest.sources).length} sources, ${Object.keys(outputs).length} outputs (${relative(web, out)})`);
