// One viewer's StreamTiles session: sends the view (coalesced) and acks, receives tiles, decodes
// them into the cache, applies unloads and the LOD hand-over rule, reports to the engine's sink,
// and on a lost connection reconnects with backoff and resumes (session id + held tiles). A held
// tile a directive changed is marked stale on the server's changed event and replaced when its
// new bytes arrive (dropped for good if unloaded first).
//
// Threads: the network loop and the writer run on two long tasks from the engine's task runner;
// updateView and stop may be called from any thread (the game thread) and never block on I/O.
#pragma once

#include <memory>
#include <vector>

#include "WorldBridgeCore/Externals.h"
#include "WorldBridgeCore/SessionOptions.h"
#include "WorldBridgeCore/ViewState.h"

namespace WorldBridge {

struct SessionStats {
  uint64_t tilesReceived = 0;
  uint64_t bytesReceived = 0;
  uint64_t unloads = 0;
  uint64_t reconnects = 0;   // streams opened after the first
  uint64_t resumedStreams = 0;  // hellos that said resumed = true
  uint64_t resumedTiles = 0;    // tiles the hellos counted as held from the start
  uint64_t resentTiles = 0;  // tiles that arrived while the same content was held (a resume should avoid them)
  uint64_t decodeErrors = 0;
  uint64_t tilesChanged = 0;    // changed events for held tiles (a directive over them)
  uint64_t changesReplaced = 0;  // of those, tiles whose new content has arrived and replaced the old
  size_t heldTiles = 0;
  size_t staleTiles = 0;  // held tiles announced as changed whose new content has not arrived
  size_t cacheBytes = 0;
};

class StreamSession {
 public:
  StreamSession(SessionOptions options, Externals externals);
  ~StreamSession();  // stops and waits for the network tasks
  StreamSession(const StreamSession&) = delete;
  StreamSession& operator=(const StreamSession&) = delete;

  /// Connect (the first update waits for a view).
  void start();
  /// The viewer's latest view; returns the sequence that StreamProgress.sequence echoes once
  /// the server has applied it (or a later one).
  uint64_t updateView(const ViewState& view);
  /// Close the stream and stop reconnecting. Idempotent.
  void stop();
  /// Cut the current connection as a network fault would (the session reconnects and resumes).
  void dropConnection();

  SessionStats stats() const;
  /// The tiles the server counts as held (received, not unloaded).
  std::vector<TileKey> heldKeys() const;
  /// A held or cached tile; null when absent.
  std::shared_ptr<const DecodedTile> tile(const TileKey& key) const;

 private:
  class Impl;
  std::shared_ptr<Impl> impl_;
};

}  // namespace WorldBridge
