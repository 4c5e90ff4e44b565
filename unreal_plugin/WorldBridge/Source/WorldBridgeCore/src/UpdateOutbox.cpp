#include "WorldBridgeCore/UpdateOutbox.h"

namespace WorldBridge {

uint64_t UpdateOutbox::setView(const ViewState& view) {
  latest_ = view;
  viewPending_ = true;
  return ++sequence_;
}

void UpdateOutbox::addAck(const TileKey& key) { acks_.push_back(key); }

void UpdateOutbox::beginStream(std::string resumeSessionId, std::vector<HeldTileRef> held) {
  firstPending_ = true;
  resumeSessionId_ = std::move(resumeSessionId);
  held_ = std::move(held);
  acks_.clear();
  lastViewSent_.reset();
}

std::optional<UpdateOutbox::Clock::time_point> UpdateOutbox::readyAt() const {
  if (firstPending_) {
    // The first update must carry a position: wait for a view.
    if (!latest_) return std::nullopt;
    return Clock::time_point::min();
  }
  if (!acks_.empty()) return Clock::time_point::min();
  if (!viewPending_) return std::nullopt;
  if (!lastViewSent_) return Clock::time_point::min();
  return *lastViewSent_ + interval_;
}

std::optional<OutgoingUpdate> UpdateOutbox::take(Clock::time_point now) {
  const auto due = readyAt();
  if (!due || *due > now) {
    // Acks never wait for the view's rate (readyAt says min() for them), so nothing is due.
    return std::nullopt;
  }
  OutgoingUpdate out;
  if (firstPending_) {
    out.first = true;
    out.resumeSessionId = std::move(resumeSessionId_);
    out.held = std::move(held_);
    firstPending_ = false;
  }
  const bool viewDue = viewPending_ && (out.first || !lastViewSent_ || *lastViewSent_ + interval_ <= now);
  if (out.first || viewDue) {
    out.view = latest_;
    out.sequence = sequence_;
    viewPending_ = false;
    lastViewSent_ = now;
  }
  out.acks.swap(acks_);
  return out;
}

}  // namespace WorldBridge
