// GLSL for the splats: the maths of bridge/render/rasterize.py (3D Gaussian Splatting with the EWA
// projection, gsplat's constants), one instanced quad per splat, drawn back to front with
// premultiplied "over" blending (which composites exactly as the server's front-to-back loop).
// All in pixel units with the server's conventions: pixel (row i, column j) is sampled at its
// centre (j + 0.5, i + 0.5), v grows downwards, the camera is OpenCV's (x right, y down, z forward).

export const splatVertex = /* glsl */ `
precision highp float;
precision highp int;
precision highp usampler2D;

#ifndef POINTS
in vec2 corner;        // the quad's corner, in {0, 1}^2
#endif
in uint splatIndex;    // which splat (a slot of splatData), per instance (per point)

uniform usampler2D splatData;
uniform int rowShift;      // log2(splats per texture row)
uniform mat3 viewRot;      // world -> camera (OpenCV axes)
uniform vec3 viewT;
uniform vec4 intrinsics;   // fx, fy, cx, cy in pixels
uniform vec2 viewport;     // width, height in pixels
uniform vec4 clampLimits;  // the Jacobian's x/z and y/z limits: -x, +x, -y, +y

flat out vec2 vMean;
flat out vec3 vConic;
flat out vec4 vColour;     // rgb, opacity
flat out vec4 vBox;        // the pixels the splat may touch: [x0, x1) x [y0, y1), y down

const float EPS2D = 0.3;           // px^2 low-pass added to the projected covariance's diagonal
const float ALPHA_MIN = 1.0 / 255.0;
const float TILE = 16.0;           // the server bins splats to 16-px tiles; a splat ends at their edge

void cull() {
    gl_Position = vec4(0.0, 0.0, 2.0, 1.0); // beyond the far plane: the quad is clipped away
#ifdef POINTS
    gl_PointSize = 1.0;
#endif
}

void main() {
    int slot = int(splatIndex);
    int col = slot & ((1 << rowShift) - 1);
    ivec2 at = ivec2(col * 3, slot >> rowShift);
    uvec4 t0 = texelFetch(splatData, at, 0);
    uvec4 t1 = texelFetch(splatData, at + ivec2(1, 0), 0);
    uvec4 t2 = texelFetch(splatData, at + ivec2(2, 0), 0);
    vec3 p = viewRot * uintBitsToFloat(t0.xyz) + viewT;
    vec2 rg = unpackHalf2x16(t0.w);
    vec2 bo = unpackHalf2x16(t2.z);
    float opacity = bo.y;
    if (p.z < 0.01 || p.z > 1e10 || opacity < ALPHA_MIN) { cull(); return; }

    float fx = intrinsics.x, fy = intrinsics.y;
    float rz = 1.0 / p.z;
    // As 3DGS and gsplat: the Jacobian is taken at a centre clamped to 1.3x the field of view.
    float tx = p.z * clamp(p.x * rz, -clampLimits.x, clampLimits.y);
    float ty = p.z * clamp(p.y * rz, -clampLimits.z, clampLimits.w);
    // Column-major: J = [[fx/z, 0, -fx tx/z^2], [0, fy/z, -fy ty/z^2]] (third row unused).
    mat3 J = mat3(fx * rz, 0.0, 0.0,  0.0, fy * rz, 0.0,  -fx * tx * rz * rz, -fy * ty * rz * rz, 0.0);
    vec4 c = uintBitsToFloat(t1);
    vec2 c2 = uintBitsToFloat(t2.xy);
    mat3 sigma = mat3(c.x, c.y, c.z,  c.y, c.w, c2.x,  c.z, c2.x, c2.y);
    mat3 T = J * viewRot;
    mat3 cov = T * sigma * transpose(T);
    float a = cov[0][0] + EPS2D;
    float b = cov[0][1];
    float d = cov[1][1] + EPS2D;
    float det = a * d - b * b;
    if (!(det > 0.0)) { cull(); return; }
    vec2 mean = vec2(fx * p.x * rz + intrinsics.z, fy * p.y * rz + intrinsics.w);

    // The server's 3-sigma square, snapped out to its 16-px tiles: pixels beyond it never see the splat.
    float mid = 0.5 * (a + d);
    float lambda = mid + sqrt(max(mid * mid - det, 0.01));
    float radius = ceil(3.0 * sqrt(lambda));
    if (mean.x + radius <= 0.0 || mean.x - radius >= viewport.x || mean.y + radius <= 0.0 || mean.y - radius >= viewport.y) {
        cull(); return;
    }
    vec2 tiles = ceil(viewport / TILE);
    vec2 rectMin = clamp(floor((mean - radius) / TILE), vec2(0.0), tiles) * TILE;
    vec2 rectMax = min(clamp(ceil((mean + radius) / TILE), vec2(0.0), tiles) * TILE, viewport);
    // Within it, only the ellipse where alpha can reach 1/255 matters: 0.5 d^T cov^-1 d <= ln(255 o).
    float s = log(255.0 * opacity);
    vec2 extent = sqrt(2.0 * max(s, 0.0) * vec2(a, d)) + 1.0;
    vec2 lo = max(rectMin, floor(mean - extent));
    vec2 hi = min(rectMax, ceil(mean + extent));
    if (hi.x <= lo.x || hi.y <= lo.y) { cull(); return; }

#ifdef POINTS
    // One vertex a splat: a square point sprite over the box (the box lies inside the viewport,
    // so its centre does too, and the point is never clipped away). Software GL is vertex-bound.
    vec2 pixel = 0.5 * (lo + hi);
    gl_PointSize = max(hi.x - lo.x, hi.y - lo.y);
#else
    vec2 pixel = mix(lo, hi, corner);
#endif
    gl_Position = vec4(pixel.x / viewport.x * 2.0 - 1.0, 1.0 - pixel.y / viewport.y * 2.0, 0.0, 1.0);
    vBox = vec4(lo, hi);
    vMean = mean;
    vConic = vec3(d, -b, a) / det;
    vColour = vec4(rg, bo.x, opacity);
}
`;

export const splatFragment = /* glsl */ `
precision highp float;

uniform vec2 viewport;

flat in vec2 vMean;
flat in vec3 vConic;
flat in vec4 vColour;
flat in vec4 vBox;

out vec4 fragColour;

void main() {
    // gl_FragCoord is the pixel centre with y up; the server's v runs down from the top.
    vec2 pixel = vec2(gl_FragCoord.x, viewport.y - gl_FragCoord.y);
    if (any(lessThan(pixel, vBox.xy)) || any(greaterThanEqual(pixel, vBox.zw))) discard;
    vec2 delta = pixel - vMean;
    float power = 0.5 * (vConic.x * delta.x * delta.x + vConic.z * delta.y * delta.y) + vConic.y * delta.x * delta.y;
    if (power < 0.0) discard;
    float alpha = min(0.99, vColour.a * exp(-power));
    if (alpha < 1.0 / 255.0) discard;
    fragColour = vec4(vColour.rgb * alpha, alpha); // premultiplied, for ONE / ONE_MINUS_SRC_ALPHA
}
`;
