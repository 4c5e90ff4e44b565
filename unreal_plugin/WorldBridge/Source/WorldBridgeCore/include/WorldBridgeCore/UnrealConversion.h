// Tiles in Unreal's frame, converted off the game thread with Frame.h (the only conversion code),
// so the Unreal module only copies arrays into engine types.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "WorldBridgeCore/GlbMesh.h"
#include "WorldBridgeCore/SplatTextures.h"

namespace WorldBridge {

/// A splat-textures tile in Unreal's frame, as texel data for PF_A32B32G32R32F (positions,
/// scales), PF_FloatRGBA (rotations) and PF_R8G8B8A8 (colour, sRGB + linear opacity) textures of
/// width x rows texels. Scales become float32: in centimetres a half float would cap them at 655 m.
struct UnrealSplatTextures {
  uint32_t count = 0, width = 0, rows = 0;
  std::array<double, 3> originCm{};  // the tile origin in Unreal centimetres
  std::vector<float> positions;      // [W*H*4] cm relative to originCm, A = 0
  std::vector<uint16_t> rotations;   // [W*H*4] half floats, FQuat order x y z w
  std::vector<float> scales;         // [W*H*4] cm along the splat's local X Y Z, A = 0
  std::vector<uint8_t> colors;       // [W*H*4] the tile's colour texels, unchanged
};

UnrealSplatTextures toUnrealTextures(const SplatTextures& tile);

/// A mesh tile in Unreal's frame. glTF's front faces are counter-clockwise as seen, Unreal's
/// clockwise, so each triangle's winding is reversed.
struct UnrealMesh {
  std::array<double, 3> translationCm{};  // the tile corner
  std::vector<double> positions;          // [V*3] cm relative to translationCm
  std::vector<double> normals;            // [V*3]
  std::vector<float> uvs;                 // [V*2] unchanged
  std::vector<int32_t> triangles;         // [T*3]
};

UnrealMesh toUnrealMesh(const GlbMesh& mesh);

/// Half float <- float, round to nearest even; values past the half's range become its largest.
uint16_t floatToHalf(float value);

}  // namespace WorldBridge
