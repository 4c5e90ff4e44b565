// The unary calls an engine needs besides the stream: a world's facts (its spawn camera, its tile
// size) and its list, and steering it with directives (docs/directives.md). Blocking: call them
// off the game thread.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "WorldBridgeCore/ChunkAssembler.h"
#include "WorldBridgeCore/Frame.h"
#include "WorldBridgeCore/TileFormat.h"
#include "WorldBridgeCore/TileKey.h"

namespace WorldBridge {

struct WorldInfo {
  std::string id, name, generator, generatorVersion;
  double baseTileM = 32;      // edge of a LOD-0 tile, metres
  Vec3d spawnPosition;        // the photo's camera, glTF frame, metres
  Vec3d spawnForward{0, 0, -1};
  double spawnVerticalFovDeg = 60;
  uint32_t photoWidth = 0, photoHeight = 0;
};

/// What an applied or reverted directive did (DirectiveResult).
struct DirectiveResult {
  uint64_t version = 0;      // the world's directive version after it
  uint64_t directiveId = 0;  // the directive's id (the version that applied it)
  uint32_t touchedTiles = 0;
  std::vector<std::string> notes;  // e.g. pinned tiles it left as they were
};

/// A call refused by the server or the network: the gRPC status code and its message.
class RpcError : public std::runtime_error {
 public:
  RpcError(int code, const std::string& message) : std::runtime_error(message), code(code) {}
  int code;
};

class WorldClient {
 public:
  WorldClient(const std::string& target, std::string token, int timeoutMs = 30000);
  ~WorldClient();
  WorldInfo getWorld(const std::string& worldId);
  std::vector<WorldInfo> listWorlds(uint32_t pageSize = 50);
  /// One tile's bytes by key and format (GetTile), joined and checked against their sha256
  /// (ChunkError when damaged).
  AssembledTile getTile(const std::string& worldId, const TileKey& key, TileFormat format);
  /// Apply a directive in its JSON form; every stream on the world hears of the tiles it changed.
  /// RpcError INVALID_ARGUMENT with the server's reason when refused (nothing changes).
  DirectiveResult applyDirective(const std::string& worldId, const std::string& directiveJson);
  /// Undo a directive in effect (a new version; its tiles return to their earlier bytes).
  DirectiveResult revertDirective(const std::string& worldId, uint64_t directiveId);
  /// Make (or find) the world of a photo's bytes (PNG, JPEG or WebP).
  WorldInfo createWorld(const std::vector<uint8_t>& photo, const std::string& name = "");

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace WorldBridge
