// Joins a tile's chunks (gRPC TileChunk: key, format, sha256, total, offset, data, last) into its
// bytes and checks them against the content hash. Chunks of one tile arrive in order.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "WorldBridgeCore/TileFormat.h"
#include "WorldBridgeCore/TileKey.h"

namespace WorldBridge {

struct TileChunkView {
  TileKey key;
  TileFormat format;
  std::string sha256;  // hex
  uint64_t totalBytes = 0;
  uint64_t offset = 0;
  const uint8_t* data = nullptr;
  size_t size = 0;
  bool last = false;
};

struct AssembledTile {
  TileKey key;
  TileFormat format;
  std::string sha256;
  std::vector<uint8_t> bytes;
};

/// A chunk out of order, a tile over the size limit, or bytes that do not hash to their name.
class ChunkError : public std::runtime_error {
 public:
  explicit ChunkError(const std::string& why) : std::runtime_error(why) {}
};

class ChunkAssembler {
 public:
  /// `maxTileBytes`: a larger total is refused before anything is allocated.
  explicit ChunkAssembler(uint64_t maxTileBytes = uint64_t{256} << 20) : maxTileBytes_(maxTileBytes) {}
  /// The whole tile when `chunk` completes it; ChunkError (and the partial tile dropped) on a fault.
  std::optional<AssembledTile> add(const TileChunkView& chunk);
  size_t partialTiles() const { return parts_.size(); }

 private:
  uint64_t maxTileBytes_;
  std::map<std::pair<TileKey, int>, AssembledTile> parts_;
};

}  // namespace WorldBridge
