// Lets modules outside tests/js (such as web/src/tilecodec.js) import this folder's npm packages
// by bare name ('fzstd'), as a bundler or an import map does in the browser.
// Use: node --import ./bare_imports.mjs script.mjs
import { register } from 'node:module';

const packageJson = new URL('./package.json', import.meta.url).href;

export async function resolve(specifier, context, nextResolve) {
    try {
        return await nextResolve(specifier, context);
    } catch (error) {
        const bare = !/^(\.|\/|[a-z]+:)/i.test(specifier);
        if (!bare || error.code !== 'ERR_MODULE_NOT_FOUND') throw error;
        return nextResolve(specifier, { ...context, parentURL: packageJson });
    }
}

// Loaded as --import on the main thread: register this same file as the resolve hook.
if (typeof globalThis.__wbBareImports === 'undefined') {
    globalThis.__wbBareImports = true;
    register(import.meta.url);
}
