#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "WorldBridgeCore/Sha256.h"

using namespace WorldBridge;

namespace {
std::string hexOf(const std::string& text) {
  return Sha256::hex(Sha256::digest(reinterpret_cast<const uint8_t*>(text.data()), text.size()));
}
}  // namespace

TEST(Sha256, MatchesFipsExamples) {
  EXPECT_EQ(hexOf(""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
  EXPECT_EQ(hexOf("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(hexOf("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq"),
            "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

TEST(Sha256, PiecesHashAsTheWhole) {
  std::vector<uint8_t> data(1000);
  for (size_t i = 0; i < data.size(); ++i) data[i] = static_cast<uint8_t>(i * 7 + 3);
  Sha256 pieces;
  pieces.update(data.data(), 1);
  pieces.update(data.data() + 1, 63);
  pieces.update(data.data() + 64, 500);
  pieces.update(data.data() + 564, 436);
  EXPECT_EQ(pieces.finish(), Sha256::digest(data.data(), data.size()));
}
