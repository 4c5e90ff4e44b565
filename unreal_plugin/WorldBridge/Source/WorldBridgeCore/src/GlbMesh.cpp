#include "WorldBridgeCore/GlbMesh.h"

#include <cstring>

#include "ByteReader.h"
#include "Json.h"
#include "WorldBridgeCore/DecodeError.h"
#include "WorldBridgeCore/DecodedTile.h"

namespace WorldBridge {
namespace {
constexpr uint32_t kChunkJson = 0x4E4F534A;
constexpr uint32_t kChunkBin = 0x004E4942;
constexpr size_t kMaxElements = size_t{1} << 24;

struct Chunks {
  std::string_view json;
  const uint8_t* bin = nullptr;
  size_t binSize = 0;
};

Chunks chunksOf(const uint8_t* data, size_t size) {
  checkGlb(data, size);
  const ByteReader in(data, size, "GLB");
  Chunks out;
  for (size_t at = 12; at < size;) {
    const auto length = in.at<uint32_t>(at);
    const auto type = in.at<uint32_t>(at + 4);
    if (length > size - at - 8) throw DecodeError("GLB chunk runs past the end of the file");
    if (type == kChunkJson && out.json.empty()) out.json = {reinterpret_cast<const char*>(data + at + 8), length};
    if (type == kChunkBin && !out.bin) {
      out.bin = data + at + 8;
      out.binSize = length;
    }
    at += 8 + size_t{length};
  }
  if (out.json.empty()) throw DecodeError("GLB has no JSON chunk");
  return out;
}

const JsonValue& element(const JsonValue& root, const char* list, size_t index) {
  const JsonValue* items = root.find(list);
  if (!items || items->type != JsonValue::Type::Array || index >= items->array.size())
    throw DecodeError(std::string("GLB refers to ") + list + "[" + std::to_string(index) + "], which is absent");
  return items->array[index];
}

size_t optionalIndex(const JsonValue& v, const char* key, size_t fallback) {
  return v.find(key) ? v.index(key) : fallback;
}

// The bytes a buffer view spans in the BIN chunk: (start, length, stride).
struct View {
  const uint8_t* start;
  size_t length, stride;
};

View viewOf(const JsonValue& root, const Chunks& chunks, size_t index) {
  const JsonValue& v = element(root, "bufferViews", index);
  if (optionalIndex(v, "buffer", 0) != 0) throw DecodeError("GLB buffer views must use the BIN chunk");
  const size_t offset = optionalIndex(v, "byteOffset", 0), length = v.index("byteLength");
  if (!chunks.bin || offset > chunks.binSize || length > chunks.binSize - offset)
    throw DecodeError("GLB buffer view " + std::to_string(index) + " lies outside the BIN chunk");
  return {chunks.bin + offset, length, optionalIndex(v, "byteStride", 0)};
}

// An accessor's values widened to T; `components` per element (3 for VEC3...).
template <typename T>
std::vector<T> readAccessor(const JsonValue& root, const Chunks& chunks, size_t index, size_t components) {
  const JsonValue& a = element(root, "accessors", index);
  const size_t count = a.index("count");
  const size_t type = a.index("componentType");
  const size_t size = type == 5126 || type == 5125 ? 4 : type == 5123 ? 2 : type == 5121 ? 1 : 0;
  if (size == 0) throw DecodeError("GLB accessor " + std::to_string(index) + " has component type " + std::to_string(type));
  if (count > kMaxElements) throw DecodeError("GLB accessor holds more elements than this reader takes");
  static const char* const kTypes[] = {"", "SCALAR", "VEC2", "VEC3", "VEC4"};
  const JsonValue* kind = a.find("type");
  if (!kind || kind->string != kTypes[components])
    throw DecodeError("GLB accessor " + std::to_string(index) + " is not a " + kTypes[components]);
  if (a.find("sparse")) throw DecodeError("GLB sparse accessors are not read");
  const View view = viewOf(root, chunks, a.index("bufferView"));
  const size_t offset = optionalIndex(a, "byteOffset", 0);
  const size_t element = size * components;
  const size_t stride = view.stride ? view.stride : element;
  if (stride < element) throw DecodeError("GLB buffer view's stride is shorter than its elements");
  if (count && (offset > view.length || element > view.length - offset || (count - 1) > (view.length - offset - element) / stride))
    throw DecodeError("GLB accessor " + std::to_string(index) + " reads past its buffer view");
  std::vector<T> out(count * components);
  for (size_t i = 0; i < count; ++i)
    for (size_t c = 0; c < components; ++c) {
      const uint8_t* p = view.start + offset + i * stride + c * size;
      if (type == 5126) {
        float f;
        std::memcpy(&f, p, 4);
        out[i * components + c] = static_cast<T>(f);
      } else if (type == 5125) {
        uint32_t u;
        std::memcpy(&u, p, 4);
        out[i * components + c] = static_cast<T>(u);
      } else if (type == 5123) {
        uint16_t u;
        std::memcpy(&u, p, 2);
        out[i * components + c] = static_cast<T>(u);
      } else {
        out[i * components + c] = static_cast<T>(*p);
      }
    }
  return out;
}
}  // namespace

GlbMesh readGlbMesh(const uint8_t* data, size_t size) {
  const Chunks chunks = chunksOf(data, size);
  const JsonValue root = parseJson(chunks.json);
  GlbMesh mesh;
  // The node that carries mesh 0 places it.
  if (const JsonValue* nodes = root.find("nodes"))
    for (const JsonValue& node : nodes->array)
      if (node.find("mesh") && node.index("mesh") == 0) {
        if (const JsonValue* t = node.find("translation")) {
          if (t->array.size() != 3) throw DecodeError("GLB node translation is not three numbers");
          for (size_t i = 0; i < 3; ++i) mesh.translation[i] = t->array[i].number;
        }
        break;
      }
  const JsonValue& primitives = *[&] {
    const JsonValue* p = element(root, "meshes", 0).find("primitives");
    if (!p || p->array.empty()) throw DecodeError("GLB mesh 0 has no primitives");
    return p;
  }();
  const JsonValue& primitive = primitives.array[0];
  if (optionalIndex(primitive, "mode", 4) != 4) throw DecodeError("GLB primitive is not a triangle list");
  const JsonValue* attributes = primitive.find("attributes");
  if (!attributes) throw DecodeError("GLB primitive has no attributes");
  mesh.positions = readAccessor<float>(root, chunks, attributes->index("POSITION"), 3);
  const size_t vertices = mesh.vertexCount();
  if (attributes->find("NORMAL")) mesh.normals = readAccessor<float>(root, chunks, attributes->index("NORMAL"), 3);
  if (attributes->find("TEXCOORD_0")) mesh.uvs = readAccessor<float>(root, chunks, attributes->index("TEXCOORD_0"), 2);
  if ((!mesh.normals.empty() && mesh.normals.size() != 3 * vertices) || (!mesh.uvs.empty() && mesh.uvs.size() != 2 * vertices))
    throw DecodeError("GLB attributes disagree on the vertex count");
  mesh.indices = readAccessor<uint32_t>(root, chunks, primitive.index("indices"), 1);
  if (mesh.indices.size() % 3) throw DecodeError("GLB index count is not a multiple of three");
  for (uint32_t i : mesh.indices)
    if (i >= vertices) throw DecodeError("GLB index " + std::to_string(i) + " is past the " + std::to_string(vertices) + " vertices");
  // The base colour texture's image, when the material has one.
  if (primitive.find("material")) {
    const JsonValue& material = element(root, "materials", primitive.index("material"));
    const JsonValue* pbr = material.find("pbrMetallicRoughness");
    const JsonValue* texture = pbr ? pbr->find("baseColorTexture") : nullptr;
    if (texture) {
      const JsonValue& image = element(root, "images", element(root, "textures", texture->index("index")).index("source"));
      const View view = viewOf(root, chunks, image.index("bufferView"));
      mesh.image.assign(view.start, view.start + view.length);
      if (const JsonValue* mime = image.find("mimeType")) mesh.imageMimeType = mime->string;
    }
  }
  return mesh;
}

}  // namespace WorldBridge
