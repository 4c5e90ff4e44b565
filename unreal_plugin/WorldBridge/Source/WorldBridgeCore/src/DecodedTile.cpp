#include "WorldBridgeCore/DecodedTile.h"

#include <cstring>

#include "ByteReader.h"
#include "WorldBridgeCore/DecodeError.h"
#include "WorldBridgeCore/Spz.h"
#include "WorldBridgeCore/TileCodec.h"

namespace WorldBridge {

void checkGlb(const uint8_t* data, size_t size) {
  if (size < 12 || std::memcmp(data, "glTF", 4) != 0) throw DecodeError("not a GLB file: magic is not glTF");
  const ByteReader in(data, size, "GLB header");
  if (in.at<uint32_t>(4) != 2) throw DecodeError("GLB version " + std::to_string(in.at<uint32_t>(4)) + " is not 2");
  if (in.at<uint32_t>(8) != size)
    throw DecodeError("GLB header says " + std::to_string(in.at<uint32_t>(8)) + " bytes, the file has " +
                      std::to_string(size));
}

DecodedTile decodeTile(const TileKey& key, TileFormat format, const std::string& sha256, const uint8_t* data,
                       size_t size) {
  DecodedTile tile;
  tile.key = key;
  tile.format = format;
  tile.sha256 = sha256;
  switch (format) {
    case TileFormat::SplatTextures: {
      auto textures = std::make_shared<SplatTextures>(decodeSplatTexturesBody(data, size));
      tile.splats = splatsFromTextures(*textures);
      tile.textures = std::move(textures);
      break;
    }
    case TileFormat::Stream:
      tile.splats = decodeTileCodec(data, size);
      break;
    case TileFormat::Spz:
      tile.splats = decodeSpz(data, size);
      break;
    case TileFormat::Glb:
      tile.mesh = std::make_shared<const GlbMesh>(readGlbMesh(data, size));
      tile.glb.assign(data, data + size);
      break;
    default:
      throw DecodeError("this core does not decode " + std::string(formatName(format)) +
                        " tiles; ask for splat-textures, stream, spz or glb");
  }
  return tile;
}

}  // namespace WorldBridge
