#include "WorldBridgeCore/TileFormat.h"

#include <array>
#include <utility>

namespace WorldBridge {
namespace {
struct Names {
  TileFormat format;
  std::string_view name;
  std::string_view extension;
};
constexpr std::array<Names, 6> kNames{{
    {TileFormat::Ply, "ply", ".ply"},
    {TileFormat::Spz, "spz", ".spz"},
    {TileFormat::Glb, "glb", ".glb"},
    {TileFormat::Stream, "stream", ".wbtc"},
    {TileFormat::GltfSplats, "gltf-splats", ".glb"},
    {TileFormat::SplatTextures, "splat-textures", ".wbtx"},
}};
}  // namespace

std::string_view formatName(TileFormat format) {
  for (const auto& n : kNames)
    if (n.format == format) return n.name;
  return "unspecified";
}

std::optional<TileFormat> formatFromName(std::string_view name) {
  for (const auto& n : kNames)
    if (n.name == name) return n.format;
  return std::nullopt;
}

std::string_view formatExtension(TileFormat format) {
  for (const auto& n : kNames)
    if (n.format == format) return n.extension;
  return ".bin";
}

}  // namespace WorldBridge
