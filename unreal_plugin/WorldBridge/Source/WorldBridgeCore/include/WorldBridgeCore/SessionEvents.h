// Plain values the session reports to the engine (no gRPC types cross this line).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "WorldBridgeCore/DecodedTile.h"
#include "WorldBridgeCore/TileFormat.h"
#include "WorldBridgeCore/TileKey.h"

namespace WorldBridge {

struct SessionHello {
  uint32_t protocolVersion = 0;
  std::string serverVersion, generator, generatorVersion, sessionId;
  std::vector<TileFormat> formats;  // what the server can send, preferred first
  bool resumed = false;
  uint32_t resumedTiles = 0;
  uint64_t maxChunkBytes = 0, maxBytesInFlight = 0;
  double heartbeatIntervalS = 0, maxViewRadiusM = 0;
  uint32_t maxHeldTiles = 0;
};

struct SessionProgress {
  uint32_t tilesWanted = 0, tilesSent = 0, tilesPending = 0;
  uint64_t bytesSent = 0;
  uint64_t sequence = 0;  // the highest view update sequence the server has applied
};

struct SessionError {
  int32_t code = 0;  // a google.rpc.Code value
  std::string message;
};

/// The draw set's change: draw `show` (new, or new content for a key already drawn), stop drawing
/// `hide`. Drawn tiles never overlap (the hand-over rule).
struct DrawChange {
  std::vector<std::shared_ptr<const DecodedTile>> show;
  std::vector<TileKey> hide;
  /// The tile whose arrival (or unload) caused the change; for a new tile, also in `received`.
  std::shared_ptr<const DecodedTile> received;
};

/// A tile the viewer holds changed on the server (a directive was applied or reverted over it).
/// Its new bytes follow as a tile (a DrawChange with the new content); until they arrive the old
/// content stays drawn, and an unload before then drops it for good.
struct TileChange {
  TileKey key;
  uint64_t directiveVersion = 0;  // the world's directive version that changed it
};

enum class ConnectionState { Connecting, Connected, Reconnecting, Failed, Stopped };

}  // namespace WorldBridge
