#include "WorldBridgeCore/WorldClient.h"

#include <chrono>

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
