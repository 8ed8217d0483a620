#include "runtime/tokenizers/unicode_regex.h"

#include <pcre2.h>

#include "absl/strings/str_cat.h"
#include "runtime/tokenizers/utf8.h"

namespace modelhub {

struct UnicodeRegex::Code {
  pcre2_code* code = nullptr;
  bool jit = false;
  ~Code() { pcre2_code_free(code); }
};

namespace {

// Match data sized for any pattern of this program, one per thread.
struct ThreadMatchData {
  pcre2_match_data* data = pcre2_match_data_create(16, nullptr);
  ~ThreadMatchData() { pcre2_match_data_free(data); }
};

pcre2_match_data* MatchData() {
  thread_local ThreadMatchData match_data;
  return match_data.data;
}

int Match(const pcre2_code* code, bool jit, std::string_view text, size_t start, uint32_t options,
          pcre2_match_data* data) {
  const auto* subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  if (jit) return pcre2_jit_match(code, subject, text.size(), start, options, data, nullptr);
  return pcre2_match(code, subject, text.size(), start, options | PCRE2_NO_UTF_CHECK, data,
                     nullptr);
}

}  // namespace

UnicodeRegex::UnicodeRegex(std::unique_ptr<Code> code) : code_(std::move(code)) {}
UnicodeRegex::~UnicodeRegex() = default;

std::unique_ptr<UnicodeRegex> UnicodeRegex::Compile(std::string_view pattern, std::string* error) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  pcre2_code* code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(pattern.data()), pattern.size(),
                                   PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (code == nullptr) {
    PCRE2_UCHAR message[256];
    pcre2_get_error_message(error_code, message, sizeof(message));
    *error = absl::StrCat(reinterpret_cast<const char*>(message), " at offset ", error_offset,
                          " of the pattern");
    return nullptr;
  }
  auto compiled = std::make_unique<Code>();
  compiled->code = code;
  compiled->jit = pcre2_jit_compile(code, PCRE2_JIT_COMPLETE) == 0;
  return std::unique_ptr<UnicodeRegex>(new UnicodeRegex(std::move(compiled)));
}

std::unique_ptr<UnicodeRegex> UnicodeRegex::Literal(std::string_view literal) {
  std::string pattern = "\\Q";
  // \Q...\E quotes everything but "\E" itself, which is split across two quotes.
  size_t pos = 0;
  while (pos < literal.size()) {
    const size_t end = literal.find("\\E", pos);
    if (end == std::string_view::npos) {
      pattern.append(literal.substr(pos));
      break;
    }
    pattern.append(literal.substr(pos, end + 1 - pos));
    pattern += "\\E\\Q";
    pos = end + 1;
  }
  pattern += "\\E";
  std::string error;
  return Compile(pattern, &error);
}

void UnicodeRegex::FindAll(std::string_view text,
                           std::vector<std::pair<size_t, size_t>>* matches) const {
  pcre2_match_data* data = MatchData();
  size_t start = 0;
  while (start <= text.size()) {
    const int rc = Match(code_->code, code_->jit, text, start, 0, data);
    if (rc < 0) break;  // PCRE2_ERROR_NOMATCH, or a limit (never for these patterns)
    const PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(data);
    const size_t begin = ovector[0], end = ovector[1];
    if (end > begin) {
      matches->emplace_back(begin, end);
      start = end;
    } else {
      if (begin >= text.size()) break;
      start = begin + Utf8SequenceLength(static_cast<unsigned char>(text[begin]));
    }
  }
}

}  // namespace modelhub
