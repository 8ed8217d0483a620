#include "runtime/tokenizers/pipeline_tokenizer.h"

#include <unicode/uchar.h>
#include <unicode/unorm2.h>
#include <unicode/ustring.h>

#include <algorithm>
#include <bitset>
#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"
#include "runtime/tokenizers/utf8.h"

namespace modelhub {
namespace {

// GPT-2's map from bytes to printable characters: printable Latin-1 bytes stand
// for themselves, the others for U+0100 onwards in byte order.
std::array<char32_t, 256> ByteToChar() {
  std::array<char32_t, 256> map{};
  std::array<bool, 256> printable{};
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) map[b] = printable[b] ? static_cast<char32_t>(b) : next++;
  return map;
}

// GPT-2's characters back to bytes: index by code point (all below 0x144); -1
// for characters that stand for no byte.
const std::array<int16_t, 0x144>& CharToByte() {
  static const std::array<int16_t, 0x144> map = [] {
    std::array<int16_t, 0x144> result;
    result.fill(-1);
    const auto chars = ByteToChar();
    for (int b = 0; b < 256; ++b) result[chars[b]] = static_cast<int16_t>(b);
    return result;
  }();
  return map;
}

// The code point that ends at `end` in valid UTF-8 `text` (end > 0).
char32_t CodePointBefore(std::string_view text, size_t end) {
  size_t begin = end - 1;
  while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
  return NextCodePoint(text, &begin);
}

// Rust regex's \w: Alphabetic, marks, decimal digits, connector punctuation
// and join controls.
bool IsWordCharacter(char32_t c) {
  const auto code_point = static_cast<UChar32>(c);
  if (u_hasBinaryProperty(code_point, UCHAR_ALPHABETIC)) return true;
  if (u_hasBinaryProperty(code_point, UCHAR_JOIN_CONTROL)) return true;
  const int8_t type = u_charType(code_point);
  return type == U_NON_SPACING_MARK || type == U_ENCLOSING_MARK ||
         type == U_COMBINING_SPACING_MARK || type == U_DECIMAL_DIGIT_NUMBER ||
         type == U_CONNECTOR_PUNCTUATION;
}

bool IsWhitespace(char32_t c) { return u_isUWhiteSpace(static_cast<UChar32>(c)); }

bool IsAscii(std::string_view text) {
  for (const char c : text) {
    if (static_cast<unsigned char>(c) >= 0x80) return false;
  }
  return true;
}

// `text` normalized to the Unicode form `kind` with ICU.
std::string UnicodeNormalize(NormalizerStep::Kind kind, std::string_view text) {
  if (IsAscii(text)) return std::string(text);  // ASCII is in every form
  UErrorCode status = U_ZERO_ERROR;
  const UNormalizer2* normalizer = nullptr;
  switch (kind) {
    case NormalizerStep::Kind::kNfc:
      normalizer = unorm2_getNFCInstance(&status);
      break;
    case NormalizerStep::Kind::kNfd:
      normalizer = unorm2_getNFDInstance(&status);
      break;
    case NormalizerStep::Kind::kNfkc:
      normalizer = unorm2_getNFKCInstance(&status);
      break;
    default:
      normalizer = unorm2_getNFKDInstance(&status);
      break;
  }
  std::u16string utf16(text.size(), u'\0');
  int32_t length = 0;
  u_strFromUTF8(reinterpret_cast<UChar*>(utf16.data()), static_cast<int32_t>(utf16.size()), &length,
                text.data(), static_cast<int32_t>(text.size()), &status);
  utf16.resize(length);
  const auto* source = reinterpret_cast<const UChar*>(utf16.data());
  if (unorm2_isNormalized(normalizer, source, length, &status) && U_SUCCESS(status)) {
    return std::string(text);
  }
  std::u16string normalized(utf16.size() * 3 + 16, u'\0');
  status = U_ZERO_ERROR;
  const int32_t normalized_length =
      unorm2_normalize(normalizer, source, length, reinterpret_cast<UChar*>(normalized.data()),
                       static_cast<int32_t>(normalized.size()), &status);
  if (U_FAILURE(status))
    throw Error(absl::StrCat("Unicode normalization failed: ", u_errorName(status)));
  std::string out(static_cast<size_t>(normalized_length) * 3, '\0');
  int32_t out_length = 0;
  u_strToUTF8(out.data(), static_cast<int32_t>(out.size()), &out_length,
              reinterpret_cast<const UChar*>(normalized.data()), normalized_length, &status);
  out.resize(out_length);
  return out;
}

// `text` with every match of `regex` replaced by `content`.
std::string ReplaceAll(const UnicodeRegex& regex, std::string_view text, std::string_view content) {
  std::vector<std::pair<size_t, size_t>> matches;
  regex.FindAll(text, &matches);
  if (matches.empty()) return std::string(text);
  std::string out;
  size_t last = 0;
  for (const auto& [begin, end] : matches) {
    out.append(text.substr(last, begin - last));
    out.append(content);
    last = end;
  }
  out.append(text.substr(last));
  return out;
}

std::unique_ptr<UnicodeRegex> CompilePattern(const TextPattern& pattern, std::string* error) {
  if (!pattern.is_regex) return UnicodeRegex::Literal(pattern.text);
  return UnicodeRegex::Compile(pattern.text, error);
}

// GPT-2's pre-tokenizer regex, which ByteLevel(use_regex: true) applies.
constexpr std::string_view kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

}  // namespace

// Finds added tokens in text: leftmost, then longest, as Hugging Face's
// Aho-Corasick (MatchKind::LeftmostLongest), then single_word, lstrip and rstrip.
class PipelineTokenizer::AddedTokenMatcher {
 public:
  struct Split {
    size_t begin;
    size_t end;
    int token;  // index into the added tokens, -1 for text
  };

  AddedTokenMatcher(const std::vector<std::pair<std::string, int>>& patterns,
                    const std::vector<AddedToken>& tokens)
      : tokens_(tokens) {
    nodes_.emplace_back();
    for (const auto& [text, token] : patterns) {
      if (text.empty()) continue;
      first_bytes_.set(static_cast<unsigned char>(text[0]));
      int32_t node = 0;
      for (const char c : text) {
        const auto byte = static_cast<unsigned char>(c);
        int32_t child = -1;
        for (const auto& [edge, target] : nodes_[node].children) {
          if (edge == byte) child = target;
        }
        if (child < 0) {
          child = static_cast<int32_t>(nodes_.size());
          nodes_[node].children.emplace_back(byte, child);
          nodes_.emplace_back();
        }
        node = child;
      }
      nodes_[node].token = token;
    }
  }

  void FindSplits(std::string_view text, std::vector<Split>* splits) const {
    size_t start_offset = 0;
    size_t pos = 0;
    while (pos < text.size()) {
      if (!first_bytes_.test(static_cast<unsigned char>(text[pos]))) {
        ++pos;
        continue;
      }
      int token = -1;
      size_t match_end = 0;
      int32_t node = 0;
      for (size_t i = pos; i < text.size(); ++i) {
        int32_t child = -1;
        for (const auto& [edge, target] : nodes_[node].children) {
          if (edge == static_cast<unsigned char>(text[i])) child = target;
        }
        if (child < 0) break;
        node = child;
        if (nodes_[node].token >= 0) {
          token = nodes_[node].token;
          match_end = i + 1;
        }
      }
      if (token < 0) {
        ++pos;
        continue;
      }
      size_t start = pos, stop = match_end;
      pos = match_end;
      const AddedToken& added = tokens_[token];
      if (added.single_word) {
        const bool start_space = start == 0 || !IsWordCharacter(CodePointBefore(text, start));
        size_t after = stop;
        const bool stop_space =
            stop == text.size() || !IsWordCharacter(NextCodePoint(text, &after));
        if (!start_space || !stop_space) continue;
      }
      if (added.lstrip) {
        size_t new_start = start;
        while (new_start > 0 && IsWhitespace(CodePointBefore(text, new_start))) {
          size_t begin = new_start - 1;
          while (begin > 0 && (static_cast<unsigned char>(text[begin]) & 0xC0) == 0x80) --begin;
          new_start = begin;
        }
        start = std::max(new_start, start_offset);
      }
      if (added.rstrip) {
        while (stop < text.size()) {
          size_t next = stop;
          if (!IsWhitespace(NextCodePoint(text, &next))) break;
          stop = next;
        }
      }
      if (start_offset < start) splits->push_back({start_offset, start, -1});
      splits->push_back({start, stop, token});
      start_offset = stop;
    }
    if (start_offset < text.size()) splits->push_back({start_offset, text.size(), -1});
  }

 private:
  struct Node {
    std::vector<std::pair<unsigned char, int32_t>> children;
    int token = -1;
  };
  const std::vector<AddedToken>& tokens_;
  std::vector<Node> nodes_;
  std::bitset<256> first_bytes_;
};

PipelineTokenizer::PipelineTokenizer(PipelineSpec spec)
    : Tokenizer(spec.path), spec_(std::move(spec)) {
  const auto byte_to_char = ByteToChar();
  for (int b = 0; b < 256; ++b) AppendUtf8(byte_to_char[b], &byte_chars_[b]);

  // Normalizers first: normalized added tokens are matched in normalized form.
  std::string error;
  for (const NormalizerStep& step : spec_.normalizers) {
    std::unique_ptr<UnicodeRegex> regex;
    if (step.kind == NormalizerStep::Kind::kReplace) {
      regex = CompilePattern(step.pattern, &error);
      if (!regex) Fail(step.where + ".pattern", error);
    }
    normalizer_regexes_.push_back(std::move(regex));
  }
  std::vector<std::pair<std::string, int>> raw, normalized;
  for (size_t i = 0; i < spec_.added_tokens.size(); ++i) {
    const AddedToken& token = spec_.added_tokens[i];
    if (token.normalized) {
      normalized.emplace_back(Normalize(token.content), static_cast<int>(i));
    } else {
      raw.emplace_back(token.content, static_cast<int>(i));
    }
  }
  if (!raw.empty()) raw_matcher_ = std::make_unique<AddedTokenMatcher>(raw, spec_.added_tokens);
  if (!normalized.empty()) {
    normalized_matcher_ = std::make_unique<AddedTokenMatcher>(normalized, spec_.added_tokens);
  }

  for (const PreTokenizerStep& step : spec_.pre_tokenizers) {
    CompiledPreTokenizer compiled{step, nullptr};
    if (step.kind == PreTokenizerStep::Kind::kSplit) {
      compiled.regex = CompilePattern(step.pattern, &error);
      if (!compiled.regex) Fail(step.where + ".pattern", error);
    } else if (step.kind == PreTokenizerStep::Kind::kByteLevel && step.use_regex) {
      compiled.regex = UnicodeRegex::Compile(kGpt2Pattern, &error);
    } else if (step.kind == PreTokenizerStep::Kind::kMetaspace) {
      compiled.regex = UnicodeRegex::Literal(step.replacement);
    }
    pre_tokenizers_.push_back(std::move(compiled));
  }
  for (const DecoderStep& step : spec_.decoders) {
    std::unique_ptr<UnicodeRegex> regex;
    if (step.kind == DecoderStep::Kind::kReplace) {
      regex = CompilePattern(step.pattern, &error);
      if (!regex) Fail(step.where + ".pattern", error);
    }
    decoder_regexes_.push_back(std::move(regex));
  }

  // The id table: the model's vocabulary, then the added tokens over it.
  int64_t size = 0;
  for (const auto& [token, id] : spec_.model.vocab) size = std::max<int64_t>(size, id + 1);
  for (const AddedToken& token : spec_.added_tokens) size = std::max<int64_t>(size, token.id + 1);
  tokens_.resize(size);
  kinds_.assign(size, 0);
  for (const auto& [token, id] : spec_.model.vocab) {
    tokens_[id] = token;
    kinds_[id] = 1;
  }
  for (const AddedToken& token : spec_.added_tokens) {
    tokens_[token.id] = token.content;
    kinds_[token.id] = token.special ? 3 : 2;
    added_ids_[token.content] = token.id;
  }
  if (spec_.model.kind == ModelSpec::Kind::kBpe) {
    bpe_ = std::make_unique<BpeModel>(std::move(spec_.model.vocab), spec_.model.merges,
                                      spec_.model.options);
  } else {
    tiktoken_ = std::make_unique<TiktokenModel>(std::move(spec_.model.vocab));
  }
  spec_.model.vocab.clear();
  spec_.model.merges.clear();
  spec_.model.merges.shrink_to_fit();
}

PipelineTokenizer::~PipelineTokenizer() = default;

void PipelineTokenizer::Fail(const std::string& where, const std::string& reason) const {
  throw TokenizerLoadError(spec_.path, where, reason);
}

std::vector<int64_t> PipelineTokenizer::Encode(std::string_view text, SpecialTokens special) const {
  const size_t bad = FindInvalidUtf8(text);
  if (bad != std::string_view::npos) {
    throw InvalidTokenizerInputError(absl::StrCat(
        "text to tokenize is not UTF-8: byte ", bad, " (0x",
        absl::Hex(static_cast<unsigned char>(text[bad]), absl::kZeroPad2), ") is not valid there"));
  }
  std::vector<int64_t> ids;
  ids.reserve(text.size() / 3 + 8);
  if (raw_matcher_) {
    std::vector<AddedTokenMatcher::Split> splits;
    raw_matcher_->FindSplits(text, &splits);
    for (const auto& split : splits) {
      if (split.token >= 0) {
        ids.push_back(spec_.added_tokens[split.token].id);
      } else {
        EncodeRawSplit(text.substr(split.begin, split.end - split.begin), split.begin == 0, &ids);
      }
    }
  } else {
    EncodeRawSplit(text, true, &ids);
  }
  if (special == SpecialTokens::kOmit || spec_.single_template.empty()) return ids;
  std::vector<int64_t> templated;
  templated.reserve(ids.size() + 4);
  for (const TemplateItem& item : spec_.single_template) {
    if (item.is_sequence) {
      templated.insert(templated.end(), ids.begin(), ids.end());
    } else {
      templated.insert(templated.end(), item.ids.begin(), item.ids.end());
    }
  }
  return templated;
}

void PipelineTokenizer::EncodeRawSplit(std::string_view text, bool at_start,
                                       std::vector<int64_t>* ids) const {
  if (text.empty()) return;
  std::string normalized_storage;
  std::string_view normalized = text;
  if (!spec_.normalizers.empty()) {
    normalized_storage = Normalize(text);
    normalized = normalized_storage;
  }
  if (normalized.empty()) return;
  if (!normalized_matcher_) {
    EncodePiece(normalized, at_start, ids);
    return;
  }
  std::vector<AddedTokenMatcher::Split> splits;
  normalized_matcher_->FindSplits(normalized, &splits);
  for (const auto& split : splits) {
    if (split.token >= 0) {
      ids->push_back(spec_.added_tokens[split.token].id);
    } else {
      EncodePiece(normalized.substr(split.begin, split.end - split.begin),
                  at_start && split.begin == 0, ids);
    }
  }
}

void PipelineTokenizer::EncodePiece(std::string_view piece, bool at_start,
                                    std::vector<int64_t>* ids) const {
  PreTokenize(0, piece, at_start,
              [this, ids](std::string_view word, bool) { Tokenize(word, ids); });
}

void PipelineTokenizer::Tokenize(std::string_view piece, std::vector<int64_t>* ids) const {
  if (bpe_) {
    bpe_->Tokenize(piece, ids);
  } else {
    tiktoken_->Tokenize(piece, ids);
  }
}

std::string PipelineTokenizer::Normalize(std::string_view text) const {
  std::string current(text);
  for (size_t i = 0; i < spec_.normalizers.size(); ++i) {
    const NormalizerStep& step = spec_.normalizers[i];
    switch (step.kind) {
      case NormalizerStep::Kind::kPrepend:
        if (!current.empty()) current.insert(0, step.content);
        break;
      case NormalizerStep::Kind::kReplace:
        current = ReplaceAll(*normalizer_regexes_[i], current, step.content);
        break;
      default:
        current = UnicodeNormalize(step.kind, current);
        break;
    }
  }
  return current;
}

void PipelineTokenizer::PreTokenize(size_t step, std::string_view piece, bool at_start,
                                    PieceSink sink) const {
  if (piece.empty()) return;
  if (step == pre_tokenizers_.size()) {
    sink(piece, at_start);
    return;
  }
  const CompiledPreTokenizer& compiled = pre_tokenizers_[step];
  auto next = [this, step, sink](std::string_view sub, bool sub_at_start) {
    PreTokenize(step + 1, sub, sub_at_start, sink);
  };
  switch (compiled.step.kind) {
    case PreTokenizerStep::Kind::kSplit:
      Split(compiled, piece, at_start, next);
      return;
    case PreTokenizerStep::Kind::kByteLevel: {
      std::string prefixed;
      std::string_view text = piece;
      if (compiled.step.add_prefix_space && piece.front() != ' ') {
        prefixed = " ";
        prefixed.append(piece);
        text = prefixed;
      }
      auto map_bytes = [this, &next](std::string_view sub, bool sub_at_start) {
        std::string mapped;
        mapped.reserve(sub.size() * 2);
        for (const char c : sub) mapped += byte_chars_[static_cast<unsigned char>(c)];
        next(mapped, sub_at_start);
      };
      if (compiled.regex) {
        Split(compiled, text, at_start, map_bytes);
      } else {
        map_bytes(text, at_start);
      }
      return;
    }
    case PreTokenizerStep::Kind::kMetaspace: {
      const std::string& replacement = compiled.step.replacement;
      std::string replaced;
      replaced.reserve(piece.size() + replacement.size());
      for (const char c : piece) {
        if (c == ' ') {
          replaced += replacement;
        } else {
          replaced.push_back(c);
        }
      }
      const bool starts_with_replacement =
          replaced.compare(0, replacement.size(), replacement) == 0;
      const PrependScheme scheme = compiled.step.prepend_scheme;
      if (!starts_with_replacement &&
          (scheme == PrependScheme::kAlways || (scheme == PrependScheme::kFirst && at_start))) {
        replaced.insert(0, replacement);
      }
      if (!compiled.step.split) {
        next(replaced, at_start);
        return;
      }
      Split(compiled, replaced, at_start, next);
      return;
    }
  }
}

void PipelineTokenizer::Split(const CompiledPreTokenizer& split, std::string_view piece,
                              bool at_start, PieceSink sink) const {
  std::vector<std::pair<size_t, size_t>> matches;
  split.regex->FindAll(piece, &matches);
  // The piece as consecutive segments, each a match or not.
  struct Segment {
    size_t begin;
    size_t end;
    bool is_match;
  };
  std::vector<Segment> segments;
  size_t last = 0;
  for (const auto& [begin, end] : matches) {
    if (begin > last) segments.push_back({last, begin, false});
    segments.push_back({begin, end, true});
    last = end;
  }
  if (last < piece.size()) segments.push_back({last, piece.size(), false});
  SplitBehavior behavior = split.step.behavior;
  if (split.step.kind == PreTokenizerStep::Kind::kMetaspace) {
    behavior = SplitBehavior::kMergedWithNext;
  } else if (split.step.kind == PreTokenizerStep::Kind::kByteLevel) {
    behavior = SplitBehavior::kIsolated;
  }
  if (split.step.invert) {
    for (Segment& segment : segments) segment.is_match = !segment.is_match;
  }
  std::vector<std::pair<size_t, size_t>> pieces;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      for (const Segment& s : segments) pieces.emplace_back(s.begin, s.end);
      break;
    case SplitBehavior::kRemoved:
      for (const Segment& s : segments) {
        if (!s.is_match) pieces.emplace_back(s.begin, s.end);
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Segment& s : segments) {
        if (s.is_match && !previous_match && !pieces.empty()) {
          pieces.back().second = s.end;
        } else {
          pieces.emplace_back(s.begin, s.end);
        }
        previous_match = s.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = segments.rbegin(); it != segments.rend(); ++it) {
        if (it->is_match && !previous_match && !pieces.empty()) {
          pieces.back().first = it->begin;
        } else {
          pieces.emplace_back(it->begin, it->end);
        }
        previous_match = it->is_match;
      }
      std::reverse(pieces.begin(), pieces.end());
      break;
    case SplitBehavior::kContiguous:
      for (size_t i = 0; i < segments.size(); ++i) {
        if (i > 0 && segments[i].is_match == previous_match) {
          pieces.back().second = segments[i].end;
        } else {
          pieces.emplace_back(segments[i].begin, segments[i].end);
        }
        previous_match = segments[i].is_match;
      }
      break;
  }
  for (const auto& [begin, end] : pieces) {
    if (end > begin) sink(piece.substr(begin, end - begin), at_start && begin == 0);
  }
}

std::string PipelineTokenizer::Decode(absl::Span<const int64_t> ids,
                                      SpecialTokenText special) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (size_t i = 0; i < ids.size(); ++i) {
    const int64_t id = ids[i];
    if (id < 0 || id >= vocab_size() || kinds_[id] == 0) {
      throw InvalidTokenizerInputError(absl::StrCat("token id ", id, " at position ", i,
                                                    " is not in the vocabulary of ", source(), " (",
                                                    vocab_size(), " ids)"));
    }
    if (special == SpecialTokenText::kSkip && kinds_[id] == 3) continue;
    tokens.push_back(tokens_[id]);
  }
  if (spec_.decoders.empty()) {
    std::string joined;
    for (size_t i = 0; i < tokens.size(); ++i) {
      if (i > 0) joined += ' ';
      joined += tokens[i];
    }
    return joined;
  }
  std::string text;
  for (const std::string& token : RunDecoders(std::move(tokens))) text += token;
  return text;
}

std::vector<std::string> PipelineTokenizer::RunDecoders(std::vector<std::string> tokens) const {
  const auto& char_to_byte = CharToByte();
  for (size_t step_index = 0; step_index < spec_.decoders.size(); ++step_index) {
    const DecoderStep& step = spec_.decoders[step_index];
    switch (step.kind) {
      case DecoderStep::Kind::kByteLevel: {
        std::string bytes;
        for (const std::string& token : tokens) {
          const size_t mark = bytes.size();
          bool all_mapped = true;
          size_t pos = 0;
          while (pos < token.size()) {
            const char32_t c = NextCodePoint(token, &pos);
            if (c >= char_to_byte.size() || char_to_byte[c] < 0) {
              all_mapped = false;
              break;
            }
            bytes.push_back(static_cast<char>(char_to_byte[c]));
          }
          if (!all_mapped) {
            bytes.resize(mark);
            bytes += token;
          }
        }
        tokens = {Utf8Lossy(bytes)};
        break;
      }
      case DecoderStep::Kind::kBytes: {
        std::string bytes;
        for (const std::string& token : tokens) bytes += token;
        tokens = {Utf8Lossy(bytes)};
        break;
      }
      case DecoderStep::Kind::kMetaspace: {
        for (size_t i = 0; i < tokens.size(); ++i) {
          std::string out;
          std::string_view token = tokens[i];
          size_t pos = 0;
          while (pos < token.size()) {
            if (token.compare(pos, step.replacement.size(), step.replacement) == 0) {
              pos += step.replacement.size();
              if (!(i == 0 && step.prepend_scheme != PrependScheme::kNever)) out += ' ';
              continue;
            }
            const size_t length = Utf8SequenceLength(static_cast<unsigned char>(token[pos]));
            out.append(token.substr(pos, length));
            pos += length;
          }
          tokens[i] = std::move(out);
        }
        break;
      }
      case DecoderStep::Kind::kByteFallback: {
        std::vector<std::string> out;
        std::string pending;
        auto flush = [&out, &pending] {
          if (pending.empty()) return;
          if (FindInvalidUtf8(pending) == std::string_view::npos) {
            out.push_back(pending);
          } else {
            for (size_t i = 0; i < pending.size(); ++i) out.emplace_back(kReplacementCharacter);
          }
          pending.clear();
        };
        auto hex = [](char c) -> int {
          if (c >= '0' && c <= '9') return c - '0';
          if (c >= 'a' && c <= 'f') return c - 'a' + 10;
          if (c >= 'A' && c <= 'F') return c - 'A' + 10;
          return -1;
        };
        for (std::string& token : tokens) {
          int byte = -1;
          if (token.size() == 6 && token.compare(0, 3, "<0x") == 0 && token[5] == '>') {
            // Rust's u8::from_str_radix(_, 16): two hex digits, or '+' and one.
            const int high = hex(token[3]), low = hex(token[4]);
            if (high >= 0 && low >= 0) {
              byte = high * 16 + low;
            } else if (token[3] == '+' && low >= 0) {
              byte = low;
            }
          }
          if (byte >= 0) {
            pending.push_back(static_cast<char>(byte));
          } else {
            flush();
            out.push_back(std::move(token));
          }
        }
        flush();
        tokens = std::move(out);
        break;
      }
      case DecoderStep::Kind::kFuse: {
        std::string fused;
        for (const std::string& token : tokens) fused += token;
        tokens = {fused};
        break;
      }
      case DecoderStep::Kind::kStrip: {
        for (std::string& token : tokens) {
          std::vector<size_t> starts;  // byte offset of each character
          for (size_t pos = 0; pos < token.size();
               pos += Utf8SequenceLength(static_cast<unsigned char>(token[pos]))) {
            starts.push_back(pos);
          }
          auto char_at = [&](size_t i) {
            const size_t end = i + 1 < starts.size() ? starts[i + 1] : token.size();
            return std::string_view(token).substr(starts[i], end - starts[i]);
          };
          size_t start_cut = 0;
          for (size_t i = 0; i < starts.size() && i < static_cast<size_t>(step.start); ++i) {
            if (char_at(i) != step.content) break;
            start_cut = i + 1;
          }
          size_t stop_cut = starts.size();
          for (size_t i = 0; i < static_cast<size_t>(step.stop) && i < starts.size(); ++i) {
            const size_t index = starts.size() - i - 1;
            if (char_at(index) != step.content) break;
            stop_cut = index;
          }
          if (stop_cut <= start_cut) {
            token.clear();
            continue;
          }
          const size_t begin = start_cut < starts.size() ? starts[start_cut] : token.size();
          const size_t end = stop_cut < starts.size() ? starts[stop_cut] : token.size();
          token = token.substr(begin, end - begin);
        }
        break;
      }
      case DecoderStep::Kind::kReplace:
        for (std::string& token : tokens) {
          token = ReplaceAll(*decoder_regexes_[step_index], token, step.content);
        }
        break;
    }
  }
  return tokens;
}

std::optional<std::string> PipelineTokenizer::IdToToken(int64_t id) const {
  if (id < 0 || id >= vocab_size() || kinds_[id] == 0) return std::nullopt;
  return tokens_[id];
}

std::optional<int64_t> PipelineTokenizer::TokenToId(std::string_view token) const {
  const auto added = added_ids_.find(ToAbsl(token));
  if (added != added_ids_.end()) return added->second;
  if (bpe_) {
    if (const auto id = bpe_->TokenToId(token)) return *id;
    return std::nullopt;
  }
  for (size_t id = 0; id < tokens_.size(); ++id) {
    if (kinds_[id] != 0 && tokens_[id] == token) return static_cast<int64_t>(id);
  }
  return std::nullopt;
}

bool PipelineTokenizer::IsSpecial(int64_t id) const {
  return id >= 0 && id < vocab_size() && kinds_[id] == 3;
}

}  // namespace modelhub
