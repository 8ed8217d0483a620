#include "runtime/tokenizers/tiktoken_file.h"

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <limits>
#include <optional>
#include <sstream>
#include <utility>

#include "absl/container/flat_hash_map.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

// Llama 3's tokenizer.py: num_reserved_special_tokens.
constexpr int kSpecialTokenCount = 256;
// The largest rank: the special tokens' ids must fit in int32 too.
constexpr int64_t kMaxRank = std::numeric_limits<int32_t>::max() - kSpecialTokenCount;

// `text` for a message: at most 48 bytes, bytes outside printable ASCII as \xHH.
std::string Excerpt(std::string_view text) {
  std::string out;
  const size_t shown = std::min<size_t>(text.size(), 48);
  for (size_t i = 0; i < shown; ++i) {
    const auto byte = static_cast<unsigned char>(text[i]);
    if (byte >= 0x20 && byte < 0x7F) {
      out.push_back(static_cast<char>(byte));
    } else {
      absl::StrAppend(&out, "\\x", absl::Hex(byte, absl::kZeroPad2));
    }
  }
  if (shown < text.size()) out += "...";
  return out;
}

int Base64Value(char c) {
  if (c >= 'A' && c <= 'Z') return c - 'A';
  if (c >= 'a' && c <= 'z') return c - 'a' + 26;
  if (c >= '0' && c <= '9') return c - '0' + 52;
  if (c == '+') return 62;
  if (c == '/') return 63;
  return -1;
}

// Decodes standard base64 with padding (RFC 4648 section 4) into `*bytes`;
// on failure returns false and sets `*error`.
bool DecodeBase64(std::string_view text, std::string* bytes, std::string* error) {
  if (text.size() % 4 != 0) {
    *error = absl::StrCat("'", Excerpt(text), "' is not base64: its length, ", text.size(),
                          ", is not a multiple of 4");
    return false;
  }
  size_t padding = 0;
  while (padding < 2 && padding < text.size() && text[text.size() - 1 - padding] == '=') {
    ++padding;
  }
  bytes->clear();
  uint32_t bits = 0;
  int bit_count = 0;
  for (size_t i = 0; i < text.size() - padding; ++i) {
    const int value = Base64Value(text[i]);
    if (value < 0) {
      *error = absl::StrCat("'", Excerpt(text), "' is not base64: '", Excerpt(text.substr(i, 1)),
                            "' at character ", i + 1, " is not a base64 digit");
      return false;
    }
    bits = (bits << 6) | static_cast<uint32_t>(value);
    bit_count += 6;
    if (bit_count >= 8) {
      bit_count -= 8;
      bytes->push_back(static_cast<char>((bits >> bit_count) & 0xFF));
    }
  }
  return true;
}

// The rank written `text`, or nullopt when it is not a decimal integer in
// [0, kMaxRank].
std::optional<int32_t> ParseRank(std::string_view text) {
  if (text.empty() || text.size() > 10) return std::nullopt;
  int64_t value = 0;
  for (const char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    value = value * 10 + (c - '0');
  }
  if (value > kMaxRank) return std::nullopt;
  return static_cast<int32_t>(value);
}

std::string LineName(size_t line) { return absl::StrCat("line ", line); }

[[noreturn]] void Fail(const std::string& path, const std::string& where,
                       const std::string& reason) {
  throw TokenizerLoadError(path, where, reason);
}

}  // namespace

std::vector<std::string> Llama3SpecialTokens() {
  std::vector<std::string> tokens = {
      "<|begin_of_text|>",
      "<|end_of_text|>",
      "<|reserved_special_token_0|>",
      "<|reserved_special_token_1|>",
      "<|reserved_special_token_2|>",
      "<|reserved_special_token_3|>",
      "<|start_header_id|>",
      "<|end_header_id|>",
      "<|reserved_special_token_4|>",
      "<|eot_id|>",  // end of turn
  };
  for (int i = 5; tokens.size() < static_cast<size_t>(kSpecialTokenCount); ++i) {
    tokens.push_back(absl::StrCat("<|reserved_special_token_", i, "|>"));
  }
  return tokens;
}

PipelineSpec ParseTiktokenFile(std::string_view text, const std::string& path) {
  absl::flat_hash_map<std::string, int32_t> vocab;
  absl::flat_hash_map<int32_t, size_t> rank_lines;  // rank -> its line
  std::vector<std::pair<int32_t, size_t>> ranks;    // (rank, line) in file order
  std::string bytes, error;
  size_t line_number = 0;
  size_t begin = 0;
  while (begin < text.size()) {
    size_t end = text.find('\n', begin);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(begin, end - begin);
    begin = end + 1;
    ++line_number;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    if (line.empty()) continue;
    const std::string where = LineName(line_number);
    const size_t space = line.find(' ');
    if (space == std::string_view::npos || line.find(' ', space + 1) != std::string_view::npos) {
      Fail(path, where,
           absl::StrCat("expected '<base64 token> <rank>', found '", Excerpt(line), "'"));
    }
    const std::string_view token_text = line.substr(0, space);
    const std::string_view rank_text = line.substr(space + 1);
    if (!DecodeBase64(token_text, &bytes, &error)) Fail(path, where, error);
    if (bytes.empty()) Fail(path, where, "the token is empty");
    const std::optional<int32_t> rank = ParseRank(rank_text);
    if (!rank) {
      Fail(path, where,
           absl::StrCat("the rank '", Excerpt(rank_text), "' is not a decimal integer from 0 to ",
                        kMaxRank));
    }
    const auto [rank_at, rank_is_new] = rank_lines.try_emplace(*rank, line_number);
    if (!rank_is_new) {
      Fail(path, where,
           absl::StrCat("rank ", *rank, " is given twice (first on line ", rank_at->second, ")"));
    }
    const auto [token_at, token_is_new] = vocab.try_emplace(bytes, *rank);
    if (!token_is_new) {
      Fail(path, where,
           absl::StrCat("token '", std::string(token_text), "' is given twice (first on line ",
                        rank_lines.at(token_at->second), ")"));
    }
    ranks.emplace_back(*rank, line_number);
  }

  const auto base_size = static_cast<int64_t>(ranks.size());
  for (const auto& [rank, line] : ranks) {
    if (rank >= base_size) {
      Fail(path, LineName(line),
           absl::StrCat("rank ", rank, " leaves a gap: the ", base_size,
                        " tokens must have the ranks 0..", base_size - 1,
                        ", each once (the special tokens are numbered from ", base_size, ")"));
    }
  }
  for (int byte = 0; byte < 256; ++byte) {
    const char single = static_cast<char>(byte);
    if (!vocab.contains(absl::string_view(&single, 1))) {
      Fail(path, "",
           absl::StrCat("byte 0x", absl::Hex(byte, absl::kZeroPad2),
                        " has no rank; a tiktoken file must rank every single byte"));
    }
  }

  PipelineSpec spec;
  spec.path = path;
  spec.model.kind = ModelSpec::Kind::kTiktoken;
  spec.model.vocab = std::move(vocab);

  PreTokenizerStep split{};
  split.kind = PreTokenizerStep::Kind::kSplit;
  split.pattern = {std::string(kLlama3Pattern), true};
  split.behavior = SplitBehavior::kIsolated;
  split.where = "pre-tokenizer (Llama 3's regex)";
  spec.pre_tokenizers.push_back(std::move(split));

  const std::vector<std::string> specials = Llama3SpecialTokens();
  for (size_t i = 0; i < specials.size(); ++i) {
    AddedToken token;
    token.id = static_cast<int32_t>(base_size + static_cast<int64_t>(i));
    token.content = specials[i];
    token.special = true;
    token.normalized = false;
    token.where = absl::StrCat("special token ", specials[i]);
    spec.added_tokens.push_back(std::move(token));
  }

  spec.single_template.push_back({false, {static_cast<int32_t>(base_size)}});
  spec.single_template.push_back({true, {}});

  DecoderStep bytes_decoder{};
  bytes_decoder.kind = DecoderStep::Kind::kBytes;
  bytes_decoder.where = "decoder (the tokens' bytes)";
  spec.decoders.push_back(std::move(bytes_decoder));
  return spec;
}

PipelineSpec ReadTiktokenFile(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error)) {
    throw TokenizerLoadError(path, "", "is a directory, not a tiktoken rank file");
  }
  std::ifstream file(path, std::ios::binary);
  if (!file) throw TokenizerLoadError(path, "", "cannot open the file");
  std::ostringstream text;
  text << file.rdbuf();
  if (file.bad()) throw TokenizerLoadError(path, "", "cannot read the file");
  return ParseTiktokenFile(text.str(), path);
}

}  // namespace modelhub
