#include "WorldBridgeCore/ChunkAssembler.h"

#include <cstring>

#include "WorldBridgeCore/Sha256.h"

namespace WorldBridge {

std::optional<AssembledTile> ChunkAssembler::add(const TileChunkView& chunk) {
  const auto slot = std::make_pair(chunk.key, static_cast<int>(chunk.format));
  const std::string where = "tile " + chunk.key.toString() + " (" + std::string(formatName(chunk.format)) + ")";
  auto it = parts_.find(slot);
  if (chunk.offset == 0) {
    // A tile's first chunk (a tile sent again replaces a partial one).
    if (chunk.totalBytes > maxTileBytes_)
      throw ChunkError(where + " claims " + std::to_string(chunk.totalBytes) + " bytes, over the limit of " +
                       std::to_string(maxTileBytes_));
    AssembledTile fresh{chunk.key, chunk.format, chunk.sha256, {}};
    fresh.bytes.reserve(chunk.totalBytes);
    it = parts_.insert_or_assign(slot, std::move(fresh)).first;
  } else if (it == parts_.end()) {
    throw ChunkError(where + ": a chunk at offset " + std::to_string(chunk.offset) + " came without its start");
  }
  AssembledTile& tile = it->second;
  const uint64_t filled = tile.bytes.size();
  if (chunk.offset != filled || chunk.size > chunk.totalBytes - std::min<uint64_t>(chunk.totalBytes, filled) ||
      chunk.sha256 != tile.sha256) {
    parts_.erase(it);
    throw ChunkError(where + ": chunk at offset " + std::to_string(chunk.offset) + " does not continue the " +
                     std::to_string(filled) + " bytes received");
  }
  tile.bytes.insert(tile.bytes.end(), chunk.data, chunk.data + chunk.size);
  if (!chunk.last) return std::nullopt;
  AssembledTile done = std::move(tile);
  parts_.erase(it);
  if (done.bytes.size() != chunk.totalBytes)
    throw ChunkError(where + " ended at " + std::to_string(done.bytes.size()) + " of its " +
                     std::to_string(chunk.totalBytes) + " bytes");
  const std::string actual = Sha256::hex(Sha256::digest(done.bytes.data(), done.bytes.size()));
  if (actual != done.sha256) throw ChunkError(where + " arrived damaged: its bytes do not hash to " + done.sha256);
  return done;
}

}  // namespace WorldBridge
