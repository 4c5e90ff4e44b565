// The one place the core converts between the wire's frame and Unreal's.
//
// Wire (glTF): right-handed, Y up, metres, -Z forward, +X right.
// Unreal:      left-handed, Z up, centimetres, +X forward, +Y right.
// The axis map takes glTF (x, y, z) to Unreal (-z, x, y): forward to forward, right to right, up to
// up. It is a reflection (det -1), which is the handedness change; applied to a rotation R it gives
// M R M^T, whose quaternion has the vector part (z, -x, -y) (the map with its sign flipped, a
// proper rotation) and the same w. A splat's covariance R S^2 R^T maps to R' (M S^2 M^T) R'^T, so
// its per-axis scales are reordered the same way (no signs: they are lengths).
#pragma once

namespace WorldBridge {

struct Vec3d {
  double x = 0, y = 0, z = 0;
};
struct Quatd {
  double x = 0, y = 0, z = 0, w = 1;  // Hamilton, x y z w (glTF's and FQuat's order)
};

constexpr double kUnrealUnitsPerMetre = 100.0;

/// glTF point or direction in metres -> Unreal in centimetres: 100 * (-z, x, y).
inline Vec3d toUnrealPosition(const Vec3d& p) {
  return {-p.z * kUnrealUnitsPerMetre, p.x * kUnrealUnitsPerMetre, p.y * kUnrealUnitsPerMetre};
}
/// Unreal centimetres -> glTF metres (the inverse of toUnrealPosition).
inline Vec3d fromUnrealPosition(const Vec3d& p) {
  return {p.y / kUnrealUnitsPerMetre, p.z / kUnrealUnitsPerMetre, -p.x / kUnrealUnitsPerMetre};
}
/// A glTF direction (unitless: a view direction, a normal) -> Unreal: (-z, x, y).
inline Vec3d toUnrealDirection(const Vec3d& d) { return {-d.z, d.x, d.y}; }
/// The inverse of toUnrealDirection.
inline Vec3d fromUnrealDirection(const Vec3d& d) { return {d.y, d.z, -d.x}; }
/// glTF rotation (x, y, z, w) -> Unreal: (z, -x, -y, w).
inline Quatd toUnrealRotation(const Quatd& q) { return {q.z, -q.x, -q.y, q.w}; }
/// Unreal rotation -> glTF (the inverse of toUnrealRotation).
inline Quatd fromUnrealRotation(const Quatd& q) { return {-q.y, -q.z, q.x, q.w}; }
/// A splat's per-axis standard deviations (metres, local x y z) -> Unreal: 100 * (s_z, s_x, s_y).
inline Vec3d toUnrealScale(const Vec3d& s) {
  return {s.z * kUnrealUnitsPerMetre, s.x * kUnrealUnitsPerMetre, s.y * kUnrealUnitsPerMetre};
}
/// The inverse of toUnrealScale.
inline Vec3d fromUnrealScale(const Vec3d& s) {
  return {s.y / kUnrealUnitsPerMetre, s.z / kUnrealUnitsPerMetre, s.x / kUnrealUnitsPerMetre};
}

}  // namespace WorldBridge
