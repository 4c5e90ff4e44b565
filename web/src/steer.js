// Steering the world from the page (docs/directives.md): pick a tool, type the words (or pick a GLB
// model for Place), click the ground. A picked model is uploaded once, when picked (so a refused
// file says why at once); each click sends one directive over HTTP; the server regenerates what
// it touches and every open viewer (this one included) gets the changed tiles over its stream.
// Undo reverts the newest directive still in effect, as a new version.

const CLICK_SLOP_PX = 4; // a press that moves further than this is a look-around drag, not a click

/** The point on the ground plane (y = 0, the spawn's ground) under a pixel of the view, or null. */
export function groundPoint(view, px, py) {
    const a = (px - view.cx) / view.fx;
    const b = (py - view.cy) / view.fy;
    const d = [0, 1, 2].map((i) => view.forward[i] + a * view.right[i] - b * view.up[i]);
    if (d[1] >= -1e-6) return null; // at or above the horizon: the ray never meets the ground
    const t = -view.position[1] / d[1];
    return [view.position[0] + t * d[0], view.position[2] + t * d[2]];
}

const GLB_MARGIN_M = 0.25; // the server refuses a model reaching more than 0.5 m outside its region

/** The radius of a circle around a model's footprint (its box, centred on the click point). */
export function modelRadius(info) {
    return Math.ceil(Math.hypot(info.width_m, info.depth_m) / 2 + GLB_MARGIN_M);
}

/** The directive a tool makes at a ground point; `glb` (an uploaded model's sha256) places it. */
export function directiveFor(tool, at, { words, ground, radius, glb }) {
    const region = { circle: { center: [Number(at[0].toFixed(2)), Number(at[1].toFixed(2))], radius } };
    if (tool === 'place' && glb) return { kind: 'place', region, glb, scale: 1 };
    if (tool === 'place') return { kind: 'place', region, structure: words };
    if (tool === 'paint') return { kind: 'paint', region, ground };
    if (tool === 'raise') return { kind: 'terrain', region, op: 'raise', amount: 3, falloff: radius };
    return { kind: 'terrain', region, op: 'flatten', height: 0, falloff: radius / 2 };
}

export function setupSteering({ $, api, viewer }) {
    const status = (text) => { $('steer-status').textContent = text; };
    let armed = false;
    let press = null;
    let model = null; // the picked GLB once the server took it: { name, sha256, width_m, ... }
    const useWords = () => {
        model = null;
        $('glb').value = '';
        $('glb-clear').hidden = true;
        $('words').disabled = $('tool').value !== 'place';
    };
    const arm = (on) => {
        armed = on;
        $('arm').textContent = on ? 'Click the ground (Esc: cancel)' : 'Apply: click the ground…';
    };
    $('arm').addEventListener('click', () => arm(!armed));
    window.addEventListener('keydown', (e) => { if (e.key === 'Escape') arm(false); });
    $('tool').addEventListener('change', () => {
        $('words').disabled = $('tool').value !== 'place' || model !== null;
        $('model-row').hidden = $('tool').value !== 'place';
    });
    $('glb-clear').addEventListener('click', () => { useWords(); status('Place builds from the words.'); });
    $('glb').addEventListener('change', async () => {
        const file = $('glb').files[0];
        if (!file) return;
        if (!viewer.world) { status('No world is open yet.'); return; }
        model = null;
        status(`Uploading ${file.name}…`);
        try {
            const info = await api.json(`v1/worlds/${encodeURIComponent(viewer.world.id)}/glbs`, {
                method: 'POST', body: file, headers: { 'content-type': 'model/gltf-binary' },
            });
            model = { name: file.name, ...info };
            $('words').disabled = true;
            $('glb-clear').hidden = false;
            // The model must stand inside its region: widen the circle to its footprint.
            $('radius').value = String(Math.max(Number($('radius').value) || 0, modelRadius(info)));
            const size = [info.width_m, info.height_m, info.depth_m].map((m) => m.toFixed(1)).join(' × ');
            status(`${file.name}: ${size} m, ${info.triangles} triangles. Apply, then click the ground.`);
        } catch (error) {
            useWords();
            status(`Model refused: ${error.message}`);
        }
    });
    const canvas = $('view');
    canvas.addEventListener('pointerdown', (e) => { press = { x: e.clientX, y: e.clientY }; });
    canvas.addEventListener('pointerup', async (e) => {
        if (!armed || !press || !viewer.world) return;
        const moved = Math.hypot(e.clientX - press.x, e.clientY - press.y);
        press = null;
        if (moved > CLICK_SLOP_PX) return;
        const rect = canvas.getBoundingClientRect();
        const view = viewer.rig.view();
        const at = groundPoint(view, (e.clientX - rect.left) * view.width / rect.width,
            (e.clientY - rect.top) * view.height / rect.height);
        if (!at) { status('That is sky: click the ground.'); return; }
        arm(false);
        const directive = directiveFor($('tool').value, at, {
            words: $('words').value, ground: $('ground').value, radius: Number($('radius').value) || 10,
            glb: model?.sha256,
        });
        await send(`v1/worlds/${encodeURIComponent(viewer.world.id)}/directives`, JSON.stringify(directive));
    });
    $('undo').addEventListener('click', async () => {
        if (!viewer.world) return;
        const base = `v1/worlds/${encodeURIComponent(viewer.world.id)}/directives`;
        try {
            const listing = await api.json(base);
            const last = [...listing.entries].reverse().find((e) => e.in_effect);
            if (!last) { status('Nothing to undo.'); return; }
            await send(`${base}/${last.directive_id}/revert`, '');
        } catch (error) {
            status(`Undo failed: ${error.message}`);
        }
    });

    async function send(path, body) {
        status('Sending…');
        try {
            const result = await api.json(path, { method: 'POST', body, headers: { 'content-type': 'application/json' } });
            const notes = result.notes.length ? ` (${result.notes.join('; ')})` : '';
            status(`Version ${result.version}: ${result.touched_tiles} tiles changed${notes}`);
        } catch (error) {
            status(`Refused: ${error.message}`);
        }
    }
}
