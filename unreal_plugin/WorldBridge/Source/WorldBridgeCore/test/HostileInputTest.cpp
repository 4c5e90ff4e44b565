// Bad bytes get a DecodeError, never a crash or an out-of-bounds read (this build runs under ASan
// and UBSan): every truncation of each vector, and seeded bit flips.
#include <gtest/gtest.h>

#include <cstring>
#include <random>

#include "GlbFixture.h"
#include "VectorFiles.h"
#include "WorldBridgeCore/DecodeError.h"
#include "WorldBridgeCore/DecodedTile.h"

using namespace WorldBridge;
using namespace WorldBridgeTest;

namespace {
// Decodes or throws DecodeError; anything else fails the test.
void decodeOrRefuse(TileFormat format, const std::vector<uint8_t>& bytes) {
  try {
    decodeTile({0, 0, 0}, format, "", bytes.data(), bytes.size());
  } catch (const DecodeError&) {
  }
}

void attack(TileFormat format, const std::vector<uint8_t>& good) {
  for (size_t cut = 0; cut < good.size(); cut += std::max<size_t>(1, good.size() / 97)) {
    const std::vector<uint8_t> truncated(good.begin(), good.begin() + cut);
    EXPECT_THROW(decodeTile({0, 0, 0}, format, "", truncated.data(), truncated.size()), DecodeError) << cut;
  }
  std::mt19937 random(17);
  for (int trial = 0; trial < 300; ++trial) {
    std::vector<uint8_t> bad = good;
    const size_t at = random() % bad.size();
    bad[at] ^= static_cast<uint8_t>(1u << (random() % 8));
    decodeOrRefuse(format, bad);
  }
}
}  // namespace

TEST(HostileInput, DamagedTileCodecTilesAreRefusedCleanly) {
  for (const auto& path : vectorFiles("tilecodec", ".wbtc")) attack(TileFormat::Stream, readBytes(path));
}

TEST(HostileInput, DamagedSplatTexturesAreRefusedByTheirChecksum) {
  for (const auto& path : vectorFiles("splat_textures", ".wbtx")) {
    const auto good = readBytes(path);
    attack(TileFormat::SplatTextures, good);
    // Any flipped bit after the magic breaks the SHA-256 (or a header check): always refused.
    std::vector<uint8_t> bad = good;
    bad[bad.size() - 1] ^= 1;
    EXPECT_THROW(decodeTile({0, 0, 0}, TileFormat::SplatTextures, "", bad.data(), bad.size()), DecodeError);
  }
}

TEST(HostileInput, ABombHeaderIsRefusedBeforeInflating) {
  auto bytes = readBytes(vectorsDir() / "splat_textures" / "single.wbtx");
  const uint32_t huge = 0xFFFFFFF0u;  // body size claim
  std::memcpy(bytes.data() + 20, &huge, 4);
  try {
    decodeTile({0, 0, 0}, TileFormat::SplatTextures, "", bytes.data(), bytes.size());
    FAIL() << "a 4 GiB body claim was accepted";
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("decompression bomb"), std::string::npos) << e.what();
  }
}

TEST(HostileInput, AGlbIsPassedThroughWithItsArraysRead) {
  std::vector<uint8_t> glb = triangleGlb();
  const DecodedTile tile = decodeTile({1, 2, 3}, TileFormat::Glb, "abc", glb.data(), glb.size());
  EXPECT_TRUE(tile.isMesh());
  EXPECT_EQ(tile.glb, glb);
  ASSERT_TRUE(tile.mesh);
  EXPECT_EQ(tile.mesh->vertexCount(), 3u);
  attack(TileFormat::Glb, glb);
  glb[8] ^= 1;  // the header's length no longer matches
  EXPECT_THROW(decodeTile({1, 2, 3}, TileFormat::Glb, "abc", glb.data(), glb.size()), DecodeError);
}

TEST(HostileInput, FormatsTheCoreDoesNotReadAreNamedInTheError) {
  const std::vector<uint8_t> ply = {'p', 'l', 'y', '\n'};
  try {
    decodeTile({0, 0, 0}, TileFormat::Ply, "", ply.data(), ply.size());
    FAIL();
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find("ply"), std::string::npos);
  }
}
