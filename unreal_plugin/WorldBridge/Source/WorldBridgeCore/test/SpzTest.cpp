// SPZ read on files built here byte by byte from the format's layout (versions 2, 3 and 4), and
// refused when malformed. The integration test checks SPZ tiles from the real server against the
// Python decoder.
#include <gtest/gtest.h>
#include <zlib.h>
#include <zstd.h>

#include <cmath>
#include <cstring>
#include <vector>

#include "WorldBridgeCore/DecodeError.h"
#include "WorldBridgeCore/Spz.h"

using namespace WorldBridge;

namespace {
using Bytes = std::vector<uint8_t>;

Bytes gzip(const Bytes& raw) {
  z_stream z{};
  EXPECT_EQ(deflateInit2(&z, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  Bytes out(deflateBound(&z, raw.size()) + 32);
  z.next_in = const_cast<Bytef*>(raw.data());
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = out.data();
  z.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&z, Z_FINISH), Z_STREAM_END);
  out.resize(out.size() - z.avail_out);
  deflateEnd(&z);
  return out;
}

void put32(Bytes& b, uint32_t v) {
  for (int i = 0; i < 4; ++i) b.push_back(static_cast<uint8_t>(v >> (8 * i)));
}
void put24(Bytes& b, int32_t v) {
  for (int i = 0; i < 3; ++i) b.push_back(static_cast<uint8_t>(static_cast<uint32_t>(v) >> (8 * i)));
}

// Two points: (1, -2.5, 3.25) unrotated, and (-0.5, 0, 2048 - 1/4096) turned 90 degrees about y.
struct Attributes {
  Bytes positions, alphas, colors, scales, rotations;
};
Attributes twoPoints(uint32_t version) {
  Attributes a;
  for (int32_t v : {4096, -10240, 13312, -2048, 0, (1 << 23) - 1}) put24(a.positions, v);
  a.alphas = {255, 0};
  a.colors = {128, 0, 255, 128, 128, 128};
  a.scales = {160, 144, 176, 160, 160, 160};  // exp(0), exp(-1), exp(1)
  if (version >= 3) {
    put32(a.rotations, 3u << 30);                                // identity: w largest, the rest 0
    put32(a.rotations, (((1u << 10) << 10) << 10) | 511u);       // y largest; w = +sqrt(1/2)
  } else {
    a.rotations = {128, 128, 128, 128, 218, 128};  // x y z around 0, then y ~ +0.71
  }
  return a;
}

// `coordinateSystem` >= 0 appends Adobe's coordinate-system extension with that value.
Bytes legacyFile(uint32_t version, const Attributes& a, uint32_t points = 2, int coordinateSystem = -1) {
  Bytes raw;
  put32(raw, 0x5053474E);
  put32(raw, version);
  put32(raw, points);
  const uint8_t flags = coordinateSystem >= 0 ? 0x2 : 0;
  raw.insert(raw.end(), {0, 12, flags, 0});  // SH degree 0, 12 fraction bits
  for (const Bytes* block : {&a.positions, &a.alphas, &a.colors, &a.scales, &a.rotations})
    raw.insert(raw.end(), block->begin(), block->end());
  if (coordinateSystem >= 0) {
    put32(raw, 0xADBE0003);
    put32(raw, 4);
    put32(raw, static_cast<uint32_t>(coordinateSystem));
  }
  return gzip(raw);
}

float color(uint8_t b) { return static_cast<float>(0.5 + 0.28209479177387814 * ((b / 255.0 - 0.5) / 0.15)); }

void expectTwoPoints(const SplatCloud& c, bool smallestThree) {
  ASSERT_EQ(c.size(), 2u);
  EXPECT_FLOAT_EQ(c.positions[0], 1.0f);
  EXPECT_FLOAT_EQ(c.positions[1], -2.5f);
  EXPECT_FLOAT_EQ(c.positions[2], 3.25f);
  EXPECT_FLOAT_EQ(c.positions[3], -0.5f);
  EXPECT_FLOAT_EQ(c.positions[5], static_cast<float>(((1 << 23) - 1) / 4096.0));
  EXPECT_EQ(c.opacities[0], 1.0f);
  EXPECT_EQ(c.opacities[1], 0.0f);
  EXPECT_EQ(c.colors[0], color(128));
  EXPECT_EQ(c.colors[1], color(0));
  EXPECT_EQ(c.colors[2], color(255));
  EXPECT_FLOAT_EQ(c.scales[0], 1.0f);
  EXPECT_FLOAT_EQ(c.scales[1], static_cast<float>(std::exp(-1.0)));
  EXPECT_FLOAT_EQ(c.scales[2], static_cast<float>(std::exp(1.0)));
  // Rotations come out w x y z.
  EXPECT_NEAR(c.rotations[0], 1.0f, 1e-4);
  EXPECT_NEAR(c.rotations[1], 0.0f, 1e-2);
  const float s = static_cast<float>(std::sqrt(0.5));
  EXPECT_NEAR(c.rotations[4], s, smallestThree ? 1e-6 : 2e-2);  // w
  EXPECT_NEAR(c.rotations[6], s, smallestThree ? 1e-6 : 2e-2);  // y
  EXPECT_NEAR(c.rotations[5], 0.0f, 1e-2);
}

void expectRefused(const Bytes& file, const std::string& because) {
  try {
    decodeSpz(file.data(), file.size());
    FAIL() << "accepted; expected: " << because;
  } catch (const DecodeError& e) {
    EXPECT_NE(std::string(e.what()).find(because), std::string::npos) << e.what();
  }
}
}  // namespace

TEST(Spz, Version3ReadsPositionsColoursScalesAndSmallestThreeRotations) {
  const Bytes file = legacyFile(3, twoPoints(3));
  expectTwoPoints(decodeSpz(file.data(), file.size()), true);
}

TEST(Spz, Version2ReadsFirstThreeRotations) {
  const Bytes file = legacyFile(2, twoPoints(2));
  expectTwoPoints(decodeSpz(file.data(), file.size()), false);
}

TEST(Spz, Version4ReadsZstdStreams) {
  const Attributes a = twoPoints(4);
  Bytes file;
  put32(file, 0x5053474E);
  put32(file, 4);
  put32(file, 2);
  file.insert(file.end(), {0, 12, 0, 5});  // 5 streams: no SH block
  put32(file, 32);                          // table of contents right after the header
  file.resize(32, 0);
  std::vector<Bytes> frames;
  for (const Bytes* block : {&a.positions, &a.alphas, &a.colors, &a.scales, &a.rotations}) {
    Bytes frame(ZSTD_compressBound(block->size()));
    frame.resize(ZSTD_compress(frame.data(), frame.size(), block->data(), block->size(), 3));
    for (uint64_t v : {uint64_t{frame.size()}, uint64_t{block->size()}})
      for (int i = 0; i < 8; ++i) file.push_back(static_cast<uint8_t>(v >> (8 * i)));
    frames.push_back(frame);
  }
  for (const Bytes& f : frames) file.insert(file.end(), f.begin(), f.end());
  expectTwoPoints(decodeSpz(file.data(), file.size()), true);
}

TEST(Spz, AFileInAnotherFrameIsTurnedIntoOurs) {
  // RDF (value 6): y down, z forward. Positions flip y and z; a turn about y turns the other way.
  const Bytes file = legacyFile(3, twoPoints(3), 2, 6);
  const SplatCloud c = decodeSpz(file.data(), file.size());
  EXPECT_FLOAT_EQ(c.positions[0], 1.0f);
  EXPECT_FLOAT_EQ(c.positions[1], 2.5f);
  EXPECT_FLOAT_EQ(c.positions[2], -3.25f);
  const float s = static_cast<float>(std::sqrt(0.5));
  EXPECT_NEAR(c.rotations[0], 1.0f, 1e-6);  // identity stays identity (w x y z)
  EXPECT_NEAR(c.rotations[4], s, 1e-6);     // w
  EXPECT_NEAR(c.rotations[6], -s, 1e-6);    // y: the turn reversed
  EXPECT_NEAR(c.rotations[5], 0.0f, 1e-6);
  EXPECT_NEAR(c.rotations[7], 0.0f, 1e-6);
  // RUB declared explicitly changes nothing.
  const Bytes rub = legacyFile(3, twoPoints(3), 2, 4);
  expectTwoPoints(decodeSpz(rub.data(), rub.size()), true);
  expectRefused(legacyFile(3, twoPoints(3), 2, 17), "unknown value 17");
}

TEST(Spz, MalformedFilesAreRefusedWithTheirReason) {
  expectRefused({1, 2, 3, 4}, "not an SPZ file");
  Bytes good = legacyFile(3, twoPoints(3));
  expectRefused(Bytes(good.begin(), good.begin() + good.size() / 2), "gzip");
  expectRefused(legacyFile(4, twoPoints(3)), "must not be gzip-wrapped");
  expectRefused(legacyFile(9, twoPoints(3)), "version 9");
  // A tiny file claiming a million points is refused before anything is allocated for them.
  expectRefused(legacyFile(3, twoPoints(3), 1000000), "impossible");
  // Claims 3 points, holds 2.
  expectRefused(legacyFile(3, twoPoints(3), 3), "header implies");
}
