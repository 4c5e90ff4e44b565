// One tile as the engine receives it: its key, the format it came in, its content hash, and
// either splats (decoded, glTF frame) or a GLB mesh: its bytes passed through (for an engine's own
// glTF importer) and its arrays read out (for a mesh built at run time).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "WorldBridgeCore/GlbMesh.h"
#include "WorldBridgeCore/SplatCloud.h"
#include "WorldBridgeCore/SplatTextures.h"
#include "WorldBridgeCore/TileFormat.h"
#include "WorldBridgeCore/TileKey.h"

namespace WorldBridge {

struct DecodedTile {
  TileKey key;
  TileFormat format = TileFormat::Unspecified;
  std::string sha256;            // hex, of the bytes as sent: the tile's content-addressed name
  SplatCloud splats;             // splat formats; empty for a mesh
  std::vector<uint8_t> glb;      // TileFormat::Glb: the mesh file
  std::shared_ptr<const GlbMesh> mesh;  // TileFormat::Glb: its arrays
  std::shared_ptr<const SplatTextures> textures;  // TileFormat::SplatTextures: the texel data, for a GPU upload

  bool isMesh() const { return format == TileFormat::Glb; }
  /// Heap bytes held (what the tile cache budgets).
  size_t memoryBytes() const {
    const size_t meshBytes = mesh ? mesh->positions.size() * 4 + mesh->normals.size() * 4 + mesh->uvs.size() * 4 +
                                        mesh->indices.size() * 4 + mesh->image.size()
                                  : 0;
    return splats.memoryBytes() + glb.size() + meshBytes + (textures ? textures->body.size() : 0);
  }
};

/// Decode `data` of `format`; DecodeError for malformed bytes or a format this core cannot read
/// (PLY and glTF splats: ask the server for splat-textures, stream or SPZ instead).
DecodedTile decodeTile(const TileKey& key, TileFormat format, const std::string& sha256, const uint8_t* data,
                       size_t size);

/// Checks a GLB's 12-byte header (magic "glTF", version 2, length = the file's size).
void checkGlb(const uint8_t* data, size_t size);

}  // namespace WorldBridge
