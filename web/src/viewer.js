// The viewer: one world's tiles streamed in, decoded in the worker, drawn on demand. It owns the
// render loop, the tile bookkeeping (what is held, what is still decoding) and the counters the
// page and the tests read. The DOM around it lives in main.js.

import { CameraRig } from './camera_rig.js';
import { Controls } from './controls.js';
import { MeshLayer } from './meshes.js';
import { Pipeline } from './pipeline.js';
import { Sky } from './sky.js';
import { SplatLayer } from './splats.js';
import { TileStream } from './stream.js';
import { tilesToDraw } from './handover.js';
import { keyId } from './wire.js';

const RATE_WINDOW_MS = 2000;
// Frames that only show new tiles or a new sort wait this long after the previous frame: tiles
// still appear at once to the eye, and a software-GL page leaves the CPU to decoding and sorting.
const REFRESH_MS = 250;

export class Viewer {
    constructor(canvas, { onStatus }) {
        this.canvas = canvas;
        this.onStatus = onStatus; // called when something the page shows changed
        this.pipeline = new Pipeline(canvas);
        this.worker = new Worker(new URL('./splat_worker.js', import.meta.url), { type: 'module' });
        this.worker.onmessage = (event) => this.fromWorker(event.data);
        this.worker.onerror = (event) => this.fail(`splat worker: ${event.message}`);
        this.rig = new CameraRig();
        this.controls = new Controls(this.rig, canvas, () => this.requestFrame(true));
        this.sky = new Sky();
        this.splats = new SplatLayer(this.pipeline.renderer, this.worker);
        this.meshes = new MeshLayer();
        this.tiles = new Map(); // id -> { key, state: 'loading' | 'loaded', splats }
        this.session = 0; // bumps on every (re)connection: late results of an old one are dropped
        this.stream = null;
        this.world = null;
        this.format = 'stream';
        this.counters = { framesRendered: 0, tilesReceived: 0, bytesReceived: 0, sorts: 0, reconnects: 0 };
        this.received = []; // [time, bytes] within the rate window
        this.lastError = '';
        this.connection = 'idle';
        this.progress = null;
        this.sortInFlight = false;
        this.sortedFor = null; // the view key of the last sort asked for
        this.frameRequested = false;
        this.continuous = false; // the fps bench keeps frames coming
        this.lastFrameAt = performance.now();
        this.lastFrameEnd = 0;
        this.frameTimer = null;
        this.frameTimes = [];
        new ResizeObserver(() => this.resize()).observe(canvas);
        this.resize();
    }

    fail(message) {
        this.lastError = message;
        console.warn(`worldbridge: ${message}`);
        this.onStatus();
    }

    resize() {
        const width = Math.max(1, Math.round(this.canvas.clientWidth));
        const height = Math.max(1, Math.round(this.canvas.clientHeight));
        this.pipeline.setSize(width, height);
        this.splats?.setViewportSize(width, height);
        this.rig.setViewport(width, height);
        if (this.stream) this.stream.setPose(this.pose());
        this.requestFrame(true);
    }

    /** Open a world: camera at the photo's camera, sky, then the stream. */
    async open(world, api, format) {
        this.close();
        this.world = world;
        this.api = api;
        this.format = format;
        this.rig.setSpawn(world.spawn);
        this.sky.load(await api.asset(world.id, 'sky')).then(() => this.requestFrame(), (e) => this.fail(`sky: ${e.message}`));
        this.stream = new TileStream({
            url: api.streamUrl(world.id),
            worldId: world.id,
            token: api.token,
            format,
            budget: { formats: [format], max_bytes_in_flight: 32 * 1024 * 1024, max_resident_splats: 3000000 },
            handlers: {
                onOpen: () => this.streamOpened(),
                onHello: (hello) => this.streamStarted(hello),
                heldTiles: () => this.heldTiles(),
                onTile: (frame, size) => this.tileArrived(frame, size),
                onUnload: (key) => this.unload(keyId(key)),
                onProgress: (p) => { this.progress = p; this.onStatus(); },
                onError: (message) => this.fail(`server: ${message}`),
                onClosed: (info) => this.streamClosed(info),
            },
        });
        this.stream.pose = this.pose();
        this.connection = 'connecting';
        this.stream.connect();
        this.requestFrame();
    }

    close() {
        this.stream?.close();
        this.stream = null;
        this.dropAllTiles();
    }

    dropAllTiles() {
        this.session++;
        for (const id of [...this.tiles.keys()]) this.unload(id);
        this.progress = null;
    }

    streamOpened() {
        if (this.connection === 'offline') this.counters.reconnects++;
        this.connection = 'streaming';
        this.onStatus();
    }

    /** The server's hello: a resumed session keeps what we hold (the server sends only the
     * rest, and unloads what is no longer wanted); tiles still loading were never acked, so
     * they come again. A fresh session starts from scratch. */
    streamStarted(hello) {
        if (!hello.resumed) {
            this.dropAllTiles();
            return;
        }
        for (const [id, tile] of [...this.tiles]) if (tile.state !== 'loaded') this.unload(id);
    }

    /** What we hold, for resuming: each loaded tile's key, format and content hash. */
    heldTiles() {
        return [...this.tiles.values()]
            .filter((t) => t.state === 'loaded')
            .map((t) => ({ key: t.key, format: t.format, content_sha256: t.sha256 }));
    }

    streamClosed({ state, code, reason, retryInMs }) {
        this.connection = state;
        this.closeInfo = { code, reason, retryInMs, at: performance.now() };
        this.onStatus();
    }

    pose() {
        return {
            position: this.rig.position,
            forward: this.rig.forward,
            velocity: this.rig.velocity,
            verticalFovDeg: this.rig.verticalFovDeg,
            viewportHeight: this.rig.height,
            viewportWidth: this.rig.width,
        };
    }

    tileArrived(frame, size) {
        const id = keyId(frame.key);
        const now = performance.now();
        this.counters.tilesReceived++;
        this.counters.bytesReceived += size;
        this.received.push([now, size]);
        const old = this.tiles.get(id);
        if (old) this.unload(id); // sent again (another format, or never acked before a reconnect)
        this.tiles.set(id, { key: frame.key, state: 'loading', splats: frame.splatCount, format: frame.format, sha256: frame.sha256 });
        const session = this.session;
        if (frame.format === 'stream') {
            const bytes = frame.data.slice().buffer;
            this.worker.postMessage({ type: 'decode', id, bytes, session }, [bytes]);
        } else if (frame.format === 'glb') {
            this.meshes.add(id, frame.data).then(
                () => this.held(id, session),
                (error) => this.fail(`tile ${id} (glb): ${error.message}`),
            );
        } else {
            this.fail(`tile ${id} came as ${frame.format}, which this viewer cannot draw`);
        }
        this.onStatus();
    }

    fromWorker(msg) {
        if (msg.type === 'decoded') {
            const tile = this.tiles.get(msg.id);
            if (!tile || tile.state !== 'loading') {
                this.worker.postMessage({ type: 'remove', id: msg.id }); // unloaded while decoding
                this.splats.version++;
                return;
            }
            this.splats.add(msg.id, tile.key, msg.count, msg.packed);
            this.held(msg.id, this.session);
        } else if (msg.type === 'decodeError') {
            this.fail(`tile ${msg.id} could not be decoded: ${msg.message}`);
        } else if (msg.type === 'sorted') {
            this.sortInFlight = false;
            this.counters.sorts++;
            this.splats.setOrder(msg.order, msg.version);
            this.requestFrame();
        } else if (msg.type === 'error') {
            this.fail(msg.message);
        }
    }

    held(id, session) {
        const tile = this.tiles.get(id);
        if (!tile || session !== this.session) return;
        tile.state = 'loaded';
        this.stream?.ack(tile.key);
        this.applyHandover();
        this.requestFrame();
        this.onStatus();
    }

    unload(id) {
        const tile = this.tiles.get(id);
        if (!tile) return;
        this.tiles.delete(id);
        if (tile.state === 'loaded') {
            this.splats.tiles.has(id) ? this.splats.remove(id) : this.meshes.remove(id);
        }
        this.applyHandover();
        this.requestFrame();
    }

    /** Mesh tiles drawn by the LOD hand-over rule (the splat worker applies it to splat tiles). */
    applyHandover() {
        const loaded = [...this.tiles.values()].filter((t) => t.state === 'loaded' && t.format === 'glb');
        this.meshes.showOnly(tilesToDraw(loaded.map((t) => t.key)));
    }

    /** urgent: the camera moved (draw on the next animation frame); else at most every REFRESH_MS. */
    requestFrame(urgent = false) {
        if (urgent && this.frameTimer) {
            clearTimeout(this.frameTimer);
            this.frameTimer = null;
            this.frameRequested = false;
        }
        if (this.frameRequested) return;
        this.frameRequested = true;
        const wait = urgent || this.continuous ? 0 : this.lastFrameEnd + REFRESH_MS - performance.now();
        if (wait <= 0) {
            requestAnimationFrame((t) => this.frame(t));
        } else {
            this.frameTimer = setTimeout(() => {
                this.frameTimer = null;
                requestAnimationFrame((t) => this.frame(t));
            }, wait);
        }
    }

    viewKey(view) {
        return `${view.rot.join(',')}|${view.t.join(',')}|${view.width}x${view.height}`;
    }

    frame(now) {
        this.frameRequested = false;
        clearTimeout(this.frameTimer);
        this.frameTimer = null;
        const dt = (now - this.lastFrameAt) / 1000;
        this.lastFrameAt = now;
        if (this.rig.spawn === null) return;
        const moved = this.controls.step(this.controls.moving ? dt : 0);
        if (moved) this.stream?.setPose(this.pose());
        const view = this.rig.view();
        const key = this.viewKey(view);
        // Re-sort when the camera or the set of tiles changed and the worker is free.
        const sortKey = `${key}|${this.splats.version}`;
        if (!this.sortInFlight && this.sortedFor !== sortKey && this.splats.tiles.size + this.splats.pendingFrees.length > 0) {
            this.sortInFlight = true;
            this.sortedFor = sortKey;
            this.worker.postMessage({ type: 'sort', view: { rot: view.rot, t: view.t, tanLeft: view.tanLeft, tanRight: view.tanRight, tanUp: view.tanUp, tanDown: view.tanDown } });
        }
        this.sky.setView(view);
        this.splats.setView(view);
        this.rig.syncThree(view);
        this.pipeline.render({ sky: this.sky, meshes: this.meshes, splats: this.splats }, this.rig.camera);
        this.counters.framesRendered++;
        this.frameTimes.push(now);
        while (this.frameTimes.length > 1 && now - this.frameTimes[0] > RATE_WINDOW_MS) this.frameTimes.shift();
        this.lastFrameEnd = performance.now();
        if (moved || this.controls.moving || this.continuous) this.requestFrame(true);
        this.onStatus();
    }

    /** Everything asked for is here and drawn: stream settled, nothing decoding, sort current. */
    get idle() {
        if (!this.stream?.settled || !this.sky.ready) return false;
        for (const tile of this.tiles.values()) if (tile.state !== 'loaded') return false;
        if (!this.splats.upToDate || this.sortInFlight || this.frameRequested || !this.counters.framesRendered) return false;
        // Every change requests a frame, so no frame pending means the last one shows it all;
        // the sort it drew must be for this very view.
        return this.splats.tiles.size === 0 || this.sortedFor === `${this.viewKey(this.rig.view())}|${this.splats.version}`;
    }

    get bytesPerSecond() {
        const now = performance.now();
        while (this.received.length && now - this.received[0][0] > RATE_WINDOW_MS) this.received.shift();
        return this.received.reduce((sum, [, bytes]) => sum + bytes, 0) / (RATE_WINDOW_MS / 1000);
    }

    get fps() {
        const n = this.frameTimes.length;
        if (n < 2) return 0;
        return (n - 1) / ((this.frameTimes[n - 1] - this.frameTimes[0]) / 1000);
    }
}
