// One CesiumJS session in headless Chromium (tests/cesium_browser.py runs it). Reads one JSON job
// on stdin, prints one JSON result on stdout:
//   job: { page, tileset, token, width, height, sse, scale, camera: { p, d, u, fovX }, shot, moveM,
//          moveShot, timeoutMs }
//   result: { spawn: stats, spawnMs, spawnContent: [url], moved: stats | null, movedContent: [url],
//             errors: [{type, text}], httpErrors: [..], failed: [..], failure: string | null }
// Every wait is a condition with a timeout (tiles settled, then two identical frames), never a
// fixed sleep.
import { writeFileSync } from 'node:fs';
import { launch, recordConsole } from '../../../web/tests/browser.mjs';

const job = JSON.parse(await new Promise((resolve) => {
    let text = '';
    process.stdin.on('data', (d) => { text += d; });
    process.stdin.on('end', () => resolve(text));
}));

const browser = await launch({ width: job.width, height: job.height });
const result = { failure: null, moved: null, movedContent: [], errors: [], httpErrors: [], failed: [] };
const content = []; // every content (.glb) URL the page asked the server for, in order
let messages = [];
try {
    const page = await browser.context.newPage();
    messages = recordConsole(page);
    page.on('request', (r) => { if (new URL(r.url()).pathname.endsWith('.glb')) content.push(r.url()); });
    page.on('response', (r) => { if (r.status() >= 400) result.httpErrors.push(`${r.status()} ${r.url()}`); });
    const started = Date.now();
    await page.goto(`${job.page}?${new URLSearchParams({ tileset: job.tileset, token: job.token, sse: job.sse, scale: job.scale })}`);
    await page.waitForFunction('window.wb?.ready || window.wb?.error', null, { timeout: job.timeoutMs });
    const error = await page.evaluate('window.wb.error');
    if (error) throw new Error(`the tileset did not load: ${error}`);
    const { p, d, u, fovX } = job.camera;

    // Load the view's tiles with the tileset hidden (cheap frames), then show it and wait until
    // CesiumJS has drawn them. ``change`` puts the camera where the view is. Without ``draw`` it
    // waits only until the shown view's tiles are selected and loaded: rebuilding and sorting a
    // million splats on SwiftShader takes minutes, and a view nobody looks at needs none of it.
    const settle = async (what, change, draw = true) => {
        const since = await page.evaluate('window.wb.allLoaded');
        await page.evaluate(change);
        const wait = async (condition, stage) => {
            try {
                await page.waitForFunction(condition, null, { timeout: job.timeoutMs, polling: 250 });
            } catch {
                throw new Error(`${what}: ${stage} within ${job.timeoutMs} ms: ${JSON.stringify(await page.evaluate('window.wb.stats()'))}`);
            }
        };
        await wait(`window.wb.allLoaded > ${since} && window.wb.loaded()`, 'tiles not loaded');
        await page.evaluate('window.wb.show(true)');
        if (!draw) {
            await wait('window.wb.selectedAndLoaded()', 'tiles not selected');
            return null;
        }
        await wait('window.wb.settled()', 'tiles not drawn');
        // Splats are aggregated and depth-sorted off the main thread after their tiles load:
        // the view is drawn once two frames a few frames apart are the same picture.
        let last = '';
        for (;;) {
            const frame = await page.evaluate('window.wb.frames');
            await page.waitForFunction(`window.wb.frames >= ${frame + 3}`, null, { timeout: job.timeoutMs, polling: 100 });
            const shot = await page.evaluate('window.wb.capture()');
            if (shot === last) return shot;
            last = shot;
        }
    };
    const save = (path, dataUrl) => writeFileSync(path, Buffer.from(dataUrl.slice(dataUrl.indexOf(',') + 1), 'base64'));

    const look = `window.wb.look(${JSON.stringify(p)}, ${JSON.stringify(d)}, ${JSON.stringify(u)}, ${fovX})`;
    save(job.shot, await settle('spawn', look));
    result.spawnMs = Date.now() - started;
    result.spawn = await page.evaluate('window.wb.stats()');
    result.spawnContent = [...content];
    result.spawnSelected = await page.evaluate('window.wb.selected()');
    if (job.moveM > 0) {
        const before = new Set(content);
        const moving = Date.now();
        const change = `window.wb.show(false); window.wb.moveForward(${job.moveM})`;
        const shot = await settle('after the move', change, Boolean(job.moveShot));
        if (job.moveShot) save(job.moveShot, shot);
        result.movedMs = Date.now() - moving;
        result.moved = await page.evaluate('window.wb.stats()');
        result.movedContent = content.filter((url) => !before.has(url));
    }
    result.failed = await page.evaluate('window.wb.failed');
} catch (error) {
    result.failure = String(error.message || error);
} finally {
    result.errors = messages.filter((m) => m.type === 'error' || m.type === 'pageerror');
    result.warnings = messages.filter((m) => m.type === 'warning' && !m.text.includes('GL Driver')).map((m) => m.text).slice(0, 20);
    await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
