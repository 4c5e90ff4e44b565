#include "WorldBridgeCore/SplatTextures.h"

#include <cmath>
#include <cstring>
#include <string>

#include "ByteReader.h"
#include "HalfFloat.h"
#include "WorldBridgeCore/DecodeError.h"
#include "WorldBridgeCore/Sha256.h"
#include "Zstd.h"

namespace WorldBridge {
namespace {
constexpr size_t kHeaderSize = 96;
constexpr size_t kHashedHeader = 64;
constexpr uint32_t kMaxWidth = 16384;
constexpr uint32_t kBytesPerSplat = 36;

bool allZero(const uint8_t* p, size_t n) {
  for (size_t i = 0; i < n; ++i)
    if (p[i] != 0) return false;
  return true;
}
}  // namespace

SplatTexturesHeader readSplatTexturesHeader(const uint8_t* data, size_t size, uint32_t maxSplats) {
  if (size < kHeaderSize)
    throw DecodeError("splat-textures data has " + std::to_string(size) + " bytes, shorter than the 96-byte header");
  if (std::memcmp(data, "WBTX", 4) != 0) throw DecodeError("not a splat-textures tile: magic is not WBTX");
  const ByteReader in(data, size, "splat-textures header");
  const auto version = in.at<uint16_t>(4);
  const auto flags = in.at<uint16_t>(6);
  if (version != 1)
    throw DecodeError("splat-textures version " + std::to_string(version) + " is not supported (this decoder reads 1)");
  if (flags != 0) throw DecodeError("splat-textures flags set bits this version does not know");
  if (!allZero(data + 28, 4) || !allZero(data + 56, 8))
    throw DecodeError("splat-textures reserved header bytes are not zero");
  SplatTexturesHeader head;
  head.count = in.at<uint32_t>(8);
  head.width = in.at<uint32_t>(12);
  head.rows = in.at<uint32_t>(16);
  head.bodySize = in.at<uint32_t>(20);
  head.compressedLength = in.at<uint32_t>(24);
  head.origin = {in.at<double>(32), in.at<double>(40), in.at<double>(48)};
  if (uint64_t{head.bodySize} > uint64_t{kBytesPerSplat} * maxSplats)
    throw DecodeError("splat-textures body claims " + std::to_string(head.bodySize) +
                      " bytes decompressed, over the limit: refused as a decompression bomb");
  if (head.count > maxSplats)
    throw DecodeError("tile claims " + std::to_string(head.count) + " splats, more than the limit of " +
                      std::to_string(maxSplats));
  if (head.width < 1 || head.width > kMaxWidth || (head.width & (head.width - 1)) != 0)
    throw DecodeError("texture width " + std::to_string(head.width) + " is not a power of two up to 16384");
  if (uint64_t{head.rows} != (uint64_t{head.count} + head.width - 1) / head.width)
    throw DecodeError("texture rows disagree with the splat count");
  if (uint64_t{head.bodySize} != uint64_t{kBytesPerSplat} * head.width * head.rows)
    throw DecodeError("body size disagrees with the texture rows");
  if (head.compressedLength != size - kHeaderSize)
    throw DecodeError("compressed length " + std::to_string(head.compressedLength) + " disagrees with the " +
                      std::to_string(size - kHeaderSize) + " bytes present");
  for (double v : head.origin)
    if (!std::isfinite(v)) throw DecodeError("splat-textures origin is not finite");
  return head;
}

SplatTextures decodeSplatTexturesBody(const uint8_t* data, size_t size, uint32_t maxSplats) {
  SplatTextures out;
  out.header = readSplatTexturesHeader(data, size, maxSplats);
  Sha256 hash;
  hash.update(data, kHashedHeader);
  hash.update(data + kHeaderSize, size - kHeaderSize);
  const std::array<uint8_t, 32> digest = hash.finish();
  if (std::memcmp(digest.data(), data + kHashedHeader, digest.size()) != 0)
    throw DecodeError("splat-textures checksum mismatch: the tile is damaged (SHA-256 of header and body)");
  if (out.header.count == 0) return out;  // an empty tile has an empty frame: nothing to inflate
  out.body = inflateZstdExactly(data + kHeaderSize, size - kHeaderSize, out.header.bodySize, "splat-textures body");
  return out;
}

SplatCloud decodeSplatTextures(const uint8_t* data, size_t size, uint32_t maxSplats) {
  return splatsFromTextures(decodeSplatTexturesBody(data, size, maxSplats));
}

SplatCloud splatsFromTextures(const SplatTextures& tile) {
  const SplatTexturesHeader& head = tile.header;
  const size_t n = head.count;
  SplatCloud cloud;
  cloud.resize(n);
  const uint8_t* body = tile.body.data();
  for (size_t i = 0; i < n; ++i) {
    float rel[4];
    std::memcpy(rel, body + head.positionsOffset() + 16 * i, sizeof(rel));
    uint16_t rot[4], scale[4];
    std::memcpy(rot, body + head.rotationsOffset() + 8 * i, sizeof(rot));
    std::memcpy(scale, body + head.scalesOffset() + 8 * i, sizeof(scale));
    const uint8_t* rgba = body + head.colorsOffset() + 4 * i;
    for (int a = 0; a < 3; ++a) {
      if (!std::isfinite(rel[a])) throw DecodeError("splat-textures texels hold non-finite numbers");
      const float s = halfToFloat(scale[a]);
      if (!std::isfinite(s)) throw DecodeError("splat-textures texels hold non-finite numbers");
      if (std::signbit(s)) throw DecodeError("splat-textures scales are negative");
      const float p = static_cast<float>(static_cast<double>(rel[a]) + head.origin[a]);
      if (!std::isfinite(p)) throw DecodeError("splat-textures positions reach beyond float32's range");
      cloud.positions[3 * i + a] = p;
      cloud.scales[3 * i + a] = s;
      cloud.colors[3 * i + a] = static_cast<float>(rgba[a] / 255.0);
    }
    for (int a = 0; a < 4; ++a) {
      const float q = halfToFloat(rot[a]);
      if (!std::isfinite(q)) throw DecodeError("splat-textures texels hold non-finite numbers");
      cloud.rotations[4 * i + (a + 1) % 4] = q;  // texel x y z w -> cloud w x y z
    }
    cloud.opacities[i] = static_cast<float>(rgba[3] / 255.0);
  }
  return cloud;
}

}  // namespace WorldBridge
