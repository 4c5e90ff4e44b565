#include "WorldBridgeCore/PlyWriter.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

namespace WorldBridge {
namespace {
constexpr double kShC0 = 0.28209479177387814;
constexpr double kOpacityEps = 1e-6;  // the logit of 0 or 1 is infinite
const char* const kFields[] = {"x",       "y",       "z",       "nx",      "ny",    "nz",    "f_dc_0",
                               "f_dc_1",  "f_dc_2",  "opacity", "scale_0", "scale_1", "scale_2", "rot_0",
                               "rot_1",   "rot_2",   "rot_3"};
}  // namespace

std::vector<uint8_t> encodeInriaPly(const SplatCloud& cloud) {
  const size_t n = cloud.size();
  std::string header =
      "ply\nformat binary_little_endian 1.0\n"
      "comment frame glTF: x right, y up, z back (right-handed), metres\n"
      "element vertex " +
      std::to_string(n) + "\n";
  for (const char* field : kFields) header += std::string("property float ") + field + "\n";
  header += "end_header\n";
  std::vector<uint8_t> out(header.begin(), header.end());
  out.resize(header.size() + n * 17 * sizeof(float));
  uint8_t* at = out.data() + header.size();
  for (size_t i = 0; i < n; ++i) {
    const double alpha = std::clamp(static_cast<double>(cloud.opacities[i]), kOpacityEps, 1.0 - kOpacityEps);
    const float row[17] = {
        cloud.positions[3 * i], cloud.positions[3 * i + 1], cloud.positions[3 * i + 2], 0.0f, 0.0f, 0.0f,
        static_cast<float>((cloud.colors[3 * i] - 0.5) / kShC0),
        static_cast<float>((cloud.colors[3 * i + 1] - 0.5) / kShC0),
        static_cast<float>((cloud.colors[3 * i + 2] - 0.5) / kShC0),
        static_cast<float>(std::log(alpha / (1.0 - alpha))),
        static_cast<float>(std::log(std::max(static_cast<double>(cloud.scales[3 * i]), 1e-12))),
        static_cast<float>(std::log(std::max(static_cast<double>(cloud.scales[3 * i + 1]), 1e-12))),
        static_cast<float>(std::log(std::max(static_cast<double>(cloud.scales[3 * i + 2]), 1e-12))),
        cloud.rotations[4 * i], cloud.rotations[4 * i + 1], cloud.rotations[4 * i + 2], cloud.rotations[4 * i + 3]};
    std::memcpy(at, row, sizeof(row));
    at += sizeof(row);
  }
  return out;
}

}  // namespace WorldBridge
