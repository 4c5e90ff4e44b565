#include "WorldBridgeCore/StreamSession.h"

#include <condition_variable>
#include <map>
#include <mutex>
#include <set>

#include "Channel.h"
#include "WorldBridgeCore/ChunkAssembler.h"
#include "WorldBridgeCore/DecodeError.h"
#include "WorldBridgeCore/Handover.h"
#include "WorldBridgeCore/TileCache.h"
#include "WorldBridgeCore/UpdateOutbox.h"
#include "worldbridge/v1/world_service.grpc.pb.h"

namespace WorldBridge {
namespace pb = ::worldbridge::v1;
using Stream = grpc::ClientReaderWriter<pb::ViewerUpdate, pb::TileEvent>;

namespace {
constexpr uint64_t kBytesPerDecodedSplat = 14 * sizeof(float);

// Statuses a retry cannot fix: the request itself is wrong or not allowed.
bool isFatal(grpc::StatusCode code) {
  return code == grpc::StatusCode::INVALID_ARGUMENT || code == grpc::StatusCode::NOT_FOUND ||
         code == grpc::StatusCode::UNAUTHENTICATED || code == grpc::StatusCode::PERMISSION_DENIED ||
         code == grpc::StatusCode::UNIMPLEMENTED;
}

void setVec(pb::Vec3* out, const Vec3d& v) {
  out->set_x(v.x);
  out->set_y(v.y);
  out->set_z(v.z);
}

void setKey(pb::TileKey* out, const TileKey& k) {
  out->set_lod(k.lod);
  out->set_ix(k.ix);
  out->set_iz(k.iz);
}

TileKey keyOf(const pb::TileKey& k) { return {k.lod(), k.ix(), k.iz()}; }

SessionHello helloOf(const pb::StreamHello& h) {
  SessionHello out;
  out.protocolVersion = h.protocol_version();
  out.serverVersion = h.server_version();
  out.generator = h.generator();
  out.generatorVersion = h.generator_version();
  out.sessionId = h.session_id();
  for (int f : h.formats()) out.formats.push_back(static_cast<TileFormat>(f));
  out.resumed = h.resumed();
  out.resumedTiles = h.resumed_tiles();
  out.maxChunkBytes = h.limits().max_chunk_bytes();
  out.maxBytesInFlight = h.limits().max_bytes_in_flight();
  out.heartbeatIntervalS = h.limits().heartbeat_interval_s();
  out.maxViewRadiusM = h.limits().max_view_radius_m();
  out.maxHeldTiles = h.limits().max_held_tiles();
  return out;
}
}  // namespace

class StreamSession::Impl {
 public:
  Impl(SessionOptions options, Externals externals)
      : options_(std::move(options)),
        ext_(std::move(externals)),
        outbox_(options_.maxViewsPerSecond),
        cache_(options_.cacheBudgetBytes),
        backoff_(options_.backoff) {
    ChannelSettings settings;
    settings.keepaliveTimeMs = options_.keepaliveTimeMs;
    settings.keepaliveTimeoutMs = options_.keepaliveTimeoutMs;
    channel_ = makeChannel(options_.target, settings);
    stub_ = pb::WorldService::NewStub(channel_);
  }

  void start(const std::shared_ptr<Impl>& self) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (started_) return;
      started_ = true;
      runningTasks_ = 2;
    }
    ext_.taskRunner->startLongTask("WorldBridge stream reader", [self] { self->taskDone(&Impl::readerLoop); });
    ext_.taskRunner->startLongTask("WorldBridge stream writer", [self] { self->taskDone(&Impl::writerLoop); });
  }

  uint64_t updateView(const ViewState& view) {
    std::lock_guard<std::mutex> lock(mu_);
    const uint64_t sequence = outbox_.setView(view);
    cv_.notify_all();
    return sequence;
  }

  void stop() {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
    if (context_) context_->TryCancel();
    cv_.notify_all();
  }

  void waitForTasks() {
    std::unique_lock<std::mutex> lock(mu_);
    cv_.wait(lock, [&] { return runningTasks_ == 0; });
  }

  void dropConnection() {
    std::lock_guard<std::mutex> lock(mu_);
    if (context_) context_->TryCancel();
  }

  SessionStats stats() const {
    std::lock_guard<std::mutex> lock(mu_);
    SessionStats out = stats_;
    out.heldTiles = held_.size();
    out.staleTiles = stale_.size();
    out.cacheBytes = cache_.bytes();
    return out;
  }

  std::shared_ptr<const DecodedTile> tile(const TileKey& key) const {
    std::lock_guard<std::mutex> lock(mu_);
    return cache_.find(key);
  }

  std::vector<TileKey> heldKeys() const {
    std::lock_guard<std::mutex> lock(mu_);
    return {held_.begin(), held_.end()};
  }

 private:
  void taskDone(void (Impl::*loop)()) {
    (this->*loop)();
    std::lock_guard<std::mutex> lock(mu_);
    --runningTasks_;
    cv_.notify_all();
  }

  void log(LogLevel level, const std::string& message) {
    if (ext_.logger) ext_.logger->log(level, message);
  }

  std::vector<HeldTileRef> heldRefs(size_t limit) const {
    std::vector<HeldTileRef> out;
    for (const auto& tile : cache_.pinned()) {
      if (out.size() >= limit) break;
      out.push_back({tile->key, tile->format, tile->sha256});
    }
    return out;
  }

  // The network loop: one stream after another until stopped or refused for good.
  void readerLoop() {
    bool first = true;
    while (true) {
      ext_.sink->onConnection(first ? ConnectionState::Connecting : ConnectionState::Reconnecting, options_.target);
      auto context = std::make_shared<grpc::ClientContext>();
      addToken(*context, options_.token);
      std::shared_ptr<Stream> stream(stub_->StreamTiles(context.get()));
      {
        std::lock_guard<std::mutex> lock(mu_);
        if (stopping_) context->TryCancel();
        context_ = context;
        stream_ = stream;
        streamOpen_ = true;
        if (!first) ++stats_.reconnects;
        outbox_.beginStream(sessionId_, heldRefs(maxHeldTiles_));
        cv_.notify_all();
      }
      first = false;
      readEvents(*stream);
      {
        // Finish only once the writer has left Write (a finished call fails writes at once).
        std::unique_lock<std::mutex> lock(mu_);
        streamOpen_ = false;
        cv_.wait(lock, [&] { return !writing_; });
        stream_.reset();
      }
      const grpc::Status status = stream->Finish();
      {
        std::lock_guard<std::mutex> lock(mu_);
        context_.reset();
        if (stopping_) break;
      }
      const std::string why = status.error_message() + " (gRPC status " + std::to_string(status.error_code()) + ")";
      if (isFatal(status.error_code())) {
        log(LogLevel::Error, "the server refused the stream: " + why);
        ext_.sink->onConnection(ConnectionState::Failed, why);
        return;
      }
      if (options_.maxReconnectAttempts >= 0 && backoff_.attempts() >= options_.maxReconnectAttempts) {
        ext_.sink->onConnection(ConnectionState::Failed, "gave up reconnecting: " + why);
        return;
      }
      const auto delay = backoff_.next();
      log(LogLevel::Warning, "stream ended: " + why + "; reconnecting in " + std::to_string(delay.count()) + " ms");
      std::unique_lock<std::mutex> lock(mu_);
      if (cv_.wait_for(lock, delay, [&] { return stopping_; })) break;
    }
    ext_.sink->onConnection(ConnectionState::Stopped, "");
  }

  void readEvents(Stream& stream) {
    ChunkAssembler assembler;
    pb::TileEvent event;
    while (stream.Read(&event)) {
      switch (event.event_case()) {
        case pb::TileEvent::kHello: {
          const SessionHello hello = helloOf(event.hello());
          {
            std::lock_guard<std::mutex> lock(mu_);
            sessionId_ = hello.sessionId;
            if (hello.resumed) ++stats_.resumedStreams;
            stats_.resumedTiles += hello.resumedTiles;
            if (hello.maxHeldTiles) maxHeldTiles_ = hello.maxHeldTiles;
            backoff_.reset();
          }
          ext_.sink->onConnection(ConnectionState::Connected, hello.sessionId);
          ext_.sink->onHello(hello);
          break;
        }
        case pb::TileEvent::kTile: {
          const pb::TileChunk& c = event.tile();
          const TileChunkView view{keyOf(c.key()), static_cast<TileFormat>(c.format()), c.content_sha256(),
                                   c.total_bytes(), c.offset(), reinterpret_cast<const uint8_t*>(c.data().data()),
                                   c.data().size(), c.last()};
          try {
            if (auto tile = assembler.add(view)) receiveTile(std::move(*tile));
          } catch (const ChunkError& e) {
            log(LogLevel::Error, e.what());
            ext_.sink->onError({13, e.what()});
          }
          break;
        }
        case pb::TileEvent::kChanged:
          tileChanged({keyOf(event.changed().key()), event.changed().directive_version()});
          break;
        case pb::TileEvent::kUnload:
          unloadTile(keyOf(event.unload().key()));
          break;
        case pb::TileEvent::kProgress: {
          const pb::StreamProgress& p = event.progress();
          ext_.sink->onProgress({p.tiles_wanted(), p.tiles_sent(), p.tiles_pending(), p.bytes_sent(), p.sequence()});
          break;
        }
        case pb::TileEvent::kError:
          log(LogLevel::Warning, "server: " + event.error().message());
          ext_.sink->onError({event.error().code(), event.error().message()});
          break;
        default:  // heartbeats, and events a newer server may add
          break;
      }
    }
  }

  void receiveTile(AssembledTile assembled) {
    std::shared_ptr<const DecodedTile> tile;
    {
      // The same content under the same key (a tile sent again) is decoded once.
      std::lock_guard<std::mutex> lock(mu_);
      stats_.tilesReceived++;
      stats_.bytesReceived += assembled.bytes.size();
      auto cached = cache_.find(assembled.key);
      if (cached && cached->sha256 == assembled.sha256 && cached->format == assembled.format) {
        tile = cached;
        // A changed tile may come back with the content held (a revert before its new bytes went).
        if (held_.count(assembled.key) && !stale_.count(assembled.key)) ++stats_.resentTiles;
      }
    }
    if (!tile) {
      try {
        tile = std::make_shared<const DecodedTile>(decodeTile(assembled.key, assembled.format, assembled.sha256,
                                                              assembled.bytes.data(), assembled.bytes.size()));
      } catch (const DecodeError& e) {
        const std::string why = "tile " + assembled.key.toString() + " could not be decoded: " + e.what();
        log(LogLevel::Error, why);
        {
          std::lock_guard<std::mutex> lock(mu_);
          stats_.decodeErrors++;
          // Acked all the same: an unacked tile would hold the stream's byte budget forever.
          outbox_.addAck(assembled.key);
          cv_.notify_all();
        }
        ext_.sink->onError({13, why});
        return;
      }
    }
    DrawChange change;
    {
      std::lock_guard<std::mutex> lock(mu_);
      cache_.put(tile);  // the stale content of a changed tile goes here
      held_.insert(tile->key);
      if (stale_.erase(tile->key)) ++stats_.changesReplaced;
      outbox_.addAck(tile->key);
      cv_.notify_all();
      change = drawChange();
    }
    change.received = tile;
    ext_.sink->onDrawChange(change);
  }

  // Marks a held tile stale: it stays drawn until its new content replaces it.
  void tileChanged(const TileChange& change) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (!held_.count(change.key)) return;  // crossed our ack of its unload: nothing held to replace
      stale_.insert(change.key);
      ++stats_.tilesChanged;
    }
    ext_.sink->onTileChanged(change);
  }

  void unloadTile(const TileKey& key) {
    DrawChange change;
    {
      std::lock_guard<std::mutex> lock(mu_);
      stats_.unloads++;
      held_.erase(key);
      // Out-of-date content is not kept for a later visit: the server would send the new bytes.
      if (stale_.erase(key))
        cache_.remove(key);
      else
        cache_.unpin(key);
      change = drawChange();
    }
    ext_.sink->onDrawChange(change);
  }

  // The hand-over rule over the held set, as a difference from what was drawn. Under mu_.
  DrawChange drawChange() {
    const std::set<TileKey> drawn = tilesToDraw(held_);
    DrawChange change;
    for (auto it = drawnSha_.begin(); it != drawnSha_.end();) {
      if (drawn.count(it->first)) {
        ++it;
        continue;
      }
      change.hide.push_back(it->first);
      it = drawnSha_.erase(it);
    }
    for (const TileKey& key : drawn) {
      auto tile = cache_.find(key);
      auto& sha = drawnSha_[key];
      if (sha != tile->sha256) {
        sha = tile->sha256;
        change.show.push_back(tile);
      }
    }
    return change;
  }

  pb::ViewerUpdate toProto(const OutgoingUpdate& update) const {
    pb::ViewerUpdate m;
    if (update.first) {
      m.set_world_id(options_.worldId);
      m.set_max_chunk_bytes(options_.maxChunkBytes);
      m.set_view_radius_m(options_.viewRadiusM);
      m.set_resume_session_id(update.resumeSessionId);
      pb::Budget* budget = m.mutable_budget();
      for (TileFormat f : options_.formats) budget->add_formats(static_cast<pb::TileFormat>(f));
      budget->set_max_bytes_in_flight(options_.maxBytesInFlight);
      budget->set_max_resident_splats(options_.cacheBudgetBytes / kBytesPerDecodedSplat);
      for (const HeldTileRef& h : update.held) {
        pb::HeldTile* held = m.add_held();
        setKey(held->mutable_key(), h.key);
        held->set_format(static_cast<pb::TileFormat>(h.format));
        held->set_content_sha256(h.sha256);
      }
    }
    if (update.view) {
      const ViewState& v = *update.view;
      pb::ViewerPose* pose = m.mutable_pose();
      setVec(pose->mutable_position(), v.position);
      setVec(pose->mutable_forward(), v.forward);
      setVec(pose->mutable_velocity(), v.velocity);
      pose->set_vertical_fov_deg(v.verticalFovDeg);
      pose->set_viewport_width_px(v.viewportWidthPx);
      pose->set_viewport_height_px(v.viewportHeightPx);
      m.set_sequence(update.sequence);
    }
    for (const TileKey& k : update.acks) setKey(m.add_acks(), k);
    return m;
  }

  // Sends what the outbox says is due, on the stream that is open.
  void writerLoop() {
    std::unique_lock<std::mutex> lock(mu_);
    while (!stopping_) {
      const auto due = streamOpen_ ? outbox_.readyAt() : std::nullopt;
      if (!due) {
        cv_.wait(lock);
        continue;
      }
      const auto now = UpdateOutbox::Clock::now();
      if (*due > now) {
        cv_.wait_until(lock, *due);
        continue;
      }
      const auto update = outbox_.take(now);
      if (!update) continue;
      const pb::ViewerUpdate message = toProto(*update);
      const std::shared_ptr<Stream> stream = stream_;
      writing_ = true;
      lock.unlock();
      const bool ok = stream->Write(message);
      lock.lock();
      writing_ = false;
      // A failed write means the call is over: wait for the reader to open the next stream.
      if (!ok && stream_ == stream) streamOpen_ = false;
      cv_.notify_all();
    }
  }

  const SessionOptions options_;
  const Externals ext_;
  std::shared_ptr<grpc::Channel> channel_;
  std::unique_ptr<pb::WorldService::Stub> stub_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  bool started_ = false;
  bool stopping_ = false;
  int runningTasks_ = 0;
  UpdateOutbox outbox_;
  TileCache cache_;
  Backoff backoff_;
  std::set<TileKey> held_;
  std::set<TileKey> stale_;  // held, changed on the server, new content not yet arrived
  std::map<TileKey, std::string> drawnSha_;  // drawn key -> the content drawn
  std::shared_ptr<grpc::ClientContext> context_;
  std::shared_ptr<Stream> stream_;
  bool streamOpen_ = false;
  bool writing_ = false;
  std::string sessionId_;
  size_t maxHeldTiles_ = 4096;
  SessionStats stats_;
};

StreamSession::StreamSession(SessionOptions options, Externals externals)
    : impl_(std::make_shared<Impl>(std::move(options), std::move(externals))) {}

StreamSession::~StreamSession() {
  impl_->stop();
  impl_->waitForTasks();
}

void StreamSession::start() { impl_->start(impl_); }
uint64_t StreamSession::updateView(const ViewState& view) { return impl_->updateView(view); }
void StreamSession::stop() { impl_->stop(); }
void StreamSession::dropConnection() { impl_->dropConnection(); }
SessionStats StreamSession::stats() const { return impl_->stats(); }
std::shared_ptr<const DecodedTile> StreamSession::tile(const TileKey& key) const { return impl_->tile(key); }
std::vector<TileKey> StreamSession::heldKeys() const { return impl_->heldKeys(); }

}  // namespace WorldBridge
