// A small mesh GLB built here (a JSON chunk and a BIN chunk), shaped as the server's mesh tiles.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>
#include <vector>

namespace WorldBridgeTest {

inline void append32(std::vector<uint8_t>& out, uint32_t v) {
  for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
}

inline std::vector<uint8_t> makeGlb(std::string json, std::vector<uint8_t> bin) {
  while (json.size() % 4) json += ' ';
  while (bin.size() % 4) bin.push_back(0);
  std::vector<uint8_t> out;
  append32(out, 0x46546C67);  // "glTF"
  append32(out, 2);
  append32(out, static_cast<uint32_t>(12 + 8 + json.size() + 8 + bin.size()));
  append32(out, static_cast<uint32_t>(json.size()));
  append32(out, 0x4E4F534A);
  out.insert(out.end(), json.begin(), json.end());
  append32(out, static_cast<uint32_t>(bin.size()));
  append32(out, 0x004E4942);
  out.insert(out.end(), bin.begin(), bin.end());
  return out;
}

/// One triangle at the tile corner (64, 0, -32): positions, normals, uvs, uint16 indices and a
/// 4-byte stand-in for a JPEG, in that order in the BIN chunk.
inline std::vector<uint8_t> triangleGlb(const std::string& indexCount = "3", uint16_t lastIndex = 2) {
  const float positions[] = {0, 1, 0, 32, 1.5f, 0, 0, 2, 32};
  const float normals[] = {0, 1, 0, 0, 1, 0, 0, 1, 0};
  const float uvs[] = {0, 0, 1, 0, 0, 1};
  const uint16_t indices[] = {0, 2, lastIndex, 0};  // one pad index to keep 4-byte alignment
  const uint8_t image[] = {0xFF, 0xD8, 0xFF, 0xD9};
  std::vector<uint8_t> bin;
  for (const auto& [p, n] : {std::pair<const void*, size_t>{positions, sizeof(positions)},
                             {normals, sizeof(normals)}, {uvs, sizeof(uvs)}, {indices, sizeof(indices)},
                             {image, sizeof(image)}}) {
    const auto* b = static_cast<const uint8_t*>(p);
    bin.insert(bin.end(), b, b + n);
  }
  const std::string json =
      R"({"asset":{"version":"2.0"},"scene":0,"scenes":[{"nodes":[0]}],)"
      R"("nodes":[{"name":"tile \"0,2,-1\"","mesh":0,"translation":[64.0,0.0,-32.0]}],)"
      R"("meshes":[{"primitives":[{"attributes":{"POSITION":0,"NORMAL":1,"TEXCOORD_0":2},"indices":3,"material":0,"mode":4}]}],)"
      R"("materials":[{"pbrMetallicRoughness":{"baseColorTexture":{"index":0}}}],"textures":[{"source":0}],)"
      R"("images":[{"bufferView":4,"mimeType":"image/jpeg"}],)"
      R"("bufferViews":[{"buffer":0,"byteOffset":0,"byteLength":36},{"buffer":0,"byteOffset":36,"byteLength":36},)"
      R"({"buffer":0,"byteOffset":72,"byteLength":24},{"buffer":0,"byteOffset":96,"byteLength":8},)"
      R"({"buffer":0,"byteOffset":104,"byteLength":4}],)"
      R"("accessors":[{"bufferView":0,"componentType":5126,"count":3,"type":"VEC3"},)"
      R"({"bufferView":1,"componentType":5126,"count":3,"type":"VEC3"},)"
      R"({"bufferView":2,"componentType":5126,"count":3,"type":"VEC2"},)"
      R"({"bufferView":3,"componentType":5123,"count":)" +
      indexCount + R"(,"type":"SCALAR"}],"buffers":[{"byteLength":108}]})";
  return makeGlb(json, bin);
}

}  // namespace WorldBridgeTest
