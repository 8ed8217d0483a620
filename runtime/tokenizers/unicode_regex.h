#ifndef MODELHUB_RUNTIME_TOKENIZERS_UNICODE_REGEX_H_
#define MODELHUB_RUNTIME_TOKENIZERS_UNICODE_REGEX_H_

// A compiled regular expression over UTF-8 text with Unicode properties
// (\p{L}, \s over all of Unicode) and lookaround: PCRE2 with UTF, UCP and JIT,
// which splits text as Oniguruma does in Hugging Face tokenizers.

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace modelhub {

class UnicodeRegex {
 public:
  // Compiles `pattern`; on failure returns nullptr and sets `*error` to PCRE2's
  // message with the offset in the pattern where it failed.
  static std::unique_ptr<UnicodeRegex> Compile(std::string_view pattern, std::string* error);
  // A pattern matching `literal` exactly.
  static std::unique_ptr<UnicodeRegex> Literal(std::string_view literal);
  ~UnicodeRegex();
  UnicodeRegex(const UnicodeRegex&) = delete;
  UnicodeRegex& operator=(const UnicodeRegex&) = delete;

  // The non-empty, non-overlapping matches in `text` (valid UTF-8), left to
  // right, as [begin, end) byte offsets, appended to `*matches`. Empty matches
  // are skipped (the search goes on one character later). Safe to call from
  // several threads at once.
  void FindAll(std::string_view text, std::vector<std::pair<size_t, size_t>>* matches) const;

 private:
  struct Code;
  explicit UnicodeRegex(std::unique_ptr<Code> code);
  std::unique_ptr<Code> code_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_TOKENIZERS_UNICODE_REGEX_H_
