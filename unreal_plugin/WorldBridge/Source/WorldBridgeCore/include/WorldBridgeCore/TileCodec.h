// The `stream` tile codec (magic WBTC): tile-local quantisation, byte planes, one zstd frame.
// Layout and the exact decoding arithmetic: bridge/formats/tilecodec.py (the reference). Decoding
// runs in float64 and rounds once to float32, so this decoder and the Python and JavaScript ones
// give the same bits (tests/vectors/tilecodec pins them).
#pragma once

#include <cstdint>

#include "WorldBridgeCore/SplatCloud.h"

namespace WorldBridge {

constexpr uint32_t kTileCodecMaxSplats = 1u << 22;

/// DecodeError with the reason on any malformed, truncated or hostile input.
SplatCloud decodeTileCodec(const uint8_t* data, size_t size, uint32_t maxSplats = kTileCodecMaxSplats);

}  // namespace WorldBridge
