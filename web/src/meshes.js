// Mesh tiles (the stream's "glb" format), drawn by three.js. Materials become unlit, with textures
// and vertex colours passed through unconverted, so meshes show the same display colours as splats.

import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';

export class MeshLayer {
    constructor() {
        this.scene = new THREE.Scene();
        this.loader = new GLTFLoader();
        this.tiles = new Map(); // id -> THREE.Object3D
    }

    /** GLB bytes -> a tile in the scene. Resolves when added; rejects with the loader's error. */
    async add(id, bytes) {
        const copy = bytes.slice().buffer; // the loader wants an ArrayBuffer of exactly the GLB
        const gltf = await this.loader.parseAsync(copy, '');
        gltf.scene.traverse((node) => {
            if (!node.isMesh) return;
            const old = node.material;
            const map = old.map ?? null;
            if (map) map.colorSpace = THREE.NoColorSpace;
            node.material = new THREE.MeshBasicMaterial({
                map,
                color: old.color ?? 0xffffff,
                vertexColors: Boolean(node.geometry.attributes.color),
                side: THREE.DoubleSide,
            });
            old.dispose();
        });
        this.remove(id);
        this.tiles.set(id, gltf.scene);
        this.scene.add(gltf.scene);
    }

    /** Show only the tiles whose ids are in `drawn` (the hand-over rule's choice). */
    showOnly(drawn) {
        for (const [id, object] of this.tiles) object.visible = drawn.has(id);
    }

    remove(id) {
        const object = this.tiles.get(id);
        if (!object) return;
        this.tiles.delete(id);
        this.scene.remove(object);
        object.traverse((node) => {
            if (!node.isMesh) return;
            node.geometry.dispose();
            node.material.map?.dispose();
            node.material.dispose();
        });
    }

    clear() {
        for (const id of [...this.tiles.keys()]) this.remove(id);
    }
}
