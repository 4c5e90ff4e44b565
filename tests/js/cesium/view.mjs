// One CesiumJS session in headless Chromium for tests/api/test_cesium.py. Reads one JSON job on
// stdin, prints one JSON result on stdout:
//   job: { page, tileset, token?, width, height, sse, geo, camera: { p, d, u, fov }, shots: [PATH,...],
//          moveM (metres to move forward after the first shot; 0: no move), timeoutMs }
//   result: { spawn: stats, moved: stats | null, newContent: [url, ...], contentRequests: [url...],
//             errors: [{type, text}], failed: [...] }
// Waits are conditions with timeouts (tiles settled, then the frame stable), never fixed sleeps.
import { writeFileSync } from 'node:fs';
import { launch, recordConsole } from '../../../web/tests/browser.mjs';

const job = JSON.parse(await new Promise((resolve) => {
    let text = '';
    process.stdin.on('data', (d) => { text += d; });
    process.stdin.on('end', () => resolve(text));
}));

const browser = await launch({ width: job.width, height: job.height });
const result = { contentRequests: [], errors: [], newContent: [], moved: null, failure: null };
let messages = [];
try {
    const page = await browser.context.newPage();
    messages = recordConsole(page);
    result.httpErrors = [];
    page.on('request', (r) => { if (new URL(r.url()).pathname.endsWith('.glb')) result.contentRequests.push(r.url()); });
    page.on('response', (r) => { if (r.status() >= 400) result.httpErrors.push(`${r.status()} ${r.url()}`); });
    const url = `${job.page}?tileset=${encodeURIComponent(job.tileset)}&sse=${job.sse}`
        + (job.token ? `&token=${encodeURIComponent(job.token)}` : '');
    await page.goto(url);
    await page.waitForFunction('window.wb?.ready || window.wb?.error', null, { timeout: job.timeoutMs });
    const failure = await page.evaluate('window.wb.error');
    if (failure) throw new Error(`the tileset did not load: ${failure}`);
    const { p, d, u, fov } = job.camera;
    await page.evaluate(([geo, p, d, u, fov]) => window.wb.look(geo, p, d, u, fov), [job.geo, p, d, u, fov]);

    const settle = async (what) => {
        const since = await page.evaluate('window.wb.allLoaded');
        try {
            await page.waitForFunction(`window.wb.allLoaded > ${since} && window.wb.settled()`, null, { timeout: job.timeoutMs, polling: 200 });
        } catch (error) {
            throw new Error(`${what}: tiles not settled after ${job.timeoutMs} ms: ${JSON.stringify(await page.evaluate('window.wb.stats()'))}`);
        }
        // Splats are sorted off the main thread after loading: wait until two frames agree.
        let last = '';
        const started = Date.now();
        for (;;) {
            const shot = await page.evaluate('window.wb.capture()');
            // Two equal frames with something drawn: loaded splats stay invisible until sorted.
            if (shot === last && (await page.evaluate('window.wb.coverage()')) > job.minCoverage) break;
            if (Date.now() - started > job.timeoutMs) throw new Error(`${what}: the frame never became stable`);
            last = shot;
            const frame = await page.evaluate('window.wb.frames');
            await page.waitForFunction(`window.wb.frames >= ${frame + 2}`, null, { timeout: job.timeoutMs, polling: 100 });
        }
        return page.evaluate('window.wb.stats()');
    };
    result.spawn = await settle('spawn');
    const save = async (path) => {
        const url = await page.evaluate('window.wb.capture()');
        writeFileSync(path, Buffer.from(url.slice(url.indexOf(',') + 1), 'base64'));
    };
    await save(job.shots[0]);
    if (job.moveM > 0) {
        const before = new Set(result.contentRequests);
        await page.evaluate((m) => window.wb.moveForward(m), job.moveM);
        result.moved = await settle('after the move');
        result.newContent = result.contentRequests.filter((u) => !before.has(u));
        if (job.shots[1]) await save(job.shots[1]);
    }
    result.failed = await page.evaluate('window.wb.failed');
} catch (error) {
    result.failure = String(error.message || error); // reported with the console, for the test's message
} finally {
    result.errors = messages.filter((m) => m.type === 'error' || m.type === 'pageerror');
    result.warnings = messages.filter((m) => m.type === 'warning' && !m.text.includes('GL Driver')).map((m) => m.text).slice(0, 20);
    await browser.close();
}
process.stdout.write(JSON.stringify(result) + '\n');
