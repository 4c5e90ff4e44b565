// Back-to-front order of the resident splats for one camera: an LSD radix sort (two 16-bit
// passes) on the float32 bits of each splat's view depth. Positive floats order like their bit
// patterns, so the order is exact to float32, as the server's depth sort is to float64.
// Ties matter (a photo lifted onto a plane facing the camera has rows of equal depth): the server
// composites them front to back in input order, so here the stable ascending order is reversed
// as a whole, which draws the first of a tie last, on top, exactly as the server shows it.

const NEAR = 0.01; // metres: the server rasteriser's near plane
const FAR = 1e10;

export class DepthSorter {
    constructor() {
        this.capacity = 0;
        this.ensure(1 << 16);
        this.counts = new Uint32Array(1 << 16);
    }

    ensure(n) {
        if (n <= this.capacity) return;
        this.capacity = Math.max(n, 2 * this.capacity);
        this.depthF = new Float32Array(this.capacity);
        this.keys = new Uint32Array(this.depthF.buffer);
        this.slots = new Uint32Array(this.capacity);
        this.tmpKeys = new Uint32Array(this.capacity);
        this.tmpSlots = new Uint32Array(this.capacity);
    }

    /**
     * tiles: { centres, radii, count, slotOf(j) } in the server's input order (see splat_worker.js). view: { rot: 9 numbers (world to
     * OpenCV camera, row-major), t: 3 numbers, planes: [[nx, nz]...] side planes in camera space }.
     * Returns a fresh Uint32Array of slot indices, farthest first.
     */
    sort(tiles, view, total) {
        this.ensure(total);
        const [r00, r01, r02, r10, r11, r12, r20, r21, r22] = view.rot;
        const [t0, t1, t2] = view.t;
        const { tanLeft, tanRight, tanUp, tanDown } = view;
        // Side planes x = tan * z (and y): a splat whose 3-sigma sphere lies wholly beyond one, by
        // twice its radius for safety, cannot reach the image.
        const kl = Math.hypot(1, tanLeft);
        const kr = Math.hypot(1, tanRight);
        const ku = Math.hypot(1, tanUp);
        const kd = Math.hypot(1, tanDown);
        let n = 0;
        const depthF = this.depthF;
        const slots = this.slots;
        for (const tile of tiles) {
            const { centres, radii, count } = tile;
            for (let j = 0; j < count; j++) {
                const px = centres[3 * j];
                const py = centres[3 * j + 1];
                const pz = centres[3 * j + 2];
                const z = r20 * px + r21 * py + r22 * pz + t2;
                if (!(z >= NEAR && z <= FAR)) continue;
                const x = r00 * px + r01 * py + r02 * pz + t0;
                const y = r10 * px + r11 * py + r12 * pz + t1;
                const margin = 2 * radii[j];
                if (x - tanRight * z > margin * kr || -x - tanLeft * z > margin * kl) continue;
                if (y - tanDown * z > margin * kd || -y - tanUp * z > margin * ku) continue;
                depthF[n] = z;
                slots[n] = tile.slotOf(j);
                n++;
            }
        }
        return this.radix(n);
    }

    radix(n) {
        const counts = this.counts;
        let keysIn = this.keys;
        let slotsIn = this.slots;
        let keysOut = this.tmpKeys;
        let slotsOut = this.tmpSlots;
        for (let shift = 0; shift < 32; shift += 16) {
            counts.fill(0);
            for (let i = 0; i < n; i++) counts[(keysIn[i] >>> shift) & 0xffff]++;
            let sum = 0;
            for (let b = 0; b <= 0xffff; b++) {
                const c = counts[b];
                counts[b] = sum;
                sum += c;
            }
            for (let i = 0; i < n; i++) {
                const b = (keysIn[i] >>> shift) & 0xffff;
                const at = counts[b]++;
                keysOut[at] = keysIn[i];
                slotsOut[at] = slotsIn[i];
            }
            [keysIn, keysOut] = [keysOut, keysIn];
            [slotsIn, slotsOut] = [slotsOut, slotsIn];
        }
        return slotsIn.slice(0, n).reverse();
    }
}
