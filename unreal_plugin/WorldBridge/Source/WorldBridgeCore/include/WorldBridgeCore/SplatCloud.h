// A tile's Gaussian splats, decoded. Frame: glTF's (right-handed, Y up, metres, -Z forward);
// convert to an engine's frame with Frame.h. The same fields and orders as the Python
// `bridge.formats.splats.SplatCloud`, so the two compare value for value.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace WorldBridge {

struct SplatCloud {
  std::vector<float> positions;  // [N*3] centre, metres, world frame
  std::vector<float> scales;     // [N*3] standard deviation along the local axes, metres (linear)
  std::vector<float> rotations;  // [N*4] unit quaternion, w x y z order
  std::vector<float> opacities;  // [N]   after the sigmoid, [0, 1]
  std::vector<float> colors;     // [N*3] degree-0 colour, sRGB, nominally [0, 1]

  size_t size() const { return opacities.size(); }
  void resize(size_t n) {
    positions.resize(n * 3);
    scales.resize(n * 3);
    rotations.resize(n * 4);
    opacities.resize(n);
    colors.resize(n * 3);
  }
  /// Heap bytes the arrays hold (what a tile cache budgets).
  size_t memoryBytes() const { return size() * 14 * sizeof(float); }
  /// The values as one little-endian float32 blob: positions, scales, rotations (w x y z),
  /// opacities, colours -- the layout of the shared test vectors (tests/vectors/*.f32).
  std::vector<uint8_t> decodedBytes() const;
};

}  // namespace WorldBridge
