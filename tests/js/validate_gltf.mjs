// Validate glTF binaries with the Khronos glTF-Validator (npm `gltf-validator`).
// Prints one JSON object: {"FILE": {numErrors, numWarnings, numInfos, numHints, messages}, ...}
// where messages lists every issue as {code, severity (0 error .. 3 hint), pointer, message}.
// Use: node validate_gltf.mjs FILE.glb [FILE.glb ...]
import { readFileSync } from 'node:fs';
import validator from 'gltf-validator';

const files = process.argv.slice(2);
if (files.length === 0) {
    console.error('usage: node validate_gltf.mjs FILE.glb [FILE.glb ...]');
    process.exit(2);
}
const out = {};
for (const file of files) {
    const report = await validator.validateBytes(new Uint8Array(readFileSync(file)), {
        uri: file,
        maxIssues: 1000,
        // A GLB that pointed outside itself would be a bug here: refuse to load anything.
        externalResourceFunction: (uri) => Promise.reject(new Error(`external resource ${uri}`)),
    });
    const { numErrors, numWarnings, numInfos, numHints, messages } = report.issues;
    out[file] = {
        numErrors,
        numWarnings,
        numInfos,
        numHints,
        messages: messages.map(({ code, severity, pointer, message }) => ({ code, severity, pointer, message })),
    };
}
console.log(JSON.stringify(out));
