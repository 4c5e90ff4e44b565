// The engine's services, passed into the core as interfaces (as cesium-native's externals): the
// Unreal module implements them with UE_LOG, FRunnableThread / Async and AsyncTask to the game
// thread; the command-line program with stderr and std::thread. The core calls no engine API.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "WorldBridgeCore/DecodedTile.h"
#include "WorldBridgeCore/SessionEvents.h"

namespace WorldBridge {

enum class LogLevel { Debug, Info, Warning, Error };

class ILogger {
 public:
  virtual ~ILogger() = default;
  /// Called from any thread.
  virtual void log(LogLevel level, const std::string& message) = 0;
};

class ITaskRunner {
 public:
  virtual ~ITaskRunner() = default;
  /// Run `work` on a thread of its own: it blocks (network I/O) until the session stops, so it
  /// must not take a worker from a shared pool. The runner joins it before it is destroyed.
  virtual void startLongTask(const std::string& name, std::function<void()> work) = 0;
};

/// What the session tells the engine. Called on the session's network thread, one call at a
/// time: an engine posts the work to its game thread (Unreal: AsyncTask(ENamedThreads::GameThread)).
class ITileSink {
 public:
  virtual ~ITileSink() = default;
  virtual void onHello(const SessionHello& hello) = 0;
  /// After every tile and unload: the hand-over rule's draw set changed by this much.
  virtual void onDrawChange(const DrawChange& change) = 0;
  /// A held tile's content is out of date; its replacement arrives through onDrawChange.
  virtual void onTileChanged(const TileChange& change) = 0;
  virtual void onProgress(const SessionProgress& progress) = 0;
  /// A StreamError event, or a tile that could not be decoded: the stream goes on.
  virtual void onError(const SessionError& error) = 0;
  virtual void onConnection(ConnectionState state, const std::string& detail) = 0;
};

struct Externals {
  std::shared_ptr<ILogger> logger;
  std::shared_ptr<ITaskRunner> taskRunner;
  std::shared_ptr<ITileSink> sink;
};

}  // namespace WorldBridge
