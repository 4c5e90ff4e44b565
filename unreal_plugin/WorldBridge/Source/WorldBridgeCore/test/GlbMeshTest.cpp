#include <gtest/gtest.h>

#include "GlbFixture.h"
#include "WorldBridgeCore/DecodeError.h"
#include "WorldBridgeCore/GlbMesh.h"

using namespace WorldBridge;
using namespace WorldBridgeTest;

namespace {
void expectRefused(const std::vector<uint8_t>& glb, const std::string& because) {
  try {
    readGlbMesh(glb.data(), glb.size());
    FAIL() << "accepted; expected: " << because;
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find(because), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(GlbMesh, ReadsTheArraysTheTranslationAndTheTexture) {
  const auto glb = triangleGlb();
  const GlbMesh mesh = readGlbMesh(glb.data(), glb.size());
  EXPECT_EQ(mesh.translation, (std::array<double, 3>{64, 0, -32}));
  ASSERT_EQ(mesh.vertexCount(), 3u);
  EXPECT_EQ(mesh.positions[3], 32.0f);
  EXPECT_EQ(mesh.positions[4], 1.5f);
  EXPECT_EQ(mesh.normals[1], 1.0f);
  EXPECT_EQ(mesh.uvs[5], 1.0f);
  EXPECT_EQ(mesh.indices, (std::vector<uint32_t>{0, 2, 2}));
  EXPECT_EQ(mesh.image, (std::vector<uint8_t>{0xFF, 0xD8, 0xFF, 0xD9}));
  EXPECT_EQ(mesh.imageMimeType, "image/jpeg");
}

TEST(GlbMesh, IndicesPastTheVerticesAreRefused) { expectRefused(triangleGlb("3", 7), "past the 3 vertices"); }

TEST(GlbMesh, AnAccessorReadingPastItsViewIsRefused) { expectRefused(triangleGlb("5"), "reads past"); }

TEST(GlbMesh, AnIndexCountNotInTrianglesIsRefused) { expectRefused(triangleGlb("4"), "multiple of three"); }

TEST(GlbMesh, BrokenJsonIsRefused) {
  expectRefused(makeGlb("{\"asset\": [1, 2", {}), "GLB JSON");
  expectRefused(makeGlb(std::string(100, '[') + std::string(100, ']'), {}), "deeper than 64");
  expectRefused(makeGlb("{}", {}), "meshes[0]");
}
