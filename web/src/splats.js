// The splat layer: every resident splat in one RGBA32UI data texture (three texels a splat, rows
// handed out per tile), drawn as instanced quads in the order the worker's depth sort gives.

import * as THREE from 'three';
import { splatFragment, splatVertex } from './splat_shaders.js';
import { UINTS_PER_SPLAT } from './splat_pack.js';

const TEXELS_PER_SPLAT = UINTS_PER_SPLAT / 4;
const FIRST_ROWS = 256;

export class SplatLayer {
    /** worker: the splat worker (decode, pack, sort), shared with the stream. */
    constructor(renderer, worker) {
        this.renderer = renderer;
        this.worker = worker;
        const maxTexture = renderer.capabilities.maxTextureSize;
        this.rowShift = Math.min(11, Math.floor(Math.log2(maxTexture / TEXELS_PER_SPLAT)));
        this.rowSplats = 1 << this.rowShift;
        this.width = this.rowSplats * TEXELS_PER_SPLAT;
        this.maxRows = maxTexture;
        this.tiles = new Map(); // id -> { rows, count, packed }
        this.freeRows = [];
        this.pendingFrees = []; // { rows, version }: freed once a sort has seen the removal
        this.rows = 0;
        this.version = 0; // place/remove messages sent to the worker
        this.sortedVersion = 0;
        this.splatsResident = 0;
        this.splatsDrawn = 0;

        this.scene = new THREE.Scene();
        this.geometry = null;
        this.drawCount = 0;
        // Point sprites when every splat's box (clipped to the viewport) fits the largest point:
        // a quarter of the vertices, which is what software GL (SwiftShader) is bound by.
        const gl = renderer.getContext();
        this.maxPointSize = gl.getParameter(gl.ALIASED_POINT_SIZE_RANGE)[1];
        this.usePoints = false;
        this.setOrderCapacity(1 << 16);
        this.material = new THREE.RawShaderMaterial({
            glslVersion: THREE.GLSL3,
            vertexShader: splatVertex,
            fragmentShader: splatFragment,
            uniforms: {
                splatData: { value: null },
                rowShift: { value: this.rowShift },
                viewRot: { value: new THREE.Matrix3() },
                viewT: { value: new THREE.Vector3() },
                intrinsics: { value: new THREE.Vector4() },
                viewport: { value: new THREE.Vector2() },
                clampLimits: { value: new THREE.Vector4() },
            },
            transparent: true,
            side: THREE.DoubleSide, // quads are laid out in pixel space (y down): their winding flips
            depthTest: false,
            depthWrite: false,
            blending: THREE.CustomBlending,
            blendEquation: THREE.AddEquation,
            blendSrc: THREE.OneFactor,
            blendDst: THREE.OneMinusSrcAlphaFactor,
            blendSrcAlpha: THREE.OneFactor,
            blendDstAlpha: THREE.OneMinusSrcAlphaFactor,
        });
        this.mesh = null;
        this.makeMesh();
        this.allocateTexture(FIRST_ROWS);
    }

    /** A fresh geometry whose slot list holds n splats (three.js fixes a geometry's instance
     * limit when it first draws it, so growing means a new geometry). Points: one vertex a splat;
     * quads: an instanced quad a splat. */
    makeMesh() {
        if (this.mesh) this.scene.remove(this.mesh);
        this.material.defines = this.usePoints ? { POINTS: 1 } : {};
        this.material.needsUpdate = true;
        this.mesh = this.usePoints ? new THREE.Points(this.geometry, this.material) : new THREE.Mesh(this.geometry, this.material);
        this.mesh.frustumCulled = false;
        this.scene.add(this.mesh);
    }

    /** Points or quads for this viewport size (see the constructor); a switch redraws from the
     * same order, so nothing is lost. */
    setViewportSize(width, height) {
        const points = Math.max(width, height) <= this.maxPointSize;
        if (points === this.usePoints) return;
        this.usePoints = points;
        const order = this.order.array.slice(0, this.drawCount);
        this.setOrderCapacity(Math.max(this.order.count, 1 << 16));
        this.order.array.set(order);
        this.order.needsUpdate = true;
        this.setDrawCount(this.geometry, order.length);
        this.makeMesh();
    }

    setOrderCapacity(n) {
        let geometry;
        let attribute;
        if (this.usePoints) {
            geometry = new THREE.BufferGeometry();
            attribute = new THREE.BufferAttribute(new Uint32Array(n), 1);
        } else {
            geometry = new THREE.InstancedBufferGeometry();
            geometry.setAttribute('corner', new THREE.BufferAttribute(new Float32Array([0, 0, 1, 0, 0, 1, 1, 1]), 2));
            geometry.setIndex([0, 1, 2, 2, 1, 3]);
            attribute = new THREE.InstancedBufferAttribute(new Uint32Array(n), 1);
            geometry.instanceCount = 0;
        }
        attribute.gpuType = THREE.IntType;
        attribute.setUsage(THREE.DynamicDrawUsage);
        geometry.setAttribute('splatIndex', attribute);
        this.setDrawCount(geometry, 0);
        this.order = attribute;
        this.geometry?.dispose();
        this.geometry = geometry;
        if (this.mesh) this.mesh.geometry = geometry;
    }

    setDrawCount(geometry, n) {
        if (this.usePoints) geometry.setDrawRange(0, n);
        else geometry.instanceCount = n;
        this.drawCount = n;
    }

    allocateTexture(rows) {
        const texture = new THREE.DataTexture(null, this.width, rows, THREE.RGBAIntegerFormat, THREE.UnsignedIntType);
        texture.internalFormat = 'RGBA32UI';
        texture.minFilter = THREE.NearestFilter;
        texture.magFilter = THREE.NearestFilter;
        texture.generateMipmaps = false;
        texture.source.dataReady = false; // allocate storage only; tiles are copied in row by row
        texture.needsUpdate = true;
        this.renderer.initTexture(texture);
        const old = this.texture;
        this.texture = texture;
        this.material.uniforms.splatData.value = texture;
        for (let r = this.rows; r < rows; r++) this.freeRows.push(r);
        this.freeRows.sort((a, b) => b - a); // pop() hands out the lowest row first
        this.rows = rows;
        if (old) {
            for (const tile of this.tiles.values()) this.upload(tile);
            old.dispose();
        }
    }

    upload(tile) {
        const rowsNeeded = tile.rows.length;
        const padded = new Uint32Array(rowsNeeded * this.rowSplats * UINTS_PER_SPLAT);
        padded.set(tile.packed);
        const source = new THREE.DataTexture(padded, this.width, rowsNeeded, THREE.RGBAIntegerFormat, THREE.UnsignedIntType);
        source.internalFormat = 'RGBA32UI';
        const region = new THREE.Box2(new THREE.Vector2(), new THREE.Vector2());
        const at = new THREE.Vector2();
        for (let j = 0; j < rowsNeeded; j++) {
            region.min.set(0, j);
            region.max.set(this.width, j + 1);
            at.set(0, tile.rows[j]);
            this.renderer.copyTextureToTexture(source, this.texture, region, at);
        }
    }

    /** A decoded tile from the worker: give it rows, copy it in, tell the worker where it lives. */
    add(id, key, count, packed) {
        if (this.tiles.has(id)) this.remove(id);
        const rowsNeeded = Math.max(1, Math.ceil(count / this.rowSplats));
        while (this.freeRows.length < rowsNeeded) {
            if (this.rows * 2 > this.maxRows) throw new Error(`splat texture full: ${this.splatsResident} splats resident`);
            this.allocateTexture(this.rows * 2);
        }
        const rows = new Int32Array(rowsNeeded);
        for (let j = 0; j < rowsNeeded; j++) rows[j] = this.freeRows.pop();
        const tile = { rows, count, packed };
        this.tiles.set(id, tile);
        this.upload(tile);
        this.worker.postMessage({ type: 'place', id, key, rows, rowShift: this.rowShift });
        this.version++;
        this.splatsResident += count;
    }

    remove(id) {
        const tile = this.tiles.get(id);
        this.worker.postMessage({ type: 'remove', id });
        this.version++;
        if (!tile) return;
        this.tiles.delete(id);
        this.splatsResident -= tile.count;
        // The drawn order may still name these rows until a sort that has seen the removal arrives.
        this.pendingFrees.push({ rows: tile.rows, version: this.version });
    }

    clear() {
        for (const id of [...this.tiles.keys()]) this.remove(id);
    }

    /** The worker's back-to-front slot order, tagged with the placement version it saw. */
    setOrder(order, version) {
        if (order.length > this.order.count) this.setOrderCapacity(Math.max(order.length, 2 * this.order.count));
        this.order.array.set(order);
        this.order.clearUpdateRanges();
        this.order.addUpdateRange(0, order.length);
        this.order.needsUpdate = true;
        this.setDrawCount(this.geometry, order.length);
        this.splatsDrawn = order.length;
        this.sortedVersion = version;
        const still = [];
        for (const free of this.pendingFrees) {
            if (free.version <= version) this.freeRows.push(...free.rows);
            else still.push(free);
        }
        this.pendingFrees = still;
        this.freeRows.sort((a, b) => b - a);
    }

    get upToDate() {
        return this.sortedVersion >= this.version;
    }

    /** Uniforms from the view (see camera_rig.js: OpenCV rotation rows, translation, intrinsics). */
    setView(view) {
        const u = this.material.uniforms;
        u.viewRot.value.set(...view.rot);
        u.viewT.value.set(...view.t);
        u.intrinsics.value.set(view.fx, view.fy, view.cx, view.cy);
        u.viewport.value.set(view.width, view.height);
        u.clampLimits.value.set(view.limits[0], view.limits[1], view.limits[2], view.limits[3]);
    }
}
