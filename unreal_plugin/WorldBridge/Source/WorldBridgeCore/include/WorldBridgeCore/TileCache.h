// Decoded tiles under a memory budget. A tile the server counts as held is pinned (never evicted:
// the server's unload is what releases it). An unloaded tile stays, unpinned, until the budget
// needs its bytes (least recently used first): a tile the server sends again with the same content
// hash (the viewer came back) is taken from here instead of decoded again. Not thread-safe: one owner.
#pragma once

#include <cstddef>
#include <list>
#include <memory>
#include <unordered_map>
#include <vector>

#include "WorldBridgeCore/DecodedTile.h"

namespace WorldBridge {

class TileCache {
 public:
  /// `budgetBytes`: decoded bytes kept at most, pinned tiles excepted (they are never dropped).
  explicit TileCache(size_t budgetBytes) : budgetBytes_(budgetBytes) {}

  /// Holds `tile` pinned, replacing any tile of its key.
  void put(std::shared_ptr<const DecodedTile> tile);
  /// The server unloaded `key`: keep it while the budget allows.
  void unpin(const TileKey& key);
  /// Forget `key` at once, pinned or not (its content is out of date).
  void remove(const TileKey& key) { erase(key); }
  /// The tile under `key`, pinned or not; null when absent.
  std::shared_ptr<const DecodedTile> find(const TileKey& key) const;
  bool isPinned(const TileKey& key) const;
  /// The pinned tiles (what a reconnect declares held).
  std::vector<std::shared_ptr<const DecodedTile>> pinned() const;
  std::vector<TileKey> pinnedKeys() const;

  size_t bytes() const { return bytes_; }
  size_t pinnedBytes() const { return pinnedBytes_; }
  size_t budgetBytes() const { return budgetBytes_; }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    std::shared_ptr<const DecodedTile> tile;
    bool pinned = true;
    std::list<TileKey>::iterator lru;  // in unpinned_ when not pinned
  };
  void erase(const TileKey& key);
  void evictToBudget();

  size_t budgetBytes_;
  size_t bytes_ = 0;
  size_t pinnedBytes_ = 0;
  std::unordered_map<TileKey, Entry, TileKeyHash> entries_;
  std::list<TileKey> unpinned_;  // least recently unloaded first
};

}  // namespace WorldBridge
