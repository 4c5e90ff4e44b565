// The C++ decoders reproduce the shared vectors' float32 values bit for bit, as the Python and
// JavaScript decoders do (tests/vectors/README.md).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>

#include "VectorFiles.h"
#include "WorldBridgeCore/SplatTextures.h"
#include "WorldBridgeCore/TileCodec.h"

using namespace WorldBridge;
using namespace WorldBridgeTest;

TEST(DecoderVectors, TileCodecVectorsDecodeBitForBit) {
  const auto files = vectorFiles("tilecodec", ".wbtc");
  ASSERT_GE(files.size(), 6u) << "vectors missing under " << vectorsDir();
  for (const auto& path : files) {
    const auto encoded = readBytes(path);
    const auto expected = readBytes(std::filesystem::path(path).replace_extension(".f32"));
    const SplatCloud cloud = decodeTileCodec(encoded.data(), encoded.size());
    EXPECT_EQ(cloud.size() * 14 * 4, expected.size()) << path;
    EXPECT_TRUE(cloud.decodedBytes() == expected) << path.filename() << " differs from the Python decoder's values";
  }
}

TEST(DecoderVectors, SplatTexturesVectorsDecodeBitForBit) {
  const auto files = vectorFiles("splat_textures", ".wbtx");
  ASSERT_GE(files.size(), 5u) << "vectors missing under " << vectorsDir();
  for (const auto& path : files) {
    const auto encoded = readBytes(path);
    const auto expected = readBytes(std::filesystem::path(path).replace_extension(".f32"));
    const SplatCloud cloud = decodeSplatTextures(encoded.data(), encoded.size());
    EXPECT_TRUE(cloud.decodedBytes() == expected) << path.filename() << " differs from the Python decoder's values";
  }
}

TEST(DecoderVectors, SplatTexturesStayWithinTheFormatsPrecisionOfTheSource) {
  // Against the splats before encoding: positions within a float32 step of their offset, colours
  // within half of 1/255 (tests/vectors/splat_textures/NAME.source.f32).
  const auto path = vectorsDir() / "splat_textures" / "random.wbtx";
  const auto encoded = readBytes(path);
  const auto sourceBytes = readBytes(vectorsDir() / "splat_textures" / "random.source.f32");
  const SplatCloud cloud = decodeSplatTextures(encoded.data(), encoded.size());
  const size_t n = cloud.size();
  ASSERT_EQ(sourceBytes.size(), n * 14 * 4);
  std::vector<float> source(n * 14);
  std::memcpy(source.data(), sourceBytes.data(), sourceBytes.size());
  const float* colors = source.data() + n * 11;
  for (size_t i = 0; i < n * 3; ++i) {
    EXPECT_NEAR(cloud.positions[i], source[i], 1e-3);
    EXPECT_NEAR(cloud.colors[i], std::clamp(colors[i], 0.0f, 1.0f), 0.5 / 255 + 1e-6);
  }
}

TEST(DecoderVectors, TheTextureHeaderNamesWhereEachImageLies) {
  const auto encoded = readBytes(vectorsDir() / "splat_textures" / "random.wbtx");
  const SplatTextures tile = decodeSplatTexturesBody(encoded.data(), encoded.size());
  const auto& h = tile.header;
  EXPECT_EQ(h.width & (h.width - 1), 0u);
  EXPECT_EQ(h.rows, (h.count + h.width - 1) / h.width);
  EXPECT_EQ(tile.body.size(), size_t{36} * h.width * h.rows);
  EXPECT_EQ(h.colorsOffset() + size_t{4} * h.width * h.rows, tile.body.size());
}
