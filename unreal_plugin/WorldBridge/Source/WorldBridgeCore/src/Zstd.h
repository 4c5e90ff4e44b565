// One zstd frame inflated to exactly the size a header promised, refused otherwise: the cap is
// what keeps a small file claiming a huge body (a decompression bomb) harmless.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace WorldBridge {

/// `what` names the data in error messages ("splat-textures body").
std::vector<uint8_t> inflateZstdExactly(const uint8_t* frame, size_t size, size_t expected, const char* what);

}  // namespace WorldBridge
