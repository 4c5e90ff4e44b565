// Tiles converted to Unreal's frame agree with Frame.h applied to the decoded values.
#include <gtest/gtest.h>

#include <cmath>

#include "GlbFixture.h"
#include "VectorFiles.h"
#include "WorldBridgeCore/Frame.h"
#include "WorldBridgeCore/UnrealConversion.h"

using namespace WorldBridge;
using namespace WorldBridgeTest;

namespace {
// Half -> float through the public API: a one-splat tile would do it too; the bit layout is simple.
float half(uint16_t h) {
  const int e = (h >> 10) & 0x1F, m = h & 0x3FF;
  const float v = e == 0 ? std::ldexp(static_cast<float>(m), -24) : std::ldexp(1.0f + m / 1024.0f, e - 15);
  return (h & 0x8000) ? -v : v;
}
}  // namespace

TEST(UnrealConversion, HalfFloatsRoundToNearestEvenAndClamp) {
  EXPECT_EQ(floatToHalf(1.0f), 0x3C00);
  EXPECT_EQ(floatToHalf(-2.0f), 0xC000);
  EXPECT_EQ(floatToHalf(65504.0f), 0x7BFF);
  EXPECT_EQ(floatToHalf(1e9f), 0x7BFF);
  EXPECT_EQ(floatToHalf(1.0f + 1.0f / 2048), 0x3C00);      // a tie: to even
  EXPECT_EQ(floatToHalf(1.0f + 3.0f / 2048), 0x3C02);      // a tie: to even, upwards
  EXPECT_EQ(floatToHalf(std::ldexp(1.0f, -24)), 0x0001);  // the smallest subnormal
  for (uint32_t h = 0; h < 0x7C00; h += 7) EXPECT_EQ(floatToHalf(half(static_cast<uint16_t>(h))), h) << h;
}

TEST(UnrealConversion, SplatTexturesFollowTheFrameConversion) {
  const auto bytes = readBytes(vectorsDir() / "splat_textures" / "random.wbtx");
  const SplatTextures tile = decodeSplatTexturesBody(bytes.data(), bytes.size());
  const SplatCloud cloud = splatsFromTextures(tile);
  const UnrealSplatTextures ue = toUnrealTextures(tile);
  ASSERT_EQ(ue.count, cloud.size());
  ASSERT_EQ(ue.positions.size(), size_t{4} * ue.width * ue.rows);
  for (size_t i = 0; i < cloud.size(); ++i) {
    const Vec3d world = toUnrealPosition({cloud.positions[3 * i], cloud.positions[3 * i + 1], cloud.positions[3 * i + 2]});
    EXPECT_NEAR(ue.originCm[0] + ue.positions[4 * i], world.x, 0.05);  // float32 of the origin offset
    EXPECT_NEAR(ue.originCm[1] + ue.positions[4 * i + 1], world.y, 0.05);
    EXPECT_NEAR(ue.originCm[2] + ue.positions[4 * i + 2], world.z, 0.05);
    const Quatd q = toUnrealRotation(
        {cloud.rotations[4 * i + 1], cloud.rotations[4 * i + 2], cloud.rotations[4 * i + 3], cloud.rotations[4 * i]});
    EXPECT_EQ(half(ue.rotations[4 * i]), static_cast<float>(q.x));  // exact: signs and order only
    EXPECT_EQ(half(ue.rotations[4 * i + 1]), static_cast<float>(q.y));
    EXPECT_EQ(half(ue.rotations[4 * i + 3]), static_cast<float>(q.w));
    const Vec3d s = toUnrealScale({cloud.scales[3 * i], cloud.scales[3 * i + 1], cloud.scales[3 * i + 2]});
    EXPECT_EQ(ue.scales[4 * i], static_cast<float>(s.x));
    EXPECT_EQ(ue.scales[4 * i + 1], static_cast<float>(s.y));
    EXPECT_EQ(ue.scales[4 * i + 2], static_cast<float>(s.z));
  }
  EXPECT_EQ(ue.colors.size(), size_t{4} * ue.width * ue.rows);
}

TEST(UnrealConversion, MeshesMoveToCentimetresWithTheirWindingReversed) {
  const auto glb = triangleGlb();
  const UnrealMesh mesh = toUnrealMesh(readGlbMesh(glb.data(), glb.size()));
  EXPECT_EQ(mesh.translationCm, (std::array<double, 3>{3200, 6400, 0}));
  // Vertex 1 at glTF (32, 1.5, 0) -> (0, 3200, 150) cm.
  EXPECT_EQ(mesh.positions[3], 0);
  EXPECT_EQ(mesh.positions[4], 3200);
  EXPECT_EQ(mesh.positions[5], 150);
  EXPECT_EQ(mesh.normals[2], 1);  // glTF up is Unreal up
  EXPECT_EQ(mesh.triangles, (std::vector<int32_t>{0, 2, 2}));  // (0, 2, 2) reversed is (0, 2, 2)
}

TEST(UnrealConversion, AnUpwardFaceIsClockwiseSeenFromAboveAsUnrealsFrontFacesAre) {
  // glTF front faces are counter-clockwise seen from the front; Unreal's (its D3D heritage) are
  // clockwise. A triangle facing up in glTF (counter-clockwise from +Y) must come out clockwise
  // seen from Unreal's +Z, where the screen's right is +Y and its up is +X.
  GlbMesh mesh;
  mesh.positions = {0, 0, 0, 0, 0, 1, 1, 0, 0};  // (0,0,0) -> (0,0,1) -> (1,0,0): CCW from +Y
  mesh.indices = {0, 1, 2};
  const UnrealMesh ue = toUnrealMesh(mesh);
  const auto screen = [&](int i) { return std::pair<double, double>{ue.positions[3 * i + 1], ue.positions[3 * i]}; };
  const auto [ax, ay] = screen(ue.triangles[0]);
  const auto [bx, by] = screen(ue.triangles[1]);
  const auto [cx, cy] = screen(ue.triangles[2]);
  const double signedArea = (bx - ax) * (cy - ay) - (by - ay) * (cx - ax);
  EXPECT_LT(signedArea, 0);  // clockwise
}
