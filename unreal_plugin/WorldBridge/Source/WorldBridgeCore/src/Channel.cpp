#include "Channel.h"

namespace WorldBridge {

std::shared_ptr<grpc::Channel> makeChannel(const std::string& target, const ChannelSettings& settings) {
  grpc::ChannelArguments args;
  // Ping an idle connection so a dead peer is noticed; the server permits pings every 5 s or more,
  // with or without a call open.
  args.SetInt(GRPC_ARG_KEEPALIVE_TIME_MS, settings.keepaliveTimeMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_TIMEOUT_MS, settings.keepaliveTimeoutMs);
  args.SetInt(GRPC_ARG_KEEPALIVE_PERMIT_WITHOUT_CALLS, 1);
  args.SetInt(GRPC_ARG_HTTP2_MAX_PINGS_WITHOUT_DATA, 0);
  args.SetMaxReceiveMessageSize(settings.maxReceiveBytes);
  return grpc::CreateCustomChannel(target, grpc::InsecureChannelCredentials(), args);
}

void addToken(grpc::ClientContext& context, const std::string& token) {
  if (!token.empty()) context.AddMetadata("authorization", "Bearer " + token);
}

}  // namespace WorldBridge
