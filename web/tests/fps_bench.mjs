// Frame-rate bench of the viewer in headless Chromium: opens the page on a running server, waits
// until the spawn view is complete, then renders continuously and counts frames. Prints one JSON
// object. Without a GPU this is SwiftShader (software GL on the CPU): say so when quoting it.
//   node web/tests/fps_bench.mjs --url http://127.0.0.1:8080/ [--width 1280] [--height 800] [--seconds 10]
import { parseArgs } from 'node:util';
import { launch } from './browser.mjs';

const { values } = parseArgs({
    options: {
        url: { type: 'string' },
        width: { type: 'string', default: '1280' },
        height: { type: 'string', default: '800' },
        seconds: { type: 'string', default: '10' },
    },
});
if (!values.url) {
    console.error('usage: node web/tests/fps_bench.mjs --url http://127.0.0.1:8080/ [--width W] [--height H] [--seconds S]');
    process.exit(2);
}
const width = Number(values.width);
const height = Number(values.height);
const seconds = Number(values.seconds);
const browser = await launch({ width, height });
try {
    const page = await browser.context.newPage();
    await page.goto(values.url);
    const started = Date.now();
    await page.waitForFunction(() => window.worldbridge?.idle, null, { timeout: 300000, polling: 200 });
    const loadSeconds = (Date.now() - started) / 1000;
    const result = await page.evaluate(async (ms) => {
        const s = window.worldbridge;
        s.setContinuous(true);
        await new Promise((r) => setTimeout(r, 1000)); // warm-up
        const f0 = s.framesRendered;
        const t0 = performance.now();
        await new Promise((r) => setTimeout(r, ms));
        const frames = s.framesRendered - f0;
        const elapsed = (performance.now() - t0) / 1000;
        s.setContinuous(false);
        const gl = document.createElement('canvas').getContext('webgl2');
        const info = gl.getExtension('WEBGL_debug_renderer_info');
        return {
            frames, seconds: elapsed, fps: frames / elapsed,
            splats_drawn: s.splatsDrawn, splats_resident: s.splatsResident, tiles: s.tilesLoaded,
            renderer: gl.getParameter(info ? info.UNMASKED_RENDERER_WEBGL : gl.RENDERER),
            float_target: s.floatTarget,
        };
    }, seconds * 1000);
    const out = { bench: 'viewer-fps', url: values.url, width, height, load_s: loadSeconds, ...result };
    out.fps = Math.round(out.fps * 100) / 100;
    out.seconds = Math.round(out.seconds * 100) / 100;
    console.log(JSON.stringify(out));
} finally {
    await browser.close();
}
