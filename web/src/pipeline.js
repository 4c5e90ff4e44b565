// One frame: sky, then meshes, then splats, composited in a float render target (so hundreds of
// blended splats per pixel do not each round to 8 bits), then copied to the canvas once.
// No tone mapping and no colour-space conversion anywhere: tile colours are display sRGB values.

import * as THREE from 'three';

const blitVertex = /* glsl */ `
in vec3 position;
void main() { gl_Position = vec4(position.xy, 0.0, 1.0); }
`;
const blitFragment = /* glsl */ `
precision highp float;
uniform sampler2D source;
out vec4 fragColour;
void main() { fragColour = vec4(clamp(texelFetch(source, ivec2(gl_FragCoord.xy), 0).rgb, 0.0, 1.0), 1.0); }
`;

export class Pipeline {
    constructor(canvas) {
        this.renderer = new THREE.WebGLRenderer({ canvas, antialias: false, alpha: false, powerPreference: 'high-performance' });
        this.renderer.outputColorSpace = THREE.LinearSRGBColorSpace;
        this.renderer.toneMapping = THREE.NoToneMapping;
        this.renderer.autoClear = false;
        this.renderer.setPixelRatio(1);
        const gl = this.renderer.getContext();
        // Blending into float32 needs EXT_float_blend; half floats are the fallback (still 11 bits).
        this.targetType = gl.getExtension('EXT_float_blend') ? THREE.FloatType : THREE.HalfFloatType;
        this.target = null;
        const geometry = new THREE.BufferGeometry();
        geometry.setAttribute('position', new THREE.BufferAttribute(new Float32Array([-1, -1, 0, 3, -1, 0, -1, 3, 0]), 3));
        this.blit = new THREE.Mesh(geometry, new THREE.RawShaderMaterial({
            glslVersion: THREE.GLSL3, vertexShader: blitVertex, fragmentShader: blitFragment,
            uniforms: { source: { value: null } }, depthTest: false, depthWrite: false,
        }));
        this.blit.frustumCulled = false;
        this.blitScene = new THREE.Scene();
        this.blitScene.add(this.blit);
        this.dummyCamera = new THREE.Camera();
    }

    get maxTextureSize() {
        return this.renderer.capabilities.maxTextureSize;
    }

    setSize(width, height) {
        this.renderer.setSize(width, height, false);
        if (this.target && this.target.width === width && this.target.height === height) return;
        this.target?.dispose();
        this.target = new THREE.WebGLRenderTarget(width, height, {
            type: this.targetType, format: THREE.RGBAFormat, depthBuffer: true,
            minFilter: THREE.NearestFilter, magFilter: THREE.NearestFilter, generateMipmaps: false,
        });
        this.blit.material.uniforms.source.value = this.target.texture;
    }

    /** layers: { sky, meshes, splats }; camera: the rig's three.js camera (for meshes). */
    render({ sky, meshes, splats }, camera) {
        const r = this.renderer;
        r.setRenderTarget(this.target);
        r.setClearColor(0x000000, 1);
        r.clear(true, true, false);
        if (sky.ready) r.render(sky.scene, this.dummyCamera);
        if (meshes.tiles.size) r.render(meshes.scene, camera);
        if (splats.drawCount) r.render(splats.scene, this.dummyCamera);
        r.setRenderTarget(null);
        r.clear(true, true, false);
        r.render(this.blitScene, this.dummyCamera);
    }
}
