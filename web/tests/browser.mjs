// Launches Debian's Chromium headless through playwright-core (never a downloaded browser), with
// WebGL2 on SwiftShader when there is no GPU, in a fresh profile.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.WORLDBRIDGE_CHROMIUM || '/usr/bin/chromium';
export const ARGS = [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
    // Software WebGL2: recent Chromium only falls back to SwiftShader when told it may.
    '--use-angle=swiftshader', '--enable-unsafe-swiftshader',
    // Keep rAF and timers running at full rate in a page nobody looks at.
    '--disable-background-timer-throttling', '--disable-renderer-backgrounding', '--disable-backgrounding-occluded-windows',
];

/** { browser, context, close() } with a fresh --user-data-dir that close() removes. */
export async function launch({ width, height }) {
    const profile = mkdtempSync(join(tmpdir(), 'worldbridge-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
        executablePath: CHROMIUM,
        headless: true,
        args: ARGS,
        viewport: { width, height },
        deviceScaleFactor: 1,
    });
    return {
        context,
        async close() {
            await context.close();
            rmSync(profile, { recursive: true, force: true });
        },
    };
}

/** Console messages and page errors of a page, collected as { type, text }. */
export function recordConsole(page) {
    const messages = [];
    page.on('console', (m) => messages.push({ type: m.type(), text: m.text() }));
    page.on('pageerror', (e) => messages.push({ type: 'pageerror', text: String(e.stack || e) }));
    return messages;
}
