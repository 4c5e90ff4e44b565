// How a session connects and what it asks for. Defaults are the protocol's advice
// (docs/protocol.md): keepalive pings every 10 s, at most 10 view updates a second.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "WorldBridgeCore/Backoff.h"
#include "WorldBridgeCore/TileFormat.h"

namespace WorldBridge {

struct SessionOptions {
  std::string target;  // "host:port" of the gRPC server
  std::string worldId;
  std::string token;   // sent as `authorization: Bearer <token>` when not empty
  /// Formats the engine draws, preferred first: every tile comes in the first the server can make.
  std::vector<TileFormat> formats{TileFormat::SplatTextures, TileFormat::Stream, TileFormat::Spz};
  double viewRadiusM = 0;          // metres; 0 keeps the server's default (256)
  uint64_t maxBytesInFlight = 0;   // 0 keeps the server's default (16 MiB)
  /// Decoded tiles kept (bytes). The server is asked to keep the held splats within it
  /// (Budget.max_resident_splats = this / 56 bytes a decoded splat).
  uint64_t cacheBudgetBytes = uint64_t{1} << 30;
  uint32_t maxChunkBytes = 0;      // 0: the server's default (1 MiB over gRPC)
  double maxViewsPerSecond = 10;   // view updates are coalesced to this rate
  int keepaliveTimeMs = 10000;     // GRPC_ARG_KEEPALIVE_TIME_MS; the server permits >= 5 s
  int keepaliveTimeoutMs = 10000;  // GRPC_ARG_KEEPALIVE_TIMEOUT_MS
  BackoffOptions backoff;
  /// Reconnect attempts in a row before giving up (Failed); negative: forever.
  int maxReconnectAttempts = -1;
};

}  // namespace WorldBridge
