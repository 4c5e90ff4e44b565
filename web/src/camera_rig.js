// The viewer's camera: the photo's pinhole camera (from the world's spawn) moved by WASD and the
// mouse. One source of truth for the view, handed out as the numbers the splat shader, the sky and
// the depth sort use (OpenCV rotation, as bridge/render/camera.py) and as a three.js camera.

import * as THREE from 'three';

const FOV_CLAMP_MARGIN = 0.3; // rasterize.py: Jacobian limits at the image plus 30% of the half FOV
const NEAR = 0.05;
const FAR = 20000;

function normalise(v) {
    const n = Math.hypot(v[0], v[1], v[2]);
    return [v[0] / n, v[1] / n, v[2] / n];
}

function cross(a, b) {
    return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

export class CameraRig {
    constructor() {
        this.position = [0, 2, 0];
        this.yaw = 0; // radians; 0 looks down -Z, positive turns left (towards -X)
        this.pitch = 0;
        this.spawn = null;
        this.width = 1;
        this.height = 1;
        this.camera = new THREE.PerspectiveCamera();
        this.camera.matrixAutoUpdate = false;
        this.velocity = [0, 0, 0];
    }

    /** The world's spawn CameraSpec (proto3 JSON): stand where the photo was taken. */
    setSpawn(spec) {
        const v = (p) => [p?.x ?? 0, p?.y ?? 0, p?.z ?? 0];
        this.spawn = {
            position: v(spec.position),
            forward: normalise(v(spec.forward)),
            width: spec.width, height: spec.height, fx: spec.fx, fy: spec.fy, cx: spec.cx, cy: spec.cy,
        };
        this.resetToSpawn();
    }

    resetToSpawn() {
        const f = this.spawn.forward;
        this.position = [...this.spawn.position];
        this.pitch = Math.asin(Math.max(-1, Math.min(1, f[1])));
        this.yaw = Math.atan2(-f[0], -f[2]);
        this.exactForward = f; // until the first turn, use the spawn's own numbers
    }

    setViewport(width, height) {
        this.width = width;
        this.height = height;
    }

    get forward() {
        if (this.exactForward) return this.exactForward;
        const c = Math.cos(this.pitch);
        return [-Math.sin(this.yaw) * c, Math.sin(this.pitch), -Math.cos(this.yaw) * c];
    }

    turn(dYaw, dPitch) {
        this.exactForward = null;
        this.yaw += dYaw;
        this.pitch = Math.max(-1.5, Math.min(1.5, this.pitch + dPitch));
    }

    /** Intrinsics for the current viewport: the spawn's vertical FOV and principal-point offset,
     * which is exactly the spawn camera scaled when the viewport has the photo's aspect. */
    intrinsics() {
        const s = this.spawn;
        const fy = s.fy * this.height / s.height;
        const fx = s.fx * fy / s.fy;
        return {
            fx, fy,
            cx: this.width / 2 + (s.cx - s.width / 2) * fx / s.fx,
            cy: this.height / 2 + (s.cy - s.height / 2) * fy / s.fy,
        };
    }

    get verticalFovDeg() {
        return 2 * Math.atan(this.height / 2 / this.intrinsics().fy) * 180 / Math.PI;
    }

    /** Everything the renderers need for this frame. */
    view() {
        const f = this.forward;
        // As Camera.looking: right = f x up, camera up = right x f, no roll.
        let right = cross(f, [0, 1, 0]);
        if (Math.hypot(...right) < 1e-9) right = [1, 0, 0];
        right = normalise(right);
        const up = cross(right, f);
        const p = this.position;
        // OpenCV world-to-camera rotation rows: x right, y down, z forward.
        const rows = [right, [-up[0], -up[1], -up[2]], f];
        const rot = rows.flat();
        const t = rows.map((r) => -(r[0] * p[0] + r[1] * p[1] + r[2] * p[2]));
        const k = this.intrinsics();
        const w = this.width;
        const h = this.height;
        const tanX = 0.5 * w / k.fx;
        const tanY = 0.5 * h / k.fy;
        const limits = [
            k.cx / k.fx + FOV_CLAMP_MARGIN * tanX, (w - k.cx) / k.fx + FOV_CLAMP_MARGIN * tanX,
            k.cy / k.fy + FOV_CLAMP_MARGIN * tanY, (h - k.cy) / k.fy + FOV_CLAMP_MARGIN * tanY,
        ];
        return {
            rot, t, ...k, width: w, height: h, limits, right, up, forward: f, position: [...p],
            // Half-angle tangents of the image edges, for culling in the depth sort.
            tanLeft: k.cx / k.fx, tanRight: (w - k.cx) / k.fx, tanUp: k.cy / k.fy, tanDown: (h - k.cy) / k.fy,
        };
    }

    /** Sync the three.js camera (meshes) with view(): same pose, same off-centre projection. */
    syncThree(view) {
        const { right, up, forward: f, position: p } = view;
        const cam = this.camera;
        cam.matrixWorld.set(
            right[0], up[0], -f[0], p[0],
            right[1], up[1], -f[1], p[1],
            right[2], up[2], -f[2], p[2],
            0, 0, 0, 1,
        );
        cam.matrixWorldInverse.copy(cam.matrixWorld).invert();
        const { fx, fy, cx, cy, width: w, height: h } = view;
        cam.projectionMatrix.set(
            2 * fx / w, 0, (w - 2 * cx) / w, 0,
            0, 2 * fy / h, (2 * cy - h) / h, 0,
            0, 0, -(FAR + NEAR) / (FAR - NEAR), -2 * FAR * NEAR / (FAR - NEAR),
            0, 0, -1, 0,
        );
        cam.projectionMatrixInverse.copy(cam.projectionMatrix).invert();
    }
}
