#include "Json.h"

#include <cmath>
#include <cstdlib>

#include "WorldBridgeCore/DecodeError.h"

namespace WorldBridge {
namespace {
constexpr int kMaxDepth = 64;

class Parser {
 public:
  explicit Parser(std::string_view text) : text_(text) {}

  JsonValue document() {
    JsonValue v = value(0);
    skipSpace();
    if (at_ != text_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& why) const {
    throw DecodeError("GLB JSON: " + why + " at character " + std::to_string(at_));
  }
  void skipSpace() {
    while (at_ < text_.size() && (text_[at_] == ' ' || text_[at_] == '\n' || text_[at_] == '\r' || text_[at_] == '\t'))
      ++at_;
  }
  char peek() {
    skipSpace();
    if (at_ >= text_.size()) fail("unexpected end");
    return text_[at_];
  }
  void expect(std::string_view word) {
    if (text_.substr(at_, word.size()) != word) fail("expected " + std::string(word));
    at_ += word.size();
  }

  JsonValue value(int depth) {
    if (depth > kMaxDepth) fail("nesting deeper than 64");
    JsonValue v;
    const char c = peek();
    if (c == '{') {
      v.type = JsonValue::Type::Object;
      ++at_;
      if (peek() == '}') {
        ++at_;
        return v;
      }
      while (true) {
        if (peek() != '"') fail("expected a member name");
        std::string key = string();
        if (peek() != ':') fail("expected ':'");
        ++at_;
        v.object.emplace_back(std::move(key), value(depth + 1));
        const char next = peek();
        ++at_;
        if (next == '}') return v;
        if (next != ',') fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      v.type = JsonValue::Type::Array;
      ++at_;
      if (peek() == ']') {
        ++at_;
        return v;
      }
      while (true) {
        v.array.push_back(value(depth + 1));
        const char next = peek();
        ++at_;
        if (next == ']') return v;
        if (next != ',') fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      v.type = JsonValue::Type::String;
      v.string = string();
      return v;
    }
    if (c == 't' || c == 'f') {
      v.type = JsonValue::Type::Bool;
      v.boolean = c == 't';
      expect(v.boolean ? "true" : "false");
      return v;
    }
    if (c == 'n') {
      expect("null");
      return v;
    }
    v.type = JsonValue::Type::Number;
    v.number = number();
    return v;
  }

  double number() {
    const size_t start = at_;
    while (at_ < text_.size() && std::string_view("+-0123456789.eE").find(text_[at_]) != std::string_view::npos) ++at_;
    if (at_ == start) fail("unexpected character");
    const std::string digits(text_.substr(start, at_ - start));
    char* end = nullptr;
    const double v = std::strtod(digits.c_str(), &end);
    if (end != digits.c_str() + digits.size() || !std::isfinite(v)) fail("malformed number");
    return v;
  }

  std::string string() {
    ++at_;  // the opening quote
    std::string out;
    while (true) {
      if (at_ >= text_.size()) fail("unterminated string");
      const char c = text_[at_++];
      if (c == '"') return out;
      if (c != '\\') {
        out += c;
        continue;
      }
      if (at_ >= text_.size()) fail("unterminated escape");
      const char e = text_[at_++];
      switch (e) {
        case '"': case '\\': case '/': out += e; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'n': out += '\n'; break;
        case 'r': out += '\r'; break;
        case 't': out += '\t'; break;
        case 'u': {
          if (at_ + 4 > text_.size()) fail("short \\u escape");
          const unsigned code = static_cast<unsigned>(std::strtoul(std::string(text_.substr(at_, 4)).c_str(), nullptr, 16));
          at_ += 4;
          // Names in our GLBs are ASCII; others are kept as UTF-8 of the code unit.
          if (code < 0x80) {
            out += static_cast<char>(code);
          } else if (code < 0x800) {
            out += static_cast<char>(0xC0 | (code >> 6));
            out += static_cast<char>(0x80 | (code & 0x3F));
          } else {
            out += static_cast<char>(0xE0 | (code >> 12));
            out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
            out += static_cast<char>(0x80 | (code & 0x3F));
          }
          break;
        }
        default: fail("unknown escape");
      }
    }
  }

  std::string_view text_;
  size_t at_ = 0;
};
}  // namespace

const JsonValue* JsonValue::find(std::string_view key) const {
  for (const auto& [name, value] : object)
    if (name == key) return &value;
  return nullptr;
}

size_t JsonValue::index(std::string_view key) const {
  const JsonValue* v = find(key);
  if (!v || v->type != Type::Number || v->number < 0 || v->number != std::floor(v->number) || v->number > 1e12)
    throw DecodeError("GLB JSON: '" + std::string(key) + "' is not an index");
  return static_cast<size_t>(v->number);
}

JsonValue parseJson(std::string_view text) { return Parser(text).document(); }

}  // namespace WorldBridge
