// Screenshots of the viewer for docs/: for each photo, make (or reuse) its world on a running
// server, open the page on it, wait for the spawn view, and save the page as a JPEG.
//   node web/tests/screenshots.mjs --url http://127.0.0.1:8080/ --out docs/viewer_ PHOTO.png ...
// writes docs/viewer_<photo name>.jpg (the viewport is 960 x 540 CSS px at 2/3 scale: 640 x 360).
import { readFileSync } from 'node:fs';
import { basename, extname } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from 'playwright-core';
import { ARGS, CHROMIUM } from './browser.mjs';

const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: { url: { type: 'string' }, out: { type: 'string', default: 'docs/viewer_' }, quality: { type: 'string', default: '82' } },
});
if (!values.url || !positionals.length) {
    console.error('usage: node web/tests/screenshots.mjs --url URL [--out PREFIX] PHOTO...');
    process.exit(2);
}
const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
try {
    for (const photo of positionals) {
        const form = new FormData();
        form.append('photo', new Blob([readFileSync(photo)]), basename(photo));
        const name = basename(photo, extname(photo));
        const response = await fetch(new URL(`v1/worlds?name=${encodeURIComponent(name)}`, values.url), { method: 'POST', body: form });
        if (!response.ok) throw new Error(`${photo}: ${response.status} ${await response.text()}`);
        const { world } = await response.json();
        const page = await browser.newPage({ viewport: { width: 960, height: 540 }, deviceScaleFactor: 2 / 3 });
        await page.goto(new URL(`?world=${world.id}`, values.url).href);
        await page.waitForFunction(() => window.worldbridge?.idle, null, { timeout: 300000, polling: 200 });
        // The panel's readout (refreshed at most four times a second) shows the final state.
        await page.waitForFunction(() => document.querySelector('#readout').textContent
            .includes(window.worldbridge.splatsResident.toLocaleString('en')), null, { timeout: 10000 });
        const path = `${values.out}${name}.jpg`;
        await page.screenshot({ path, type: 'jpeg', quality: Number(values.quality) });
        console.log(JSON.stringify({ photo, world: world.id, path }));
        await page.close();
    }
} finally {
    await browser.close();
}
