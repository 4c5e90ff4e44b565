// A top-down map of the tiles the viewer holds around the player: filled by LOD once drawn,
// outlined while still decoding; the player is the white arrow (up on the map is -Z).

const LOD_COLOURS = ['#3fb950', '#2bb3c0', '#4c7df0', '#9b6cf0', '#d66bd0', '#f08a4c', '#c9b037', '#888888'];
const HALF_SPAN_M = 320;

export class Minimap {
    constructor(canvas) {
        this.canvas = canvas;
        this.ctx = canvas.getContext('2d');
    }

    /** tiles: iterable of { key, state: 'loaded' | 'loading' }; base: base tile edge in metres. */
    draw(tiles, base, position, yaw) {
        const { canvas, ctx } = this;
        const size = canvas.width;
        const scale = size / (2 * HALF_SPAN_M);
        const toX = (x) => (x - position[0]) * scale + size / 2;
        const toY = (z) => (z - position[2]) * scale + size / 2;
        ctx.clearRect(0, 0, size, size);
        ctx.fillStyle = 'rgba(10, 14, 20, 0.75)';
        ctx.fillRect(0, 0, size, size);
        const sorted = [...tiles].sort((a, b) => b.key.lod - a.key.lod); // coarse first, fine on top
        for (const { key, state } of sorted) {
            const edge = base * 2 ** key.lod;
            const x = toX(key.ix * edge);
            const y = toY(key.iz * edge);
            const w = edge * scale;
            if (x > size || y > size || x + w < 0 || y + w < 0) continue;
            const colour = LOD_COLOURS[Math.min(key.lod, LOD_COLOURS.length - 1)];
            if (state === 'loaded') {
                ctx.fillStyle = colour;
                ctx.globalAlpha = 0.55;
                ctx.fillRect(x, y, w, w);
                ctx.globalAlpha = 1;
                ctx.strokeStyle = 'rgba(0, 0, 0, 0.5)';
            } else {
                ctx.strokeStyle = '#ffd33d';
            }
            ctx.strokeRect(x + 0.5, y + 0.5, w - 1, w - 1);
        }
        // The player, pointing along the view's yaw.
        ctx.save();
        ctx.translate(size / 2, size / 2);
        ctx.rotate(-yaw);
        ctx.fillStyle = '#ffffff';
        ctx.beginPath();
        ctx.moveTo(0, -8);
        ctx.lineTo(5, 6);
        ctx.lineTo(-5, 6);
        ctx.closePath();
        ctx.fill();
        ctx.restore();
    }
}

export { LOD_COLOURS };
