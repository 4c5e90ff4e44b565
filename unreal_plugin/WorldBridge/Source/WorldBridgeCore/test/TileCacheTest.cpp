#include <gtest/gtest.h>

#include "WorldBridgeCore/TileCache.h"

using namespace WorldBridge;

namespace {
std::shared_ptr<const DecodedTile> tileOf(TileKey key, size_t splats, std::string sha = "s") {
  auto tile = std::make_shared<DecodedTile>();
  tile->key = key;
  tile->format = TileFormat::Stream;
  tile->sha256 = std::move(sha);
  tile->splats.resize(splats);
  return tile;
}
constexpr size_t kSplatBytes = 56;
}  // namespace

TEST(TileCache, HeldTilesAreNeverEvictedEvenOverBudget) {
  TileCache cache(10 * kSplatBytes);
  cache.put(tileOf({0, 0, 0}, 8));
  cache.put(tileOf({0, 1, 0}, 8));
  EXPECT_EQ(cache.size(), 2u);
  EXPECT_EQ(cache.bytes(), 16 * kSplatBytes);
  EXPECT_EQ(cache.pinnedBytes(), 16 * kSplatBytes);
}

TEST(TileCache, UnloadedTilesStayUntilTheBudgetNeedsTheirBytesOldestFirst) {
  TileCache cache(20 * kSplatBytes);
  cache.put(tileOf({0, 0, 0}, 8));
  cache.put(tileOf({0, 1, 0}, 8));
  cache.unpin({0, 0, 0});
  cache.unpin({0, 1, 0});
  EXPECT_NE(cache.find({0, 0, 0}), nullptr);  // 16 of 20 splats' bytes: both fit
  EXPECT_FALSE(cache.isPinned({0, 0, 0}));
  cache.put(tileOf({0, 2, 0}, 8));  // 24 > 20: the first unloaded goes
  EXPECT_EQ(cache.find({0, 0, 0}), nullptr);
  EXPECT_NE(cache.find({0, 1, 0}), nullptr);
  EXPECT_LE(cache.bytes(), 20 * kSplatBytes);
}

TEST(TileCache, ANewTileReplacesItsKeysOldContentAndPinsIt) {
  TileCache cache(100 * kSplatBytes);
  cache.put(tileOf({1, 0, 0}, 4, "old"));
  cache.unpin({1, 0, 0});
  cache.put(tileOf({1, 0, 0}, 6, "new"));
  EXPECT_EQ(cache.find({1, 0, 0})->sha256, "new");
  EXPECT_TRUE(cache.isPinned({1, 0, 0}));
  EXPECT_EQ(cache.bytes(), 6 * kSplatBytes);
  EXPECT_EQ(cache.pinned().size(), 1u);
}

TEST(TileCache, UnpinningAnUnknownKeyChangesNothing) {
  TileCache cache(kSplatBytes);
  cache.unpin({3, 3, 3});
  EXPECT_EQ(cache.size(), 0u);
}

TEST(TileCache, AnOutOfDateTileIsRemovedAtOncePinnedOrNot) {
  TileCache cache(100 * kSplatBytes);
  cache.put(tileOf({0, 0, 0}, 4, "changed"));
  cache.put(tileOf({0, 1, 0}, 6));
  cache.unpin({0, 1, 0});
  cache.remove({0, 0, 0});
  cache.remove({0, 1, 0});
  cache.remove({5, 5, 5});  // unknown: nothing happens
  EXPECT_EQ(cache.find({0, 0, 0}), nullptr);
  EXPECT_EQ(cache.find({0, 1, 0}), nullptr);
  EXPECT_EQ(cache.bytes(), 0u);
  EXPECT_EQ(cache.pinnedBytes(), 0u);
  EXPECT_TRUE(cache.pinned().empty());
}
