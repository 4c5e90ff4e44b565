// The gRPC channel every call of the core uses: keepalive as docs/protocol.md advises.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

namespace WorldBridge {

struct ChannelSettings {
  int keepaliveTimeMs = 10000;
  int keepaliveTimeoutMs = 10000;
  int maxReceiveBytes = 8 << 20;  // a 1 MiB chunk and its fields, with room
};

std::shared_ptr<grpc::Channel> makeChannel(const std::string& target, const ChannelSettings& settings);
void addToken(grpc::ClientContext& context, const std::string& token);

}  // namespace WorldBridge
