// SHA-256 (FIPS 180-4): tiles are named by the hex digest of their bytes, and the GPU-ready
// format carries one over its header and body. Ours, so the core needs no crypto library.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace WorldBridge {

class Sha256 {
 public:
  Sha256();
  void update(const uint8_t* data, size_t size);
  std::array<uint8_t, 32> finish();

  static std::array<uint8_t, 32> digest(const uint8_t* data, size_t size);
  static std::string hex(const std::array<uint8_t, 32>& digest);

 private:
  void block(const uint8_t* chunk);
  std::array<uint32_t, 8> state_;
  std::array<uint8_t, 64> buffer_{};
  size_t buffered_ = 0;
  uint64_t length_ = 0;
};

}  // namespace WorldBridge
