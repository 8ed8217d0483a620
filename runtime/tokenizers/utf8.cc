#include "runtime/tokenizers/utf8.h"

#include <cstdint>
#include <cstring>

namespace modelhub {
namespace {

// The length of the well-formed prefix of the sequence at `pos` (its lead byte
// and the continuation bytes that fit Unicode's table 3-7) and whether the
// whole sequence is well-formed.
struct SequenceCheck {
  size_t length;
  bool complete;
};

SequenceCheck CheckSequence(std::string_view text, size_t pos) {
  const auto lead = static_cast<unsigned char>(text[pos]);
  if (lead < 0x80) return {1, true};
  size_t needed;
  unsigned char low = 0x80, high = 0xBF;  // the range of the second byte
  if (lead >= 0xC2 && lead <= 0xDF) {
    needed = 1;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    needed = 2;
    if (lead == 0xE0) low = 0xA0;
    if (lead == 0xED) high = 0x9F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    needed = 3;
    if (lead == 0xF0) low = 0x90;
    if (lead == 0xF4) high = 0x8F;
  } else {
    return {1, false};
  }
  size_t length = 1;
  for (size_t i = 0; i < needed; ++i) {
    if (pos + length >= text.size()) return {length, false};
    const auto byte = static_cast<unsigned char>(text[pos + length]);
    const unsigned char min = i == 0 ? low : 0x80;
    const unsigned char max = i == 0 ? high : 0xBF;
    if (byte < min || byte > max) return {length, false};
    ++length;
  }
  return {length, true};
}

}  // namespace

size_t FindInvalidUtf8(std::string_view text) {
  size_t pos = 0;
  while (pos < text.size()) {
    // ASCII runs dominate real text: skip them eight bytes at a time.
    while (pos + 8 <= text.size()) {
      uint64_t chunk;
      std::memcpy(&chunk, text.data() + pos, 8);
      if (chunk & 0x8080808080808080ULL) break;
      pos += 8;
    }
    if (pos >= text.size()) break;
    const SequenceCheck check = CheckSequence(text, pos);
    if (!check.complete) return pos;
    pos += check.length;
  }
  return std::string_view::npos;
}

std::string Utf8Lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t pos = 0;
  while (pos < bytes.size()) {
    const SequenceCheck check = CheckSequence(bytes, pos);
    if (check.complete) {
      out.append(bytes.data() + pos, check.length);
    } else {
      out.append(kReplacementCharacter);
    }
    pos += check.length;
  }
  return out;
}

void AppendUtf8(char32_t code_point, std::string* out) {
  if (code_point < 0x80) {
    out->push_back(static_cast<char>(code_point));
  } else if (code_point < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (code_point >> 6)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else if (code_point < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (code_point >> 12)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (code_point >> 18)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((code_point >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (code_point & 0x3F)));
  }
}

char32_t NextCodePoint(std::string_view text, size_t* pos) {
  const auto lead = static_cast<unsigned char>(text[*pos]);
  const size_t length = Utf8SequenceLength(lead);
  char32_t code_point = length == 1 ? lead : lead & (0x7F >> length);
  for (size_t i = 1; i < length && *pos + i < text.size(); ++i) {
    code_point = (code_point << 6) | (static_cast<unsigned char>(text[*pos + i]) & 0x3F);
  }
  *pos += length;
  return code_point;
}

}  // namespace modelhub
