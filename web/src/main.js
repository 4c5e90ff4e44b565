// The page: picks the world (?world=ID or the newest), wires the panel, banner, minimap, photo
// drop and export links to the Viewer, and exposes a read-only status object for tests
// (window.worldbridge). The token comes from ?token=, or from the form shown when the server says 401.

import './style.css';
import { Api, ApiError } from './api.js';
import { Minimap } from './minimap.js';
import { setupSteering } from './steer.js';
import { Viewer } from './viewer.js';

const $ = (id) => document.getElementById(id);
const params = new URLSearchParams(location.search);
const TOKEN_KEY = 'worldbridge-token';
const RETRY_MS = [1000, 2000, 4000, 8000];

const api = new Api(new URL('.', location.href).href, params.get('token') || sessionStorage.getItem(TOKEN_KEY) || '');
const minimap = new Minimap($('minimap'));
let worlds = [];
let bootAttempt = 0;
let banner = { kind: '', text: '' };
let lastPanelUpdate = 0;
const viewer = new Viewer($('view'), { onStatus: () => scheduleStatus() });
setupSteering({ $, api, viewer });

function showBanner(kind, text, { tokenForm = false } = {}) {
    banner = { kind, text };
    $('banner').hidden = !text;
    $('banner').className = kind === 'info' ? 'info' : '';
    $('banner-text').textContent = text;
    $('token-form').hidden = !tokenForm;
    if (tokenForm) $('token').focus();
}

function formatBytes(n) {
    if (n >= 1 << 20) return `${(n / (1 << 20)).toFixed(1)} MiB`;
    if (n >= 1 << 10) return `${(n / (1 << 10)).toFixed(0)} KiB`;
    return `${Math.round(n)} B`;
}

// -- status: the panel, progress, banner and minimap follow the viewer -------------------------

let statusQueued = false;
function scheduleStatus() {
    if (statusQueued) return;
    statusQueued = true;
    setTimeout(() => { statusQueued = false; updateStatus(); }, 50);
}

function updateStatus() {
    const v = viewer;
    let loaded = 0;
    let loading = 0;
    for (const tile of v.tiles.values()) tile.state === 'loaded' ? loaded++ : loading++;
    const now = performance.now();
    if (now - lastPanelUpdate <= 250) setTimeout(scheduleStatus, 260); // the panel catches up after a burst
    else {
        lastPanelUpdate = now;
        const rows = [
            ['splats resident', v.splats.splatsResident.toLocaleString('en')],
            ['splats drawn', v.splats.splatsDrawn.toLocaleString('en')],
            ['tiles', `${loaded} held${loading ? `, ${loading} loading` : ''}`],
            ['received', `${formatBytes(v.bytesPerSecond)}/s (${formatBytes(v.counters.bytesReceived)})`],
            ['frame rate', v.fps > 0 ? `${v.fps.toFixed(1)} fps` : 'still (drawn when something changes)'],
            ['position', v.rig.position.map((x) => x.toFixed(0)).join(', ') + ' m'],
        ];
        $('readout').replaceChildren(...rows.flatMap(([k, val]) => {
            const dt = document.createElement('dt');
            dt.textContent = k;
            const dd = document.createElement('dd');
            dd.textContent = val;
            return [dt, dd];
        }));
        if (v.world) minimap.draw(v.tiles.values(), v.world.base_tile_m || 32, v.rig.position, v.rig.yaw);
    }
    // Progress while the view fills: until the stream has sent all it wants and all is decoded.
    const p = v.progress;
    const filling = v.connection === 'streaming' && !(v.stream?.settled && loading === 0);
    $('progress').hidden = !filling;
    if (filling) {
        const wanted = p ? Number(p.tiles_wanted) : 0;
        $('progress-text').textContent = p ? `Loading tiles: ${loaded} of ${wanted} in view` : 'Waiting for the first tiles…';
        $('progress-bar').style.width = `${wanted ? Math.min(100, (100 * loaded) / wanted) : 0}%`;
    }
    if (v.connection === 'offline') {
        const seconds = Math.max(0, Math.ceil((v.closeInfo.retryInMs - (now - v.closeInfo.at)) / 1000));
        showBanner('error', `Lost the connection to the server; reconnecting${seconds ? ` in ${seconds} s` : ''}…`);
    } else if (v.connection === 'unauthorised') {
        showBanner('error', 'The server rejected the access token. Enter the token it was started with (--token).', { tokenForm: true });
    } else if (v.connection === 'not-found') {
        showBanner('error', `This server has no world ${v.world?.id}. Pick another in the list.`);
    } else if (v.connection === 'refused') {
        showBanner('error', `The server refused the stream: ${v.closeInfo.reason}`);
    } else if (v.connection === 'streaming' && banner.kind === 'error') {
        showBanner('', '');
    }
    if (v.connection === 'offline') setTimeout(scheduleStatus, 500); // keep the countdown ticking
}

// -- worlds ------------------------------------------------------------------------------------

async function boot() {
    let list;
    try {
        list = await api.listWorlds();
    } catch (error) {
        if (error instanceof ApiError && error.status === 401) {
            showBanner('error', api.token ? 'The server rejected this access token; enter the right one.'
                : 'This server needs an access token (it was started with --token).', { tokenForm: true });
            return;
        }
        const wait = RETRY_MS[Math.min(bootAttempt++, RETRY_MS.length - 1)];
        showBanner('error', `Cannot reach the server (${error.message}); retrying in ${Math.round(wait / 1000)} s…`);
        setTimeout(boot, wait);
        return;
    }
    bootAttempt = 0;
    worlds = [...list.worlds].sort((a, b) => Number(b.created_unix_ms) - Number(a.created_unix_ms));
    fillWorldList();
    if (!worlds.length) {
        // Look again now and then: a world may be on its way (`serve --photo`, another client).
        showBanner('info', 'No worlds yet: drop a photo here, or use "New world from a photo…".');
        setTimeout(() => { if (!viewer.world) boot(); }, 3000);
        return;
    }
    const wanted = params.get('world');
    const world = worlds.find((w) => w.id === wanted) ?? worlds[0];
    if (wanted && world.id !== wanted) showBanner('error', `No world ${wanted} on this server; showing the newest.`);
    else showBanner('', '');
    await openWorld(world.id);
}

function fillWorldList(selected) {
    $('worlds').replaceChildren(...worlds.map((w) => {
        const option = document.createElement('option');
        option.value = w.id;
        option.textContent = `${w.name || 'untitled'} (${w.id.slice(0, 8)})`;
        option.selected = w.id === selected;
        return option;
    }));
}

async function openWorld(id) {
    let world;
    try {
        world = await api.getWorld(id);
    } catch (error) {
        showBanner('error', `Cannot open world ${id}: ${error.message}`);
        return;
    }
    fillWorldList(id);
    const format = document.querySelector('input[name="format"]:checked').value;
    params.set('world', id);
    if (format === 'glb') params.set('format', 'glb');
    else params.delete('format');
    history.replaceState(null, '', `?${params}`);
    await viewer.open(world, api, format);
}

async function createWorld(file) {
    showBanner('info', `Making a world from ${file.name}…`);
    try {
        const result = await api.createWorld(file);
        const list = await api.listWorlds();
        worlds = [...list.worlds].sort((a, b) => Number(b.created_unix_ms) - Number(a.created_unix_ms));
        showBanner('', '');
        await openWorld(result.world.id);
    } catch (error) {
        if (error instanceof ApiError && error.status === 401) showBanner('error', 'The server needs an access token.', { tokenForm: true });
        else showBanner('error', `Could not make a world from ${file.name}: ${error.message}`);
    }
}

async function exportTile(format) {
    const world = viewer.world;
    if (!world) return;
    const base = world.base_tile_m || 32;
    const [x, , z] = viewer.rig.position;
    const key = { lod: 0, ix: Math.floor(x / base), iz: Math.floor(z / base) };
    try {
        const blob = await (await api.fetch(api.tilePath(world.id, key, format))).blob();
        const link = document.createElement('a');
        link.href = URL.createObjectURL(blob);
        link.download = `${world.name || world.id}_${key.lod}_${key.ix}_${key.iz}.${format}`;
        link.click();
        setTimeout(() => URL.revokeObjectURL(link.href), 10000);
    } catch (error) {
        showBanner('error', `Export failed: ${error.message}`);
    }
}

// -- wiring ------------------------------------------------------------------------------------

function speedFromSlider(value) {
    return Math.round(500 ** (value / 100) * 10) / 10; // 1 to 500 m/s, logarithmic
}

function setSpeed() {
    viewer.controls.speed = speedFromSlider(Number($('speed').value));
    $('speed-value').textContent = `${viewer.controls.speed} m/s`;
}

if (params.get('format') === 'glb') document.querySelector('input[name="format"][value="glb"]').checked = true;
$('speed').addEventListener('input', setSpeed);
setSpeed();
$('view').addEventListener('wheel', (e) => {
    $('speed').value = String(Number($('speed').value) + (e.deltaY < 0 ? 4 : -4));
    setSpeed();
    e.preventDefault();
}, { passive: false });
$('worlds').addEventListener('change', () => openWorld($('worlds').value));
for (const radio of document.querySelectorAll('input[name="format"]')) {
    radio.addEventListener('change', () => viewer.world && openWorld(viewer.world.id));
}
$('spawn').addEventListener('click', () => { viewer.rig.resetToSpawn(); viewer.stream?.setPose(viewer.pose()); viewer.requestFrame(true); });
$('pick').addEventListener('click', () => $('file').click());
$('file').addEventListener('change', () => $('file').files[0] && createWorld($('file').files[0]));
for (const link of document.querySelectorAll('#export a')) {
    link.addEventListener('click', (e) => { e.preventDefault(); exportTile(link.dataset.format); });
}
$('token-form').addEventListener('submit', (e) => {
    e.preventDefault();
    api.token = $('token').value.trim();
    sessionStorage.setItem(TOKEN_KEY, api.token);
    showBanner('', '');
    boot();
});
window.addEventListener('keydown', (e) => {
    if (e.code === 'KeyH' && !(e.target instanceof HTMLInputElement)) $('ui').classList.toggle('hidden');
});
// Photo drop anywhere on the page.
let dragDepth = 0;
window.addEventListener('dragenter', (e) => { e.preventDefault(); dragDepth++; $('drop').hidden = false; });
window.addEventListener('dragleave', () => { if (--dragDepth <= 0) { dragDepth = 0; $('drop').hidden = true; } });
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => {
    e.preventDefault();
    dragDepth = 0;
    $('drop').hidden = true;
    const file = e.dataTransfer?.files?.[0];
    if (file) createWorld(file);
});

// -- for tests and benches: read-only state, plus capture and a continuous-render switch ---------

window.worldbridge = Object.freeze({
    get connection() { return viewer.connection; },
    get worldId() { return viewer.world?.id ?? null; },
    get tilesLoaded() { return [...viewer.tiles.values()].filter((t) => t.state === 'loaded').length; },
    get tilesLoading() { return [...viewer.tiles.values()].filter((t) => t.state !== 'loaded').length; },
    get tileKeys() { return [...viewer.tiles.values()].filter((t) => t.state === 'loaded').map((t) => t.key); },
    get tilesReceived() { return viewer.counters.tilesReceived; },
    get splatsResident() { return viewer.splats.splatsResident; },
    get splatsDrawn() { return viewer.splats.splatsDrawn; },
    get framesRendered() { return viewer.counters.framesRendered; },
    get bytesReceived() { return viewer.counters.bytesReceived; },
    get bytesPerSecond() { return viewer.bytesPerSecond; },
    get fps() { return viewer.fps; },
    get reconnects() { return viewer.counters.reconnects; },
    get idle() { return viewer.idle; },
    get position() { return [...viewer.rig.position]; },
    get speed() { return viewer.controls.speed; },
    get lastError() { return viewer.lastError; },
    get banner() { return $('banner').hidden ? '' : $('banner-text').textContent; },
    get floatTarget() { return viewer.pipeline.targetType === 1015 ? 'float32' : 'float16'; },
    /** Render now and return the canvas as a PNG data URL (the frame, without the page's panels). */
    capture() {
        viewer.frame(performance.now());
        return $('view').toDataURL('image/png');
    },
    /** Keep rendering every animation frame (for frame-rate benches); false returns to on demand. */
    setContinuous(on) {
        viewer.continuous = Boolean(on);
        viewer.requestFrame(true);
    },
});

boot();
