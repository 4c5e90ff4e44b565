// What the viewer has to say next, coalesced: the latest view (at most `maxViewsPerSecond`; a view
// superseded before it was sent is never sent), acks as soon as there are any, and on a new stream
// the first update (world, budget, resume). Pure logic over a clock passed in, so it is tested
// without a network; the session turns an OutgoingUpdate into a ViewerUpdate.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "WorldBridgeCore/TileFormat.h"
#include "WorldBridgeCore/TileKey.h"
#include "WorldBridgeCore/ViewState.h"

namespace WorldBridge {

struct HeldTileRef {
  TileKey key;
  TileFormat format;
  std::string sha256;  // hex
};

struct OutgoingUpdate {
  bool first = false;  // carries world id, budget, max chunk bytes and the resume fields
  std::optional<ViewState> view;
  uint64_t sequence = 0;  // of the view; 0 when none
  std::vector<TileKey> acks;
  std::string resumeSessionId;      // first update only
  std::vector<HeldTileRef> held;    // first update only
};

class UpdateOutbox {
 public:
  using Clock = std::chrono::steady_clock;

  explicit UpdateOutbox(double maxViewsPerSecond) : interval_(std::chrono::duration_cast<Clock::duration>(
                                                         std::chrono::duration<double>(1.0 / maxViewsPerSecond))) {}

  /// The newest view replaces any not yet sent; returns the sequence it will carry.
  uint64_t setView(const ViewState& view);
  void addAck(const TileKey& key);
  /// A new stream opened: its first update must go before anything else; acks meant for the old
  /// stream are dropped (the resume fields tell the server what is held).
  void beginStream(std::string resumeSessionId, std::vector<HeldTileRef> held);
  /// When take() will next have something (nothing: no deadline, wait for a call above).
  std::optional<Clock::time_point> readyAt() const;
  /// The update due at `now`, if any.
  std::optional<OutgoingUpdate> take(Clock::time_point now);

  bool hasView() const { return latest_.has_value(); }
  uint64_t lastSequence() const { return sequence_; }

 private:
  Clock::duration interval_;
  std::optional<ViewState> latest_;
  bool viewPending_ = false;
  uint64_t sequence_ = 0;
  std::vector<TileKey> acks_;
  bool firstPending_ = false;
  std::string resumeSessionId_;
  std::vector<HeldTileRef> held_;
  std::optional<Clock::time_point> lastViewSent_;
};

}  // namespace WorldBridge
