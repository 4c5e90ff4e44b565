// Tile formats as the wire names them (the TileFormat enum of proto/worldbridge/v1/types.proto).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace WorldBridge {

enum class TileFormat : int {
  Unspecified = 0,
  Ply = 1,           // INRIA 3DGS PLY, file frame RDF
  Spz = 2,           // Niantic SPZ v2-v4, file frame RUB (= glTF)
  Glb = 3,           // glTF 2.0 binary mesh, frame glTF
  Stream = 4,        // WorldBridge tile codec (quantised + zstd), frame glTF
  GltfSplats = 5,    // glTF 2.0 with KHR_gaussian_splatting, frame glTF
  SplatTextures = 6  // GPU-ready textures + zstd, frame glTF
};

/// The short name the API and CLI use ("splat-textures", "spz", ...).
std::string_view formatName(TileFormat format);
/// The format named `name` (short name), or nothing for an unknown name.
std::optional<TileFormat> formatFromName(std::string_view name);
/// The file extension of one tile in `format`, with its dot.
std::string_view formatExtension(TileFormat format);

}  // namespace WorldBridge
