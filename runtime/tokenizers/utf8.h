#ifndef MODELHUB_RUNTIME_TOKENIZERS_UTF8_H_
#define MODELHUB_RUNTIME_TOKENIZERS_UTF8_H_

// UTF-8 helpers of the tokenizers: validation with the offset of the first bad
// byte, lossy conversion with Rust's replacement rules (what Hugging Face
// tokenizers' decoders produce), and code point iteration.

#include <cstddef>
#include <string>
#include <string_view>

namespace modelhub {

// The byte offset of the first byte of `text` that does not begin or continue a
// well-formed UTF-8 sequence (overlong forms, surrogates and code points above
// U+10FFFF are ill-formed), or std::string_view::npos when `text` is UTF-8.
size_t FindInvalidUtf8(std::string_view text);

// `bytes` as UTF-8 text, each maximal ill-formed subsequence replaced by one
// U+FFFD (Unicode's "substitution of maximal subparts", as Rust's
// String::from_utf8_lossy).
std::string Utf8Lossy(std::string_view bytes);

// Appends the UTF-8 encoding of `code_point` (at most U+10FFFF) to `out`.
void AppendUtf8(char32_t code_point, std::string* out);

// The number of bytes of the UTF-8 sequence that starts with `lead` in valid
// UTF-8 text (1 for ASCII and, defensively, for a stray continuation byte).
inline size_t Utf8SequenceLength(unsigned char lead) {
  if (lead < 0xC0) return 1;
  if (lead < 0xE0) return 2;
  if (lead < 0xF0) return 3;
  return 4;
}

// The code point that starts at `*pos` of valid UTF-8 `text`; advances `*pos`
// past it.
char32_t NextCodePoint(std::string_view text, size_t* pos);

// The U+FFFD replacement character in UTF-8.
inline constexpr std::string_view kReplacementCharacter = "\xEF\xBF\xBD";

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_TOKENIZERS_UTF8_H_
