// The glTF -> Unreal conversion on known points, against a rotation applied in both frames, and
// round trips.
#include <gtest/gtest.h>

#include <cmath>

#include "WorldBridgeCore/Frame.h"

using namespace WorldBridge;

namespace {
Vec3d rotate(const Quatd& q, const Vec3d& v) {
  // v' = v + 2w (u x v) + 2 u x (u x v), u = (x, y, z): the Hamilton product q v q*.
  const Vec3d u{q.x, q.y, q.z};
  const auto cross = [](const Vec3d& a, const Vec3d& b) {
    return Vec3d{a.y * b.z - a.z * b.y, a.z * b.x - a.x * b.z, a.x * b.y - a.y * b.x};
  };
  const Vec3d t = cross(u, v);
  const Vec3d t2 = cross(u, t);
  return {v.x + 2 * (q.w * t.x + t2.x), v.y + 2 * (q.w * t.y + t2.y), v.z + 2 * (q.w * t.z + t2.z)};
}

void expectNear(const Vec3d& a, const Vec3d& b, double tol = 1e-9) {
  EXPECT_NEAR(a.x, b.x, tol);
  EXPECT_NEAR(a.y, b.y, tol);
  EXPECT_NEAR(a.z, b.z, tol);
}

Quatd axisAngle(Vec3d axis, double radians) {
  const double n = std::sqrt(axis.x * axis.x + axis.y * axis.y + axis.z * axis.z);
  const double s = std::sin(radians / 2) / n;
  return {axis.x * s, axis.y * s, axis.z * s, std::cos(radians / 2)};
}
}  // namespace

TEST(Frame, GltfForwardRightAndUpBecomeUnrealsAxesInCentimetres) {
  expectNear(toUnrealPosition({0, 0, -1}), {100, 0, 0});  // -Z forward -> +X
  expectNear(toUnrealPosition({1, 0, 0}), {0, 100, 0});   // +X right -> +Y
  expectNear(toUnrealPosition({0, 1, 0}), {0, 0, 100});   // +Y up -> +Z
  expectNear(toUnrealPosition({1.5, -2, 3.25}), {-325, 150, -200});
}

TEST(Frame, PositionsRoundTrip) {
  const Vec3d p{12.5, -3.75, 1e4};
  expectNear(fromUnrealPosition(toUnrealPosition(p)), p, 1e-9);
  const Vec3d ue{-7, 13, 0.5};
  expectNear(toUnrealPosition(fromUnrealPosition(ue)), ue, 1e-9);
}

TEST(Frame, RotationsTurnConvertedVectorsAsTheOriginalTurnsTheOriginals) {
  // Rotating then converting equals converting then rotating by the converted quaternion.
  const Quatd rotations[] = {axisAngle({0, 1, 0}, 0.7), axisAngle({1, 0, 0}, -1.2), axisAngle({0.3, -0.5, 0.8}, 2.5),
                             axisAngle({0, 0, 1}, 3.14159)};
  const Vec3d vectors[] = {{1, 0, 0}, {0, 1, 0}, {0, 0, 1}, {0.2, -1.5, 4}};
  for (const Quatd& q : rotations)
    for (const Vec3d& v : vectors)
      expectNear(toUnrealPosition(rotate(q, v)), rotate(toUnrealRotation(q), toUnrealPosition(v)), 1e-7);
}

TEST(Frame, AYawAboutUpIsAYawAboutUnrealsUpTheOtherWayRound) {
  // 90 degrees about glTF +Y turns -Z (forward) to -X (left); in Unreal forward +X must turn to -Y.
  const Quatd q = toUnrealRotation(axisAngle({0, 1, 0}, M_PI / 2));
  expectNear(rotate(q, {1, 0, 0}), {0, -1, 0}, 1e-12);
  EXPECT_NEAR(q.x, 0, 1e-12);
  EXPECT_NEAR(q.y, 0, 1e-12);
  EXPECT_NEAR(q.z, -std::sin(M_PI / 4), 1e-12);  // (z, -x, -y, w) of (0, s, 0, c)
}

TEST(Frame, RotationsRoundTrip) {
  const Quatd q{0.1, -0.2, 0.3, std::sqrt(1 - 0.14)};
  const Quatd back = fromUnrealRotation(toUnrealRotation(q));
  EXPECT_DOUBLE_EQ(back.x, q.x);
  EXPECT_DOUBLE_EQ(back.y, q.y);
  EXPECT_DOUBLE_EQ(back.z, q.z);
  EXPECT_DOUBLE_EQ(back.w, q.w);
}

TEST(Frame, SplatScalesFollowTheirAxes) {
  // A splat long along glTF z (depth) is long along Unreal x.
  expectNear(toUnrealScale({0.01, 0.02, 0.5}), {50, 1, 2});
  expectNear(fromUnrealScale(toUnrealScale({0.3, 0.1, 0.7})), {0.3, 0.1, 0.7}, 1e-12);
}

TEST(Frame, ASplatsCovarianceMapsAsItsAxesDo) {
  // Sigma = R S^2 R^T in glTF, converted as M Sigma M^T, equals the one built from the converted
  // rotation and scales: compare both on test vectors (v^T Sigma v).
  const Quatd q = axisAngle({0.2, 1, -0.4}, 0.9);
  const Vec3d s{0.5, 0.1, 0.02};
  const Quatd qu = toUnrealRotation(q);
  const Vec3d su = toUnrealScale(s);
  const Vec3d probes[] = {{1, 0, 0}, {0, 1, 0}, {0.3, 0.4, -0.5}};
  for (const Vec3d& v : probes) {
    // v^T R S^2 R^T v = |S R^T v|^2; R^T v is v rotated by the conjugate.
    const auto quadratic = [](const Quatd& r, const Vec3d& sc, const Vec3d& x) {
      const Vec3d local = rotate({-r.x, -r.y, -r.z, r.w}, x);
      return std::pow(local.x * sc.x, 2) + std::pow(local.y * sc.y, 2) + std::pow(local.z * sc.z, 2);
    };
    // A Unreal-frame probe corresponds to a glTF one; centimetres scale the form by 100^2.
    const Vec3d vg = fromUnrealPosition(v);  // in metres: 1/100 of v
    EXPECT_NEAR(quadratic(qu, su, v), quadratic(q, s, vg) * 1e4 * 1e4, 1e-9);
  }
}
