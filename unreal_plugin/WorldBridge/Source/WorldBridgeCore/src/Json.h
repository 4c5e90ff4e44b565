// A small JSON reader for the one place the core needs JSON: a GLB's chunk. Bounded depth and
// checked syntax; a malformed document throws DecodeError.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace WorldBridge {

struct JsonValue {
  enum class Type { Null, Bool, Number, String, Array, Object };
  Type type = Type::Null;
  bool boolean = false;
  double number = 0;
  std::string string;
  std::vector<JsonValue> array;
  std::vector<std::pair<std::string, JsonValue>> object;

  /// The member `key` of an object, or null when absent (or this is not an object).
  const JsonValue* find(std::string_view key) const;
  /// The member `key` as a non-negative integer index; DecodeError when absent or not one.
  size_t index(std::string_view key) const;
};

JsonValue parseJson(std::string_view text);

}  // namespace WorldBridge
