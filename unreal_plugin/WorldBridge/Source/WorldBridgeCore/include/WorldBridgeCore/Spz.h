// Niantic's SPZ splat format, versions 2 to 4, read. Facts from the format's README (github.com/
// nianticlabs/spz); the layout as we use it is in bridge/formats/spz.py. File frame: RUB, which is
// glTF's, so positions and rotations come through unchanged; a file declaring another frame with
// Adobe's SPZ_ADOBE_coordinate_system extension is converted to RUB on read, as the Python reader does.
#pragma once

#include <cstdint>

#include "WorldBridgeCore/SplatCloud.h"

namespace WorldBridge {

constexpr uint32_t kSpzMaxPoints = 1u << 24;

/// DecodeError with the reason on any malformed, truncated or hostile input.
SplatCloud decodeSpz(const uint8_t* data, size_t size, uint32_t maxPoints = kSpzMaxPoints);

}  // namespace WorldBridge
