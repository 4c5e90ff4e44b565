// The sky: the world's equirectangular panorama behind everything, sampled per pixel exactly as
// bridge/render/sky.py does (row 0 straight up, column 0 at azimuth -180 degrees, bilinear,
// wrapping in azimuth, clamped at the poles). Full-screen triangle, OpenCV camera, pixel centres.

import * as THREE from 'three';

const vertex = /* glsl */ `
in vec3 position;
void main() { gl_Position = vec4(position.xy, 0.0, 1.0); }
`;

const fragment = /* glsl */ `
precision highp float;
uniform sampler2D panorama;
uniform mat3 viewRot;     // world -> camera (OpenCV)
uniform vec4 intrinsics;  // fx, fy, cx, cy
uniform vec2 viewport;
out vec4 fragColour;
const float PI = 3.141592653589793;
void main() {
    vec2 pix = vec2(gl_FragCoord.x, viewport.y - gl_FragCoord.y);
    vec3 dirCam = vec3((pix.x - intrinsics.z) / intrinsics.x, (pix.y - intrinsics.w) / intrinsics.y, 1.0);
    vec3 d = normalize(transpose(viewRot) * dirCam);
    float azimuth = atan(d.x, -d.z);
    float elevation = asin(clamp(d.y, -1.0, 1.0));
    // Texel centres sit at (k + 0.5) / size, so these are sky.py's col + 0.5 and row + 0.5, scaled.
    vec2 uv = vec2((azimuth + PI) / (2.0 * PI), (0.5 * PI - elevation) / PI);
    fragColour = vec4(texture(panorama, uv).rgb, 1.0);
}
`;

export class Sky {
    constructor() {
        this.material = new THREE.RawShaderMaterial({
            glslVersion: THREE.GLSL3,
            vertexShader: vertex,
            fragmentShader: fragment,
            uniforms: {
                panorama: { value: null },
                viewRot: { value: new THREE.Matrix3() },
                intrinsics: { value: new THREE.Vector4() },
                viewport: { value: new THREE.Vector2() },
            },
            depthTest: false,
            depthWrite: false,
        });
        const geometry = new THREE.BufferGeometry();
        geometry.setAttribute('position', new THREE.BufferAttribute(new Float32Array([-1, -1, 0, 3, -1, 0, -1, 3, 0]), 3));
        this.mesh = new THREE.Mesh(geometry, this.material);
        this.mesh.frustumCulled = false;
        this.scene = new THREE.Scene();
        this.scene.add(this.mesh);
        this.ready = false;
    }

    /** PNG bytes of the panorama: decoded without any colour management, so values pass unchanged. */
    async load(blob) {
        const bitmap = await createImageBitmap(blob, {
            colorSpaceConversion: 'none', premultiplyAlpha: 'none', imageOrientation: 'none',
        });
        const texture = new THREE.Texture(bitmap);
        texture.colorSpace = THREE.NoColorSpace;
        texture.wrapS = THREE.RepeatWrapping;
        texture.wrapT = THREE.ClampToEdgeWrapping;
        texture.minFilter = THREE.LinearFilter;
        texture.magFilter = THREE.LinearFilter;
        texture.generateMipmaps = false;
        texture.flipY = false;
        texture.needsUpdate = true;
        this.material.uniforms.panorama.value?.dispose();
        this.material.uniforms.panorama.value = texture;
        this.ready = true;
    }

    setView(view) {
        const u = this.material.uniforms;
        u.viewRot.value.set(...view.rot);
        u.intrinsics.value.set(view.fx, view.fy, view.cx, view.cy);
        u.viewport.value.set(view.width, view.height);
    }
}
