#include "WorldBridgeCore/TileCache.h"

namespace WorldBridge {

void TileCache::erase(const TileKey& key) {
  const auto it = entries_.find(key);
  if (it == entries_.end()) return;
  const size_t size = it->second.tile->memoryBytes();
  bytes_ -= size;
  if (it->second.pinned)
    pinnedBytes_ -= size;
  else
    unpinned_.erase(it->second.lru);
  entries_.erase(it);
}

void TileCache::put(std::shared_ptr<const DecodedTile> tile) {
  erase(tile->key);
  const size_t size = tile->memoryBytes();
  const TileKey key = tile->key;
  entries_[key] = Entry{std::move(tile), true, unpinned_.end()};
  bytes_ += size;
  pinnedBytes_ += size;
  evictToBudget();
}

void TileCache::unpin(const TileKey& key) {
  const auto it = entries_.find(key);
  if (it == entries_.end() || !it->second.pinned) return;
  it->second.pinned = false;
  pinnedBytes_ -= it->second.tile->memoryBytes();
  it->second.lru = unpinned_.insert(unpinned_.end(), key);
  evictToBudget();
}

void TileCache::evictToBudget() {
  while (bytes_ > budgetBytes_ && !unpinned_.empty()) erase(unpinned_.front());
}

std::shared_ptr<const DecodedTile> TileCache::find(const TileKey& key) const {
  const auto it = entries_.find(key);
  return it == entries_.end() ? nullptr : it->second.tile;
}

bool TileCache::isPinned(const TileKey& key) const {
  const auto it = entries_.find(key);
  return it != entries_.end() && it->second.pinned;
}

std::vector<std::shared_ptr<const DecodedTile>> TileCache::pinned() const {
  std::vector<std::shared_ptr<const DecodedTile>> out;
  for (const auto& [key, entry] : entries_)
    if (entry.pinned) out.push_back(entry.tile);
  return out;
}

std::vector<TileKey> TileCache::pinnedKeys() const {
  std::vector<TileKey> out;
  for (const auto& [key, entry] : entries_)
    if (entry.pinned) out.push_back(key);
  return out;
}

}  // namespace WorldBridge
