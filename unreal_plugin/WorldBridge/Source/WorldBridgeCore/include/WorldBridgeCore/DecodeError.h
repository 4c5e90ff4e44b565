// The one exception a decoder throws: the bytes are malformed, truncated or hostile. The message
// says why, in the Python decoders' words where they have one.
#pragma once

#include <stdexcept>
#include <string>

namespace WorldBridge {

class DecodeError : public std::runtime_error {
 public:
  explicit DecodeError(const std::string& why) : std::runtime_error(why) {}
};

}  // namespace WorldBridge
