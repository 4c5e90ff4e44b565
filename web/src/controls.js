// Walk/fly controls: WASD on the ground plane, Q/E or Shift/Space down/up, drag to look (pointer
// lock while the button is held is not needed: plain drags work in every browser, headless too).

const KEYS = {
    KeyW: [0, 0, 1], ArrowUp: [0, 0, 1], KeyS: [0, 0, -1], ArrowDown: [0, 0, -1],
    KeyA: [-1, 0, 0], ArrowLeft: [-1, 0, 0], KeyD: [1, 0, 0], ArrowRight: [1, 0, 0],
    KeyE: [0, 1, 0], Space: [0, 1, 0], KeyQ: [0, -1, 0], ShiftLeft: [0, -1, 0], ShiftRight: [0, -1, 0],
};
const LOOK_RAD_PER_PX = 0.004;
const MAX_STEP_S = 1.0; // a stalled frame (software GL, a hidden tab) moves at most this much time

export class Controls {
    constructor(rig, element, onChange) {
        this.rig = rig;
        this.onChange = onChange;
        this.held = new Set();
        this.speed = 20; // m/s
        this.dragging = null;
        window.addEventListener('keydown', (e) => {
            if (e.target instanceof HTMLInputElement || e.target instanceof HTMLSelectElement) return;
            if (KEYS[e.code]) {
                this.held.add(e.code);
                e.preventDefault();
                this.onChange();
            }
        });
        window.addEventListener('keyup', (e) => {
            this.held.delete(e.code);
        });
        window.addEventListener('blur', () => this.held.clear());
        element.addEventListener('pointerdown', (e) => {
            this.dragging = { x: e.clientX, y: e.clientY };
            element.setPointerCapture(e.pointerId);
        });
        element.addEventListener('pointermove', (e) => {
            if (!this.dragging) return;
            const dx = e.clientX - this.dragging.x;
            const dy = e.clientY - this.dragging.y;
            this.dragging = { x: e.clientX, y: e.clientY };
            this.rig.turn(-dx * LOOK_RAD_PER_PX, -dy * LOOK_RAD_PER_PX); // drag right: look right
            this.onChange();
        });
        const stop = () => { this.dragging = null; };
        element.addEventListener('pointerup', stop);
        element.addEventListener('pointercancel', stop);
    }

    get moving() {
        return this.held.size > 0;
    }

    /** Advance by `dt` seconds of held keys; sets the rig's velocity. Returns whether it moved. */
    step(dt) {
        const rig = this.rig;
        let [mx, my, mz] = [0, 0, 0];
        for (const code of this.held) {
            const d = KEYS[code];
            if (d) { mx += d[0]; my += d[1]; mz += d[2]; }
        }
        if (!mx && !my && !mz) {
            rig.velocity = [0, 0, 0];
            return false;
        }
        const t = Math.min(dt, MAX_STEP_S);
        // Ground-plane axes from the yaw alone, so walking forward keeps the height.
        const fwd = [-Math.sin(rig.yaw), 0, -Math.cos(rig.yaw)];
        const right = [Math.cos(rig.yaw), 0, -Math.sin(rig.yaw)];
        const len = Math.hypot(mx, my, mz);
        const v = [0, 1, 2].map((i) => (fwd[i] * mz + right[i] * mx + (i === 1 ? my : 0)) * this.speed / len);
        rig.velocity = v;
        rig.position = rig.position.map((p, i) => p + v[i] * t);
        return true;
    }
}
