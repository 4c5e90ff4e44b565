// Little-endian reads at checked offsets: a read past the end throws DecodeError, never UB.
#pragma once

#include <cstdint>
#include <cstring>
#include <string>

#include "WorldBridgeCore/DecodeError.h"

namespace WorldBridge {

class ByteReader {
 public:
  ByteReader(const uint8_t* data, size_t size, const char* what) : data_(data), size_(size), what_(what) {}

  template <typename T>
  T at(size_t offset) const {
    if (offset > size_ || sizeof(T) > size_ - offset)
      throw DecodeError(std::string(what_) + " ends at byte " + std::to_string(size_) + ", inside a field at " +
                        std::to_string(offset));
    T value;
    std::memcpy(&value, data_ + offset, sizeof(T));  // host is little-endian (checked at configure time)
    return value;
  }

 private:
  const uint8_t* data_;
  size_t size_;
  const char* what_;
};

}  // namespace WorldBridge
