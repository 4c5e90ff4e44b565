// The arrays of a mesh tile's GLB (what bridge/formats/glb_mesh.py writes: one node translated to
// the tile's corner, one indexed triangle primitive with POSITION, NORMAL, TEXCOORD_0 and a
// baseColor texture), for an engine that builds its mesh at run time (Unreal's
// UProceduralMeshComponent). Frame: glTF's; triangles counter-clockwise seen from their front.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace WorldBridge {

struct GlbMesh {
  std::array<double, 3> translation{};  // the node's, metres, world frame: the tile's corner
  std::vector<float> positions;         // [V*3] metres, relative to `translation`
  std::vector<float> normals;           // [V*3] unit
  std::vector<float> uvs;               // [V*2] glTF texture coordinates (v down the image)
  std::vector<uint32_t> indices;        // [T*3]
  std::vector<uint8_t> image;           // the baseColor texture's file bytes (empty when none)
  std::string imageMimeType;            // "image/jpeg" or "image/png"

  size_t vertexCount() const { return positions.size() / 3; }
};

/// DecodeError on anything malformed: header, chunks, JSON, accessors out of their buffers,
/// indices past the vertices, a primitive that is not triangles.
GlbMesh readGlbMesh(const uint8_t* data, size_t size);

}  // namespace WorldBridge
