#include "WorldBridgeCore/Spz.h"

#include <zlib.h>

#include <cmath>
#include <array>
#include <cstring>
#include <iterator>
#include <string>
#include <vector>

#include "ByteReader.h"
#include "WorldBridgeCore/DecodeError.h"
#include "Zstd.h"

namespace WorldBridge {
namespace {
constexpr uint32_t kMagic = 0x5053474E;  // "NGSP"
constexpr size_t kLegacyHeader = 16;
constexpr size_t kV4Header = 32;
constexpr uint8_t kFlagExtensions = 0x2;
constexpr uint32_t kExtCoordinateSystem = 0xADBE0003;
constexpr size_t kMaxExtensionBytes = 1 << 20;
constexpr uint64_t kMaxGzipRatio = 1100;  // deflate cannot expand much past 1032x
constexpr uint64_t kMaxZstdRatio = 1024;
constexpr unsigned kShDim[5] = {0, 3, 8, 15, 24};
constexpr double kSqrt1_2 = 0.7071067811865476;
constexpr double kShC0 = 0.28209479177387814;
constexpr double kColorScale = 0.15;

struct Info {
  uint32_t version, points;
  uint8_t shDegree, fractionalBits, flags;
};

// Attribute sizes in file order: positions alphas colors scales rotations sh.
std::vector<size_t> attributeSizes(const Info& info) {
  const size_t n = info.points;
  return {9 * n, n, 3 * n, 3 * n, (info.version >= 3 ? 4 : 3) * n, 3 * size_t{kShDim[info.shDegree]} * n};
}

void checkHeader(const Info& info, uint32_t maxPoints) {
  if (info.version < 2 || info.version > 4)
    throw DecodeError("SPZ version " + std::to_string(info.version) + " is not supported (reads 2 to 4)");
  if (info.points > maxPoints)
    throw DecodeError("SPZ claims " + std::to_string(info.points) + " points, more than the limit of " +
                      std::to_string(maxPoints));
  if (info.shDegree > 4) throw DecodeError("SPZ SH degree " + std::to_string(info.shDegree) + " is not in 0..4");
  if (info.fractionalBits > 23) throw DecodeError("SPZ fractional bits exceed the 24-bit position field");
}

// Adobe's coordinate-system enum (SPZ_ADOBE_coordinate_system), in its order; 0 is unspecified.
constexpr const char* kCoordinateSystems[] = {"UNSPECIFIED", "LDB", "RDB", "LUB", "RUB", "LDF", "RDF", "LUF", "RUF",
                                              "LBD", "RBD", "LBU", "RBU", "LFD", "RFD", "LFU", "RFU"};

// Walks [u32 type][u32 length][payload] records; the coordinate system they declare (RUB if none).
std::string coordinateSystem(const uint8_t* data, size_t size) {
  std::string system = "RUB";
  size_t offset = 0;
  const ByteReader in(data, size, "SPZ extensions");
  while (offset + 8 <= size) {
    const auto kind = in.at<uint32_t>(offset);
    const auto length = in.at<uint32_t>(offset + 4);
    offset += 8;
    if (length > size - offset) throw DecodeError("SPZ extension record runs past the end of its block");
    if (kind == kExtCoordinateSystem) {
      if (length < 4) throw DecodeError("SPZ coordinate-system extension is too short");
      const auto value = in.at<uint32_t>(offset);
      if (value >= std::size(kCoordinateSystems))
        throw DecodeError("SPZ coordinate-system extension has unknown value " + std::to_string(value));
      system = value == 0 ? "RUB" : kCoordinateSystems[value];
    }
    offset += length;
  }
  return system;
}

// The matrix taking a vector in the named file frame to ours (RUB): column i is the world
// direction of the file's axis i (R/L = +-x, U/D = +-y, B/F = +-z).
std::array<std::array<double, 3>, 3> frameMatrix(const std::string& name) {
  std::array<std::array<double, 3>, 3> m{};
  for (int column = 0; column < 3; ++column) {
    const char axis = name[column];
    const int row = (axis == 'R' || axis == 'L') ? 0 : (axis == 'U' || axis == 'D') ? 1 : 2;
    m[row][column] = (axis == 'R' || axis == 'U' || axis == 'B') ? 1.0 : -1.0;
  }
  return m;
}

using Matrix3 = std::array<std::array<double, 3>, 3>;

Matrix3 matrixFromXyzw(const double q[4]) {
  const double x = q[0], y = q[1], z = q[2], w = q[3];
  return {{{1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)},
           {2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)},
           {2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)}}};
}

// Rotation matrix -> quaternion (x y z w) by the largest-diagonal branch, as bridge/formats/_quat.py.
void xyzwFromMatrix(const Matrix3& r, double q[4]) {
  const double trace = r[0][0] + r[1][1] + r[2][2];
  const double candidates[4] = {trace, r[0][0], r[1][1], r[2][2]};
  int best = 0;
  for (int i = 1; i < 4; ++i)
    if (candidates[i] > candidates[best]) best = i;
  if (best == 0) {
    const double s = std::sqrt(1.0 + trace) * 2;
    q[0] = (r[2][1] - r[1][2]) / s;
    q[1] = (r[0][2] - r[2][0]) / s;
    q[2] = (r[1][0] - r[0][1]) / s;
    q[3] = s / 4;
    return;
  }
  const int i = best - 1, j = (i + 1) % 3, k = (i + 2) % 3;
  const double s = std::sqrt(1.0 + r[i][i] - r[j][j] - r[k][k]) * 2;
  q[i] = s / 4;
  q[j] = (r[j][i] + r[i][j]) / s;
  q[k] = (r[k][i] + r[i][k]) / s;
  q[3] = (r[k][j] - r[j][k]) / s;
}

// A file frame other than ours: positions p -> M p, rotations R -> M R M^T.
void toOurFrame(const Matrix3& m, double p[3], double q[4]) {
  const double in[3] = {p[0], p[1], p[2]};
  for (int row = 0; row < 3; ++row) p[row] = m[row][0] * in[0] + m[row][1] * in[1] + m[row][2] * in[2];
  const Matrix3 r = matrixFromXyzw(q);
  Matrix3 mr{}, out{};
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 3; ++c) mr[a][b] += m[a][c] * r[c][b];
  for (int a = 0; a < 3; ++a)
    for (int b = 0; b < 3; ++b)
      for (int c = 0; c < 3; ++c) out[a][b] += mr[a][c] * m[b][c];
  xyzwFromMatrix(out, q);
}

// Inflates a gzip stream into at most `limit` bytes; more is a lie about the size (or a bomb).
std::vector<uint8_t> gunzipLimited(const uint8_t* data, size_t size, size_t limit, size_t stopAfter) {
  z_stream z{};
  if (inflateInit2(&z, 16 + MAX_WBITS) != Z_OK) throw DecodeError("zlib could not start inflating");
  std::vector<uint8_t> out(std::min(limit, stopAfter) + 1);
  z.next_in = const_cast<Bytef*>(data);
  z.avail_in = static_cast<uInt>(size);
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  const int rc = inflate(&z, Z_FINISH);
  const size_t produced = out.size() - z.avail_out;
  inflateEnd(&z);
  if (rc != Z_STREAM_END && rc != Z_BUF_ERROR && rc != Z_OK) throw DecodeError("SPZ gzip stream is corrupt");
  if (stopAfter < limit) {
    out.resize(std::min(produced, stopAfter));
    return out;
  }
  if (produced > limit) throw DecodeError("SPZ gzip stream inflates past the size its header implies");
  if (rc != Z_STREAM_END) throw DecodeError("SPZ gzip stream is truncated");
  out.resize(produced);
  return out;
}

struct Parsed {
  Info info;
  std::vector<std::vector<uint8_t>> blocks;
  std::string system = "RUB";  // the file's frame
};

Parsed readLegacy(const uint8_t* data, size_t size, uint32_t maxPoints) {
  const std::vector<uint8_t> head = gunzipLimited(data, size, SIZE_MAX - 1, kLegacyHeader);
  if (head.size() < kLegacyHeader) throw DecodeError("SPZ stream ends inside its 16-byte header");
  const ByteReader in(head.data(), head.size(), "SPZ header");
  if (in.at<uint32_t>(0) != kMagic) throw DecodeError("not an SPZ file: wrong magic");
  Info info{in.at<uint32_t>(4), in.at<uint32_t>(8), head[12], head[13], head[14]};
  if (info.version == 4) throw DecodeError("SPZ version 4 must not be gzip-wrapped");
  checkHeader(info, maxPoints);
  if (info.points > size * kMaxGzipRatio / 9 + 1)
    throw DecodeError("SPZ claims " + std::to_string(info.points) + " points, impossible in " + std::to_string(size) +
                      " compressed bytes");
  const std::vector<size_t> sizes = attributeSizes(info);
  size_t bodySize = kLegacyHeader;
  for (size_t s : sizes) bodySize += s;
  const bool hasExtensions = info.flags & kFlagExtensions;
  const std::vector<uint8_t> raw =
      gunzipLimited(data, size, bodySize + (hasExtensions ? kMaxExtensionBytes : 0), SIZE_MAX);
  if (raw.size() < bodySize || (raw.size() != bodySize && !hasExtensions))
    throw DecodeError("SPZ payload has " + std::to_string(raw.size()) + " bytes, its header implies " +
                      std::to_string(bodySize));
  Parsed parsed{info, {}, "RUB"};
  size_t offset = kLegacyHeader;
  for (size_t s : sizes) {
    parsed.blocks.emplace_back(raw.begin() + offset, raw.begin() + offset + s);
    offset += s;
  }
  if (hasExtensions) parsed.system = coordinateSystem(raw.data() + offset, raw.size() - offset);
  return parsed;
}

Parsed readV4(const uint8_t* data, size_t size, uint32_t maxPoints) {
  if (size < kV4Header) throw DecodeError("SPZ v4 file ends inside its 32-byte header");
  const ByteReader in(data, size, "SPZ v4 file");
  Info info{in.at<uint32_t>(4), in.at<uint32_t>(8), data[12], data[13], data[14]};
  const uint8_t streamCount = data[15];
  const uint32_t tocOffset = in.at<uint32_t>(16);
  if (info.version != 4) throw DecodeError("SPZ with a plain header must be version 4");
  checkHeader(info, maxPoints);
  if (info.points > size * kMaxZstdRatio / 9 + 1)
    throw DecodeError("SPZ claims " + std::to_string(info.points) + " points, impossible in " + std::to_string(size) +
                      " bytes");
  if (tocOffset < kV4Header || tocOffset > size) throw DecodeError("SPZ v4 table of contents offset is out of range");
  const std::string system =
      (info.flags & kFlagExtensions) ? coordinateSystem(data + kV4Header, tocOffset - kV4Header) : "RUB";
  const std::vector<size_t> sizes = attributeSizes(info);
  size_t expectedStreams = 0;
  for (size_t s : sizes) expectedStreams += s ? 1 : 0;
  if (streamCount != expectedStreams)
    throw DecodeError("SPZ v4 has " + std::to_string(streamCount) + " streams, expected " +
                      std::to_string(expectedStreams));
  size_t offset = tocOffset + size_t{streamCount} * 16;
  if (offset > size) throw DecodeError("SPZ v4 table of contents is truncated");
  Parsed parsed{info, {}, system};
  size_t entry = 0;
  for (size_t s : sizes) {
    if (s == 0) {
      parsed.blocks.emplace_back();
      continue;
    }
    const auto compressed = in.at<uint64_t>(tocOffset + entry * 16);
    const auto uncompressed = in.at<uint64_t>(tocOffset + entry * 16 + 8);
    if (uncompressed != s) throw DecodeError("SPZ v4 stream " + std::to_string(entry) + " has the wrong size");
    if (compressed > size - offset) throw DecodeError("SPZ v4 stream runs past the end of the file");
    parsed.blocks.push_back(inflateZstdExactly(data + offset, compressed, s, "SPZ v4 stream"));
    offset += compressed;
    ++entry;
  }
  if (offset != size) throw DecodeError("SPZ v4 file has trailing bytes after its streams");
  return parsed;
}

// SPZ v3 "smallest three": bits 31-30 the largest component's index (x y z w), then 10 bits per
// other component from the top: a sign bit and a 9-bit magnitude of |c| / sqrt(1/2) * 511.
void unpackSmallestThree(uint32_t packed, double q[4]) {
  const unsigned largest = packed >> 30;
  for (int i = 3; i >= 0; --i) {
    if (static_cast<unsigned>(i) == largest) {
      q[i] = 0.0;
      continue;
    }
    const double value = kSqrt1_2 * static_cast<double>(packed & 511u) / 511.0;
    q[i] = ((packed >> 9) & 1u) ? -value : value;
    packed >>= 10;
  }
  const double rest = q[0] * q[0] + q[1] * q[1] + q[2] * q[2] + q[3] * q[3];
  q[largest] = std::sqrt(std::max(0.0, 1.0 - rest));
}
}  // namespace

SplatCloud decodeSpz(const uint8_t* data, size_t size, uint32_t maxPoints) {
  Parsed parsed;
  if (size >= 2 && data[0] == 0x1f && data[1] == 0x8b) {
    parsed = readLegacy(data, size, maxPoints);
  } else if (size >= 4 && ByteReader(data, size, "SPZ").at<uint32_t>(0) == kMagic) {
    parsed = readV4(data, size, maxPoints);
  } else {
    throw DecodeError("not an SPZ file: neither a gzip stream nor an NGSP header");
  }
  const Info& info = parsed.info;
  const auto& b = parsed.blocks;
  const size_t n = info.points;
  const double unit = static_cast<double>(uint32_t{1} << info.fractionalBits);
  const bool convert = parsed.system != "RUB";
  const Matrix3 frame = frameMatrix(parsed.system);
  SplatCloud cloud;
  cloud.resize(n);
  for (size_t i = 0; i < n; ++i) {
    double position[3];
    for (int a = 0; a < 3; ++a) {
      const uint8_t* p = b[0].data() + 9 * i + 3 * a;
      int32_t fixed = p[0] | (p[1] << 8) | (p[2] << 16);
      if (fixed & 0x800000) fixed -= 1 << 24;
      position[a] = fixed / unit;
      const double raw = b[2][3 * i + a];
      cloud.colors[3 * i + a] = static_cast<float>(0.5 + kShC0 * ((raw / 255.0 - 0.5) / kColorScale));
      cloud.scales[3 * i + a] = static_cast<float>(std::exp(b[3][3 * i + a] / 16.0 - 10.0));
    }
    cloud.opacities[i] = static_cast<float>(b[1][i] / 255.0);
    double q[4];  // x y z w
    if (info.version >= 3) {
      uint32_t packed;
      std::memcpy(&packed, b[4].data() + 4 * i, 4);
      unpackSmallestThree(packed, q);
    } else {
      for (int a = 0; a < 3; ++a) q[a] = b[4][3 * i + a] / 127.5 - 1.0;
      q[3] = std::sqrt(std::max(0.0, 1.0 - (q[0] * q[0] + q[1] * q[1] + q[2] * q[2])));
    }
    if (convert) toOurFrame(frame, position, q);
    for (int a = 0; a < 3; ++a) cloud.positions[3 * i + a] = static_cast<float>(position[a]);
    cloud.rotations[4 * i] = static_cast<float>(q[3]);
    for (int a = 0; a < 3; ++a) cloud.rotations[4 * i + 1 + a] = static_cast<float>(q[a]);
  }
  return cloud;
}

}  // namespace WorldBridge
