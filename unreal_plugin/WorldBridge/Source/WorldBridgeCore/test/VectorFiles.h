// Reading the shared test vectors (tests/vectors/, written by the Python side).
#pragma once

#include <algorithm>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <vector>

namespace WorldBridgeTest {

inline std::filesystem::path vectorsDir() { return std::filesystem::path(WORLDBRIDGE_VECTORS_DIR); }

inline std::vector<uint8_t> readBytes(const std::filesystem::path& path) {
  std::ifstream file(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(file), std::istreambuf_iterator<char>()};
}

/// The encoded files in `subdir` with extension `ext`, sorted by name.
inline std::vector<std::filesystem::path> vectorFiles(const std::string& subdir, const std::string& ext) {
  std::vector<std::filesystem::path> out;
  for (const auto& entry : std::filesystem::directory_iterator(vectorsDir() / subdir))
    if (entry.path().extension() == ext) out.push_back(entry.path());
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace WorldBridgeTest
