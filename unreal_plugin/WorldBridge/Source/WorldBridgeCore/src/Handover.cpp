#include "WorldBridgeCore/Handover.h"

#include <algorithm>
#include <functional>
#include <map>
#include <vector>

namespace WorldBridge {

std::set<TileKey> tilesToDraw(const std::set<TileKey>& held) {
  std::set<TileKey> drawn;
  if (held.empty()) return drawn;
  uint32_t lowest = held.begin()->lod, top = held.begin()->lod;
  for (const TileKey& k : held) {
    lowest = std::min(lowest, k.lod);
    top = std::max(top, k.lod);
  }
  std::map<TileKey, bool> covered;
  // Is the key's whole area held at finer LODs (itself not counted)?
  std::function<bool(const TileKey&)> isCovered = [&](const TileKey& key) -> bool {
    if (key.lod <= lowest) return false;
    const auto known = covered.find(key);
    if (known != covered.end()) return known->second;
    bool all = true;
    for (const TileKey& child : key.children())
      if (!(held.count(child) || isCovered(child))) {
        all = false;
        break;
      }
    covered[key] = all;
    return all;
  };
  // Coarse to fine: a tile's ancestors are decided before it.
  std::vector<TileKey> order(held.begin(), held.end());
  std::stable_sort(order.begin(), order.end(), [](const TileKey& a, const TileKey& b) { return a.lod > b.lod; });
  for (const TileKey& key : order) {
    if (isCovered(key)) continue;
    bool ancestorDrawn = false;
    for (uint32_t lod = key.lod + 1; lod <= top && !ancestorDrawn; ++lod) ancestorDrawn = drawn.count(key.ancestor(lod));
    if (!ancestorDrawn) drawn.insert(key);
  }
  return drawn;
}

}  // namespace WorldBridge
