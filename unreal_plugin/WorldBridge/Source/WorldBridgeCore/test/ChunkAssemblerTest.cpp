#include <gtest/gtest.h>

#include <string>

#include "WorldBridgeCore/ChunkAssembler.h"
#include "WorldBridgeCore/Sha256.h"

using namespace WorldBridge;

namespace {
const std::string kData = "a tile's bytes, in three chunks";
const std::string kSha =
    Sha256::hex(Sha256::digest(reinterpret_cast<const uint8_t*>(kData.data()), kData.size()));

TileChunkView chunk(size_t offset, size_t size, bool last, std::string sha = kSha) {
  return {{0, 4, -2}, TileFormat::Spz, std::move(sha), kData.size(), offset,
          reinterpret_cast<const uint8_t*>(kData.data()) + offset, size, last};
}
}  // namespace

TEST(ChunkAssembler, JoinsChunksInOrderAndChecksTheHash) {
  ChunkAssembler assembler;
  EXPECT_FALSE(assembler.add(chunk(0, 10, false)).has_value());
  EXPECT_FALSE(assembler.add(chunk(10, 10, false)).has_value());
  const auto tile = assembler.add(chunk(20, kData.size() - 20, true));
  ASSERT_TRUE(tile.has_value());
  EXPECT_EQ(std::string(tile->bytes.begin(), tile->bytes.end()), kData);
  EXPECT_EQ(tile->key, (TileKey{0, 4, -2}));
  EXPECT_EQ(assembler.partialTiles(), 0u);
}

TEST(ChunkAssembler, AGapIsRefused) {
  ChunkAssembler assembler;
  assembler.add(chunk(0, 10, false));
  EXPECT_THROW(assembler.add(chunk(15, 5, false)), ChunkError);
  EXPECT_EQ(assembler.partialTiles(), 0u);
  EXPECT_THROW(assembler.add(chunk(20, 5, true)), ChunkError);  // no start
}

TEST(ChunkAssembler, DamagedBytesAreRefusedByTheirName) {
  ChunkAssembler assembler;
  const std::string wrong(64, '0');
  try {
    assembler.add(chunk(0, kData.size(), true, wrong));
    FAIL();
  } catch (const ChunkError& e) {
    EXPECT_NE(std::string(e.what()).find("damaged"), std::string::npos);
  }
}

TEST(ChunkAssembler, AnOversizedTileIsRefusedBeforeAllocating) {
  ChunkAssembler assembler(16);
  EXPECT_THROW(assembler.add(chunk(0, 10, false)), ChunkError);
}
