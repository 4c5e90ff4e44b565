#include "WorldBridgeCore/SplatCloud.h"

#include <cstring>

namespace WorldBridge {

std::vector<uint8_t> SplatCloud::decodedBytes() const {
  // Little-endian hosts only (every engine target is); CMake checks the byte order.
  std::vector<uint8_t> out(memoryBytes());
  size_t at = 0;
  for (const auto* part : {&positions, &scales, &rotations, &opacities, &colors}) {
    if (!part->empty()) std::memcpy(out.data() + at, part->data(), part->size() * sizeof(float));
    at += part->size() * sizeof(float);
  }
  return out;
}

}  // namespace WorldBridge
