// The GPU-ready tile format ("splat-textures", magic WBTX): a tile's splats as four texture
// images, one zstd frame. Layout: bridge/formats/splat_textures.py (the reference).
//
// Header, 96 bytes LE: magic, u16 version = 1, u16 flags = 0, u32 count N, u32 width W (power of
// two), u32 rows H = ceil(N / W), u32 body size S = 36 W H, u32 compressed length P, 4 reserved,
// f64x3 origin (metres, world frame), 8 reserved, SHA-256 of header bytes 0..63 + body.
// Body (S bytes): RGBA32F positions relative to the origin, RGBA16F rotations (x y z w), RGBA16F
// scales (linear metres), RGBA8 sRGB colour + linear opacity; W x H texels each, row-major.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "WorldBridgeCore/SplatCloud.h"

namespace WorldBridge {

struct SplatTexturesHeader {
  uint32_t count = 0;
  uint32_t width = 0;
  uint32_t rows = 0;
  uint32_t bodySize = 0;
  uint32_t compressedLength = 0;
  std::array<double, 3> origin{};  // metres, world frame

  /// Byte offset of each texture image in the body: positions, rotations, scales, colours.
  size_t positionsOffset() const { return 0; }
  size_t rotationsOffset() const { return size_t{16} * width * rows; }
  size_t scalesOffset() const { return size_t{24} * width * rows; }
  size_t colorsOffset() const { return size_t{32} * width * rows; }
};

/// A tile's textures as uploaded to a GPU: the checked header and the inflated body.
struct SplatTextures {
  SplatTexturesHeader header;
  std::vector<uint8_t> body;
};

constexpr uint32_t kSplatTexturesMaxSplats = 1u << 21;

/// Parse and check the header alone (no decompression); DecodeError if malformed or hostile.
SplatTexturesHeader readSplatTexturesHeader(const uint8_t* data, size_t size,
                                            uint32_t maxSplats = kSplatTexturesMaxSplats);
/// Check the SHA-256, inflate the body (capped at the header's size); DecodeError on any fault.
SplatTextures decodeSplatTexturesBody(const uint8_t* data, size_t size, uint32_t maxSplats = kSplatTexturesMaxSplats);
/// The splats in world coordinates, bit for bit what the Python decoder makes.
SplatCloud splatsFromTextures(const SplatTextures& tile);
/// decodeSplatTexturesBody, then splatsFromTextures.
SplatCloud decodeSplatTextures(const uint8_t* data, size_t size, uint32_t maxSplats = kSplatTexturesMaxSplats);

}  // namespace WorldBridge
