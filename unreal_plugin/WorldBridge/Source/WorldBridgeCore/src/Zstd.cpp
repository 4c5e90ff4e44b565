#include "Zstd.h"

#include <zstd.h>

#include <string>

#include "WorldBridgeCore/DecodeError.h"

namespace WorldBridge {

std::vector<uint8_t> inflateZstdExactly(const uint8_t* frame, size_t size, size_t expected, const char* what) {
  const unsigned long long declared = ZSTD_getFrameContentSize(frame, size);
  if (declared == ZSTD_CONTENTSIZE_ERROR) throw DecodeError(std::string(what) + " is not a zstd frame");
  if (declared != ZSTD_CONTENTSIZE_UNKNOWN && declared != expected)
    throw DecodeError(std::string(what) + ": zstd frame declares " + std::to_string(declared) + " bytes, expected " +
                      std::to_string(expected));
  std::vector<uint8_t> out(expected);
  const size_t got = ZSTD_decompress(out.data(), out.size(), frame, size);
  if (ZSTD_isError(got)) throw DecodeError(std::string(what) + " is corrupt: " + ZSTD_getErrorName(got));
  if (got != expected)
    throw DecodeError(std::string(what) + " inflates to " + std::to_string(got) + " bytes, expected " +
                      std::to_string(expected));
  return out;
}

}  // namespace WorldBridge
