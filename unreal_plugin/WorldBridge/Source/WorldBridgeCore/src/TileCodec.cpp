#include "WorldBridgeCore/TileCodec.h"

#include <zlib.h>

#include <cmath>
#include <string>

#include "ByteReader.h"
#include "WorldBridgeCore/DecodeError.h"
#include "Zstd.h"

namespace WorldBridge {
namespace {
constexpr size_t kHeaderSize = 96;
constexpr size_t kPlanes = 17;
constexpr uint8_t kKnownFlags = 0x1;       // bit 0: the encoder reordered the splats
constexpr double kSqrt1_2 = 0.7071067811865476;  // the same double as the Python and JS decoders

struct Header {
  uint8_t levels;
  uint32_t count;
  uint32_t payloadLength;
  float posOrigin[3], posStep[3], scaleOrigin[3], scaleStep[3];
  float colorOrigin, colorStep;
};

Header readHeader(const uint8_t* data, size_t size, uint32_t maxSplats) {
  if (size < kHeaderSize)
    throw DecodeError("tile codec data has " + std::to_string(size) + " bytes, shorter than the 96-byte header");
  if (data[0] != 'W' || data[1] != 'B' || data[2] != 'T' || data[3] != 'C')
    throw DecodeError("not a WorldBridge tile: magic is not WBTC");
  const ByteReader in(data, size, "tile codec header");
  if (data[4] != 1)
    throw DecodeError("tile codec version " + std::to_string(data[4]) + " is not supported (this decoder reads 1)");
  if (data[5] & ~kKnownFlags) throw DecodeError("tile codec flags set unknown bits");
  if (data[6] != 0) throw DecodeError("tile codec SH degree " + std::to_string(data[6]) + " is not supported (0 only)");
  Header h{};
  h.levels = data[7];
  if (h.levels < 1 || h.levels > 127)
    throw DecodeError("tile codec rotation levels " + std::to_string(h.levels) + " outside 1..127");
  h.count = in.at<uint32_t>(8);
  h.payloadLength = in.at<uint32_t>(12);
  if (h.count > maxSplats)
    throw DecodeError("tile claims " + std::to_string(h.count) + " splats, more than the limit of " +
                      std::to_string(maxSplats));
  if (h.payloadLength != size - kHeaderSize)
    throw DecodeError("tile payload length " + std::to_string(h.payloadLength) + " disagrees with the " +
                      std::to_string(size - kHeaderSize) + " bytes present");
  for (size_t i = 72; i < 92; ++i)
    if (data[i] != 0) throw DecodeError("tile codec reserved header bytes are not zero");
  float* floats[14] = {&h.posOrigin[0],   &h.posOrigin[1],   &h.posOrigin[2],   &h.posStep[0],   &h.posStep[1],
                       &h.posStep[2],     &h.scaleOrigin[0], &h.scaleOrigin[1], &h.scaleOrigin[2], &h.scaleStep[0],
                       &h.scaleStep[1],   &h.scaleStep[2],   &h.colorOrigin,    &h.colorStep};
  for (size_t i = 0; i < 14; ++i) {
    *floats[i] = in.at<float>(16 + 4 * i);
    if (!std::isfinite(*floats[i])) throw DecodeError("tile codec header holds a non-finite number");
  }
  for (float step : {h.posStep[0], h.posStep[1], h.posStep[2], h.scaleStep[0], h.scaleStep[1], h.scaleStep[2],
                     h.colorStep})
    if (step < 0) throw DecodeError("tile codec header holds a negative quantisation step");
  return h;
}

float toFloat32(double v) {
  const float f = static_cast<float>(v);
  if (!std::isfinite(f)) throw DecodeError("tile decodes to values beyond float32's range");
  return f;
}
}  // namespace

SplatCloud decodeTileCodec(const uint8_t* data, size_t size, uint32_t maxSplats) {
  const Header head = readHeader(data, size, maxSplats);
  const uint32_t stored = ByteReader(data, size, "tile codec header").at<uint32_t>(92);
  uLong crc = crc32(0L, data, static_cast<uInt>(kHeaderSize - 4));
  crc = crc32(crc, data + kHeaderSize, static_cast<uInt>(size - kHeaderSize));
  if (crc != stored) throw DecodeError("tile checksum mismatch: the stored CRC-32 is not the computed one");
  const size_t n = head.count;
  const std::vector<uint8_t> raw =
      inflateZstdExactly(data + kHeaderSize, size - kHeaderSize, kPlanes * n, "tile payload");
  const auto plane = [&](size_t p) { return raw.data() + p * n; };

  SplatCloud cloud;
  cloud.resize(n);
  int64_t grid[3] = {0, 0, 0};  // the running 16-bit position indices
  int64_t colorDelta[3] = {0, 0, 0};
  for (size_t i = 0; i < n; ++i) {
    for (int a = 0; a < 3; ++a) {
      const int64_t z = plane(2 * a)[i] | (int64_t{plane(2 * a + 1)[i]} << 8);
      const int64_t d = (z >> 1) ^ -(z & 1);  // un-zigzag
      grid[a] = (grid[a] + d) & 0xFFFF;
      cloud.positions[3 * i + a] =
          toFloat32(static_cast<double>(head.posOrigin[a]) + static_cast<double>(grid[a]) * head.posStep[a]);
      colorDelta[a] = (colorDelta[a] + plane(6 + a)[i]) & 0xFF;
      const double logScale = static_cast<double>(head.scaleOrigin[a]) +
                              static_cast<double>(plane(10 + a)[i]) * static_cast<double>(head.scaleStep[a]);
      cloud.scales[3 * i + a] = toFloat32(std::exp2(logScale));
    }
    // Colours were stored as g, r - g, b - g (mod 256).
    const int64_t g = colorDelta[0];
    const int64_t rgb[3] = {(colorDelta[1] + g) & 0xFF, g, (colorDelta[2] + g) & 0xFF};
    for (int a = 0; a < 3; ++a)
      cloud.colors[3 * i + a] =
          toFloat32(static_cast<double>(head.colorOrigin) + static_cast<double>(rgb[a]) * head.colorStep);
    cloud.opacities[i] = static_cast<float>(plane(9)[i] / 255.0);

    const unsigned largest = plane(13)[i];
    if (largest > 3) throw DecodeError("tile rotation data names a quaternion component beyond the fourth");
    double c[3];
    for (int k = 0; k < 3; ++k) {
      const int small = static_cast<int8_t>(plane(14 + k)[i]);
      if (std::abs(small) > head.levels) throw DecodeError("tile rotation data exceeds its declared levels");
      c[k] = static_cast<double>(small) / head.levels * kSqrt1_2;
    }
    double q[4];
    for (unsigned j = 0, k = 0; j < 4; ++j)
      if (j != largest) q[j] = c[k++];
    q[largest] = std::sqrt(std::max(0.0, 1.0 - (c[0] * c[0] + c[1] * c[1] + c[2] * c[2])));
    const double norm = std::sqrt(q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3]);
    for (int j = 0; j < 4; ++j) cloud.rotations[4 * i + j] = static_cast<float>(q[j] / norm);  // w x y z
  }
  return cloud;
}

}  // namespace WorldBridge
