#include "WorldBridgeCore/WorldClient.h"

#include <chrono>
#include <optional>

#include "Channel.h"
#include "worldbridge/v1/world_service.grpc.pb.h"

namespace WorldBridge {
namespace pb = ::worldbridge::v1;

struct WorldClient::Impl {
  std::shared_ptr<grpc::Channel> channel;
  std::unique_ptr<pb::WorldService::Stub> stub;
  std::string token;
  int timeoutMs;

  void prepare(grpc::ClientContext& context) const {
    addToken(context, token);
    context.set_deadline(std::chrono::system_clock::now() + std::chrono::milliseconds(timeoutMs));
  }
};

namespace {
WorldInfo fromProto(const pb::World& w) {
  WorldInfo info;
  info.id = w.id();
  info.name = w.name();
  info.generator = w.generator();
  info.generatorVersion = w.generator_version();
  info.baseTileM = w.base_tile_m();
  info.spawnPosition = {w.spawn().position().x(), w.spawn().position().y(), w.spawn().position().z()};
  info.spawnForward = {w.spawn().forward().x(), w.spawn().forward().y(), w.spawn().forward().z()};
  info.spawnVerticalFovDeg = w.spawn().vertical_fov_deg();
  info.photoWidth = w.photo_width();
  info.photoHeight = w.photo_height();
  return info;
}

DirectiveResult fromProto(const pb::DirectiveResult& r) {
  DirectiveResult out;
  out.version = r.version();
  out.directiveId = r.directive_id();
  out.touchedTiles = r.touched_tiles();
  out.notes.assign(r.notes().begin(), r.notes().end());
  return out;
}

void check(const grpc::Status& status, const std::string& what) {
  if (!status.ok())
    throw RpcError(status.error_code(), what + " failed: " + status.error_message() + " (gRPC status " +
                                            std::to_string(status.error_code()) + ")");
}
}  // namespace

WorldClient::WorldClient(const std::string& target, std::string token, int timeoutMs)
    : impl_(new Impl{makeChannel(target, ChannelSettings{}), nullptr, std::move(token), timeoutMs}) {
  impl_->stub = pb::WorldService::NewStub(impl_->channel);
}

WorldClient::~WorldClient() { delete impl_; }

WorldInfo WorldClient::getWorld(const std::string& worldId) {
  grpc::ClientContext context;
  impl_->prepare(context);
  pb::GetWorldRequest request;
  request.set_world_id(worldId);
  pb::World world;
  check(impl_->stub->GetWorld(&context, request, &world), "GetWorld(" + worldId + ")");
  return fromProto(world);
}

std::vector<WorldInfo> WorldClient::listWorlds(uint32_t pageSize) {
  grpc::ClientContext context;
  impl_->prepare(context);
  pb::ListWorldsRequest request;
  request.set_page_size(pageSize);
  pb::ListWorldsResponse response;
  check(impl_->stub->ListWorlds(&context, request, &response), "ListWorlds");
  std::vector<WorldInfo> out;
  for (const auto& w : response.worlds()) out.push_back(fromProto(w));
  return out;
}

AssembledTile WorldClient::getTile(const std::string& worldId, const TileKey& key, TileFormat format) {
  grpc::ClientContext context;
  impl_->prepare(context);
  pb::GetTileRequest request;
  request.set_world_id(worldId);
  request.mutable_key()->set_lod(key.lod);
  request.mutable_key()->set_ix(key.ix);
  request.mutable_key()->set_iz(key.iz);
  request.set_format(static_cast<pb::TileFormat>(format));
  auto reader = impl_->stub->GetTile(&context, request);
  ChunkAssembler assembler;
  std::optional<AssembledTile> tile;
  pb::TileChunk chunk;
  while (reader->Read(&chunk)) {
    const TileChunkView view{{chunk.key().lod(), chunk.key().ix(), chunk.key().iz()},
                             static_cast<TileFormat>(chunk.format()),
                             chunk.content_sha256(),
                             chunk.total_bytes(),
                             chunk.offset(),
                             reinterpret_cast<const uint8_t*>(chunk.data().data()),
                             chunk.data().size(),
                             chunk.last()};
    if (auto done = assembler.add(view)) tile = std::move(done);
  }
  check(reader->Finish(), "GetTile(" + key.toString() + ")");
  if (!tile) throw RpcError(grpc::StatusCode::DATA_LOSS, "GetTile(" + key.toString() + ") ended before its last chunk");
  return std::move(*tile);
}

DirectiveResult WorldClient::applyDirective(const std::string& worldId, const std::string& directiveJson) {
  grpc::ClientContext context;
  impl_->prepare(context);
  pb::ApplyDirectiveRequest request;
  request.set_world_id(worldId);
  request.set_directive_json(directiveJson);
  pb::DirectiveResult result;
  check(impl_->stub->ApplyDirective(&context, request, &result), "ApplyDirective");
  return fromProto(result);
}

DirectiveResult WorldClient::revertDirective(const std::string& worldId, uint64_t directiveId) {
  grpc::ClientContext context;
  impl_->prepare(context);
  pb::RevertDirectiveRequest request;
  request.set_world_id(worldId);
  request.set_directive_id(directiveId);
  pb::DirectiveResult result;
  check(impl_->stub->RevertDirective(&context, request, &result), "RevertDirective(" + std::to_string(directiveId) + ")");
  return fromProto(result);
}

WorldInfo WorldClient::createWorld(const std::vector<uint8_t>& photo, const std::string& name) {
  grpc::ClientContext context;
  impl_->prepare(context);
  pb::CreateWorldRequest request;
  request.set_photo(photo.data(), photo.size());
  request.set_name(name);
  pb::CreateWorldResponse response;
  check(impl_->stub->CreateWorld(&context, request, &response), "CreateWorld");
  return fromProto(response.world());
}

}  // namespace WorldBridge
