// Drives the viewer in headless Chromium for tests/api/test_web_viewer.py: one JSON command a line on
// stdin, one JSON reply a line on stdout ({"ok": true, ...} or {"ok": false, "error": "..."}).
// Commands:
//   {"cmd": "open", "url", "width", "height"}   a new page (the previous one is closed)
//   {"cmd": "waitIdle", "timeoutMs"}           until everything asked for is streamed, decoded, sorted and drawn
//   {"cmd": "waitFor", "expr", "timeoutMs"}    until the JS expression is truthy (polls)
//   {"cmd": "status"}                          window.worldbridge's fields
//   {"cmd": "capture", "path"}                 the canvas as PNG (the render, no panels)
//   {"cmd": "screenshot", "path", "type"}      the whole page as the user sees it
//   {"cmd": "walk", "metres", "key"}           hold a key (real key presses) until moved that far
//   {"cmd": "setSpeed", "slider"}              set the speed slider (0-100) as a user drags it
//   {"cmd": "fill", "selector", "value"}       type into a form field
//   {"cmd": "press", "selector", "key"}        press a key in an element (e.g. Enter to submit)
//   {"cmd": "console"}                         console messages and page errors so far
//   {"cmd": "wsText"}                          the WebSocket text messages so far: [{ sent, text }]
//   {"cmd": "quit"}
import { writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { launch, recordConsole } from './browser.mjs';

let browser = null;
let page = null;
let messages = [];
let wsTexts = [];
const MAX_WS_TEXTS = 5000;

/** Keep the page's WebSocket text messages, both directions (binary tile frames are left out). */
function recordWebSockets(page) {
    const texts = [];
    const keep = (sent) => ({ payload }) => {
        if (typeof payload === 'string' && texts.length < MAX_WS_TEXTS) texts.push({ sent, text: payload });
    };
    page.on('websocket', (ws) => {
        ws.on('framesent', keep(true));
        ws.on('framereceived', keep(false));
    });
    return texts;
}

const STATUS_FIELDS = [
    'connection', 'worldId', 'tilesLoaded', 'tilesLoading', 'tileKeys', 'tilesReceived', 'splatsResident',
    'splatsDrawn', 'framesRendered', 'bytesReceived', 'bytesPerSecond', 'fps', 'reconnects', 'idle', 'position',
    'speed', 'lastError', 'banner', 'floatTarget',
];

async function status() {
    return page.evaluate((fields) => {
        const s = window.worldbridge;
        if (!s) return null;
        return Object.fromEntries(fields.map((f) => [f, s[f]]));
    }, STATUS_FIELDS);
}

/** Poll a page expression; on timeout the error says where the page stood. */
async function waitUntil(expr, timeoutMs) {
    const started = Date.now();
    try {
        await page.waitForFunction(expr, null, { timeout: timeoutMs, polling: 100 });
    } catch (error) {
        const notes = messages.filter((m) => m.type !== 'warning').slice(-10);
        throw new Error(`${expr} still false after ${timeoutMs} ms; status ${JSON.stringify(await status())}; console ${JSON.stringify(notes)}`);
    }
    return { seconds: (Date.now() - started) / 1000, status: await status() };
}

const commands = {
    async open({ url, width = 640, height = 400 }) {
        if (!browser || browser.size?.width !== width || browser.size?.height !== height) {
            await browser?.close();
            browser = await launch({ width, height });
            browser.size = { width, height };
        }
        await page?.close();
        page = await browser.context.newPage();
        messages = recordConsole(page);
        wsTexts = recordWebSockets(page);
        await page.goto(url);
        return {};
    },
    async waitIdle({ timeoutMs = 60000 }) {
        return waitUntil('window.worldbridge?.idle', timeoutMs);
    },
    async waitFor({ expr, timeoutMs = 30000 }) {
        return waitUntil(expr, timeoutMs);
    },
    async status() {
        return { status: await status() };
    },
    async capture({ path }) {
        const url = await page.evaluate(() => window.worldbridge.capture());
        writeFileSync(path, Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
        return { path };
    },
    async screenshot({ path, type = 'png', quality }) {
        await page.screenshot({ path, type, quality: type === 'jpeg' ? quality ?? 85 : undefined });
        return { path };
    },
    async setSpeed({ slider }) {
        await page.locator('#speed').fill(String(slider));
        return { speed: await page.evaluate(() => window.worldbridge.speed) };
    },
    async walk({ metres, key = 'KeyW', timeoutMs = 60000 }) {
        const start = await page.evaluate(() => window.worldbridge.position);
        await page.locator('#view').focus();
        await page.keyboard.down(key);
        const started = Date.now();
        try {
            await page.waitForFunction(([x0, z0, d]) => {
                const [x, , z] = window.worldbridge.position;
                return Math.hypot(x - x0, z - z0) >= d;
            }, [start[0], start[2], metres], { timeout: timeoutMs, polling: 50 });
        } finally {
            await page.keyboard.up(key);
        }
        const end = await page.evaluate(() => window.worldbridge.position);
        return { start, end, seconds: (Date.now() - started) / 1000 };
    },
    async fill({ selector, value }) {
        await page.locator(selector).fill(value);
        return {};
    },
    async click({ selector }) {
        await page.locator(selector).click();
        return {};
    },
    async clickAt({ x, y }) {
        await page.mouse.click(x, y);
        return {};
    },
    async setFiles({ selector, paths }) {
        await page.locator(selector).setInputFiles(paths);
        return {};
    },
    async select({ selector, value }) {
        await page.locator(selector).selectOption(value);
        return {};
    },
    async press({ selector, key }) {
        await page.locator(selector).press(key);
        return {};
    },
    async console() {
        return { messages };
    },
    async wsText() {
        return { frames: wsTexts };
    },
    async quit() {
        await browser?.close();
        browser = null;
        return {};
    },
};

const lines = createInterface({ input: process.stdin });
for await (const line of lines) {
    if (!line.trim()) continue;
    let reply;
    try {
        const command = JSON.parse(line);
        const run = commands[command.cmd];
        if (!run) throw new Error(`unknown command ${command.cmd}`);
        reply = { ok: true, ...(await run(command)) };
    } catch (error) {
        reply = { ok: false, error: String(error?.stack || error) };
    }
    process.stdout.write(`${JSON.stringify(reply)}\n`);
    if (reply.ok && line.includes('"quit"')) break;
}
await browser?.close();
