#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <string>

#include "WorldBridgeCore/PlyWriter.h"

using namespace WorldBridge;

TEST(PlyWriter, WritesTheInriaLayoutInTheGltfFrame) {
  SplatCloud cloud;
  cloud.resize(1);
  cloud.positions = {1.0f, 2.0f, -3.0f};
  cloud.scales = {1.0f, std::exp(1.0f), 0.5f};
  cloud.rotations = {1.0f, 0.0f, 0.0f, 0.0f};
  cloud.opacities = {0.5f};
  cloud.colors = {0.5f, 1.0f, 0.0f};
  const auto bytes = encodeInriaPly(cloud);
  const std::string text(bytes.begin(), bytes.end());
  const size_t end = text.find("end_header\n");
  ASSERT_NE(end, std::string::npos);
  const std::string header = text.substr(0, end);
  EXPECT_NE(header.find("format binary_little_endian 1.0"), std::string::npos);
  EXPECT_NE(header.find("element vertex 1"), std::string::npos);
  EXPECT_NE(header.find("comment frame glTF"), std::string::npos);
  EXPECT_NE(header.find("property float rot_3"), std::string::npos);
  ASSERT_EQ(bytes.size(), end + 11 + 17 * 4);
  float row[17];
  std::memcpy(row, bytes.data() + end + 11, sizeof(row));
  EXPECT_EQ(row[0], 1.0f);
  EXPECT_EQ(row[1], 2.0f);  // not flipped: the glTF frame, not RDF
  EXPECT_EQ(row[2], -3.0f);
  EXPECT_NEAR(row[6], 0.0f, 1e-6);                    // f_dc of 0.5
  EXPECT_NEAR(row[7], 0.5 / 0.28209479177387814, 1e-5);
  EXPECT_NEAR(row[9], 0.0f, 1e-6);                    // logit(0.5)
  EXPECT_NEAR(row[11], 1.0f, 1e-6);                   // ln(e)
  EXPECT_EQ(row[13], 1.0f);                           // rot_0 = w
}
