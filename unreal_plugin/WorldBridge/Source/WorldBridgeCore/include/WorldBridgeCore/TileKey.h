// A tile of the world's quadtree: (lod, ix, iz). LOD 0 is the finest; a tile at `lod` has edge
// base_tile_m * 2^lod metres and covers [ix*e, (ix+1)*e) x [iz*e, (iz+1)*e) on the ground plane.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <string>

namespace WorldBridge {

struct TileKey {
  uint32_t lod = 0;
  int64_t ix = 0;
  int64_t iz = 0;

  /// The LOD+1 tile containing this one (floor division, also for negative indices).
  TileKey parent() const { return {lod + 1, ix >> 1, iz >> 1}; }
  /// The tile at a coarser (or equal) `coarserLod` containing this one.
  TileKey ancestor(uint32_t coarserLod) const {
    const uint32_t shift = coarserLod - lod;
    return {coarserLod, ix >> shift, iz >> shift};
  }
  /// The four LOD-1 tiles this one contains; only for lod > 0.
  std::array<TileKey, 4> children() const {
    const int64_t x = ix * 2, z = iz * 2;
    return {{{lod - 1, x, z}, {lod - 1, x + 1, z}, {lod - 1, x, z + 1}, {lod - 1, x + 1, z + 1}}};
  }
  /// Edge length in metres.
  double edgeM(double baseTileM) const { return baseTileM * static_cast<double>(uint64_t{1} << lod); }
  /// "LOD_IX_IZ", as tile files are named.
  std::string fileStem() const {
    return std::to_string(lod) + "_" + std::to_string(ix) + "_" + std::to_string(iz);
  }
  std::string toString() const {
    return std::to_string(lod) + "," + std::to_string(ix) + "," + std::to_string(iz);
  }

  friend bool operator==(const TileKey& a, const TileKey& b) {
    return a.lod == b.lod && a.ix == b.ix && a.iz == b.iz;
  }
  friend bool operator!=(const TileKey& a, const TileKey& b) { return !(a == b); }
  friend bool operator<(const TileKey& a, const TileKey& b) {
    if (a.lod != b.lod) return a.lod < b.lod;
    if (a.ix != b.ix) return a.ix < b.ix;
    return a.iz < b.iz;
  }
};

struct TileKeyHash {
  size_t operator()(const TileKey& k) const noexcept {
    uint64_t h = k.lod * 0x9E3779B97F4A7C15ull;
    h ^= static_cast<uint64_t>(k.ix) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    h ^= static_cast<uint64_t>(k.iz) + 0x9E3779B97F4A7C15ull + (h << 6) + (h >> 2);
    return static_cast<size_t>(h);
  }
};

}  // namespace WorldBridge
