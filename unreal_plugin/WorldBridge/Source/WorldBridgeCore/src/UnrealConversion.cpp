#include "WorldBridgeCore/UnrealConversion.h"

#include <cmath>
#include <cstring>

#include "HalfFloat.h"
#include "WorldBridgeCore/Frame.h"

namespace WorldBridge {

uint16_t floatToHalf(float value) {
  uint32_t bits;
  std::memcpy(&bits, &value, 4);
  const uint16_t sign = static_cast<uint16_t>((bits >> 16) & 0x8000);
  const float magnitude = std::fabs(value);
  if (std::isnan(value)) return static_cast<uint16_t>(sign | 0x7E00);
  if (magnitude >= 65520.0f) return static_cast<uint16_t>(sign | 0x7BFF);  // clamp: 65504
  if (magnitude < 6.103515625e-05f) {
    // Subnormal halves: multiples of 2^-24, rounded to nearest even by the float unit.
    const float scaled = std::nearbyint(magnitude * 16777216.0f);
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(scaled));
  }
  const uint32_t exponent = ((bits >> 23) & 0xFF) - 112;
  uint32_t mantissa = bits & 0x7FFFFF;
  uint32_t half = (exponent << 10) | (mantissa >> 13);
  const uint32_t rest = mantissa & 0x1FFF;
  if (rest > 0x1000 || (rest == 0x1000 && (half & 1))) ++half;  // may carry into the exponent: still right
  return static_cast<uint16_t>(sign | half);
}

UnrealSplatTextures toUnrealTextures(const SplatTextures& tile) {
  const SplatTexturesHeader& h = tile.header;
  UnrealSplatTextures out;
  out.count = h.count;
  out.width = h.width;
  out.rows = h.rows;
  const Vec3d origin = toUnrealPosition({h.origin[0], h.origin[1], h.origin[2]});
  out.originCm = {origin.x, origin.y, origin.z};
  const size_t texels = size_t{h.width} * h.rows;
  out.positions.assign(texels * 4, 0.0f);
  out.rotations.assign(texels * 4, 0);
  out.scales.assign(texels * 4, 0.0f);
  out.colors.assign(tile.body.begin() + static_cast<std::ptrdiff_t>(h.colorsOffset()), tile.body.end());
  const uint8_t* body = tile.body.data();
  for (size_t i = 0; i < h.count; ++i) {
    float p[4];
    uint16_t r[4], s[4];
    std::memcpy(p, body + h.positionsOffset() + 16 * i, 16);
    std::memcpy(r, body + h.rotationsOffset() + 8 * i, 8);
    std::memcpy(s, body + h.scalesOffset() + 8 * i, 8);
    const Vec3d pu = toUnrealPosition({p[0], p[1], p[2]});
    out.positions[4 * i] = static_cast<float>(pu.x);
    out.positions[4 * i + 1] = static_cast<float>(pu.y);
    out.positions[4 * i + 2] = static_cast<float>(pu.z);
    const Quatd qu = toUnrealRotation({halfToFloat(r[0]), halfToFloat(r[1]), halfToFloat(r[2]), halfToFloat(r[3])});
    // Only signs and order change: exact in half floats.
    const double q[4] = {qu.x, qu.y, qu.z, qu.w};
    for (int a = 0; a < 4; ++a) out.rotations[4 * i + a] = floatToHalf(static_cast<float>(q[a]));
    const Vec3d su = toUnrealScale({halfToFloat(s[0]), halfToFloat(s[1]), halfToFloat(s[2])});
    out.scales[4 * i] = static_cast<float>(su.x);
    out.scales[4 * i + 1] = static_cast<float>(su.y);
    out.scales[4 * i + 2] = static_cast<float>(su.z);
  }
  return out;
}

UnrealMesh toUnrealMesh(const GlbMesh& mesh) {
  UnrealMesh out;
  const Vec3d t = toUnrealPosition({mesh.translation[0], mesh.translation[1], mesh.translation[2]});
  out.translationCm = {t.x, t.y, t.z};
  const size_t n = mesh.vertexCount();
  out.positions.resize(3 * n);
  out.normals.resize(mesh.normals.size());
  for (size_t i = 0; i < n; ++i) {
    const Vec3d p = toUnrealPosition({mesh.positions[3 * i], mesh.positions[3 * i + 1], mesh.positions[3 * i + 2]});
    out.positions[3 * i] = p.x;
    out.positions[3 * i + 1] = p.y;
    out.positions[3 * i + 2] = p.z;
    if (!mesh.normals.empty()) {
      const Vec3d d = toUnrealDirection({mesh.normals[3 * i], mesh.normals[3 * i + 1], mesh.normals[3 * i + 2]});
      out.normals[3 * i] = d.x;
      out.normals[3 * i + 1] = d.y;
      out.normals[3 * i + 2] = d.z;
    }
  }
  out.uvs = mesh.uvs;
  out.triangles.resize(mesh.indices.size());
  for (size_t i = 0; i + 2 < mesh.indices.size(); i += 3) {
    out.triangles[i] = static_cast<int32_t>(mesh.indices[i]);
    out.triangles[i + 1] = static_cast<int32_t>(mesh.indices[i + 2]);
    out.triangles[i + 2] = static_cast<int32_t>(mesh.indices[i + 1]);
  }
  return out;
}

}  // namespace WorldBridge
