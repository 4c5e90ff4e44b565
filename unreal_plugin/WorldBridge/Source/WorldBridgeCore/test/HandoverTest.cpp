// The hand-over rule, on the cases bridge/stream/handover.py's tests pin.
#include <gtest/gtest.h>

#include "WorldBridgeCore/Handover.h"

using namespace WorldBridge;

namespace {
std::set<TileKey> withChildren(const TileKey& parent, int howMany) {
  std::set<TileKey> held{parent};
  const auto children = parent.children();
  for (int i = 0; i < howMany; ++i) held.insert(children[i]);
  return held;
}
}  // namespace

TEST(Handover, NothingHeldDrawsNothing) { EXPECT_TRUE(tilesToDraw({}).empty()); }

TEST(Handover, AParentStaysUntilItsLastChildArrives) {
  const TileKey parent{1, 0, 0};
  for (int n = 0; n < 4; ++n) EXPECT_EQ(tilesToDraw(withChildren(parent, n)), std::set<TileKey>{parent}) << n;
  const auto children = parent.children();
  EXPECT_EQ(tilesToDraw(withChildren(parent, 4)), std::set<TileKey>(children.begin(), children.end()));
}

TEST(Handover, CoverageCountsGrandchildren) {
  // A LOD-2 tile whose area is covered by three LOD-1 children and the four LOD-0 children of the
  // fourth gives way to all of them.
  const TileKey top{2, -1, 3};
  std::set<TileKey> held{top};
  const auto children = top.children();
  for (int i = 0; i < 3; ++i) held.insert(children[i]);
  for (const TileKey& g : children[3].children()) held.insert(g);
  std::set<TileKey> expected(children.begin(), children.begin() + 3);
  for (const TileKey& g : children[3].children()) expected.insert(g);
  EXPECT_EQ(tilesToDraw(held), expected);
}

TEST(Handover, ATileUnderADrawnAncestorIsNotDrawn) {
  const TileKey top{3, 0, -1};
  const TileKey deep = TileKey{0, 5, -3};
  ASSERT_EQ(deep.ancestor(3), top);
  EXPECT_EQ(tilesToDraw({top, deep}), std::set<TileKey>{top});
}

TEST(Handover, NegativeIndicesFindTheirParentsByFloorDivision) {
  EXPECT_EQ((TileKey{0, -1, -1}.parent()), (TileKey{1, -1, -1}));
  EXPECT_EQ((TileKey{0, -2, 1}.parent()), (TileKey{1, -1, 0}));
  const TileKey parent{1, -1, -1};
  const auto children = parent.children();
  EXPECT_EQ(tilesToDraw(withChildren(parent, 4)), std::set<TileKey>(children.begin(), children.end()));
}

TEST(Handover, SeparateTilesAreAllDrawn) {
  const std::set<TileKey> held{{0, 0, 0}, {0, 5, 5}, {2, 10, 10}};
  EXPECT_EQ(tilesToDraw(held), held);
}
