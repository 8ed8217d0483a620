#ifndef MODELHUB_RUNTIME_TOKENIZERS_PIPELINE_SPEC_H_
#define MODELHUB_RUNTIME_TOKENIZERS_PIPELINE_SPEC_H_

// The typed description of a tokenizer pipeline, as Hugging Face tokenizers
// run it: added tokens matched in the raw text, then normalizers,
// pre-tokenizers and a BPE model on the rest; a post-processor's special
// tokens; decoders back to text. tokenizer.json files and tiktoken rank files
// are parsed into one (tokenizer_json.h, tiktoken_file.h); PipelineTokenizer
// runs it. Every step keeps `where`, the place in its file it was read from
// (a JSON path such as "pre_tokenizer.pretokenizers[1]"), for error messages.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "runtime/tokenizers/bpe_model.h"

namespace modelhub {

// A token matched literally in the text before the model runs ("added_tokens").
struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool single_word = false;  // only between non-word characters
  bool lstrip = false;       // takes the whitespace on its left
  bool rstrip = false;       // takes the whitespace on its right
  bool normalized = false;   // matched in the normalized text instead of the raw text
  bool special = false;      // dropped by Decode(skip_special_tokens)
  std::string where;
};

// A pattern of a Split pre-tokenizer or a Replace step: a literal string or a
// regular expression (UnicodeRegex syntax).
struct TextPattern {
  std::string text;
  bool is_regex = false;
};

struct NormalizerStep {
  enum class Kind { kNfc, kNfd, kNfkc, kNfkd, kPrepend, kReplace };
  Kind kind;
  std::string content;  // kPrepend: what to prepend; kReplace: the replacement
  TextPattern pattern;  // kReplace
  std::string where;
};

// How a Split keeps its matches (Hugging Face's SplitDelimiterBehavior).
enum class SplitBehavior { kIsolated, kRemoved, kMergedWithPrevious, kMergedWithNext, kContiguous };

// When Metaspace prepends its replacement to a word.
enum class PrependScheme { kAlways, kFirst, kNever };

struct PreTokenizerStep {
  enum class Kind { kSplit, kByteLevel, kMetaspace };
  Kind kind;
  // kSplit (Digits is a kSplit on \p{N} or \p{N}+, Isolated):
  TextPattern pattern;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
  // kByteLevel:
  bool add_prefix_space = false;
  bool use_regex = true;
  // kMetaspace:
  std::string replacement;
  PrependScheme prepend_scheme = PrependScheme::kAlways;
  bool split = true;
  std::string where;
};

struct DecoderStep {
  enum class Kind { kByteLevel, kMetaspace, kByteFallback, kFuse, kStrip, kReplace, kBytes };
  Kind kind;
  // kMetaspace:
  std::string replacement;
  PrependScheme prepend_scheme = PrependScheme::kAlways;
  // kStrip: remove up to `start`/`stop` copies of `content` (one character).
  std::string content;
  int start = 0;
  int stop = 0;
  // kReplace:
  TextPattern pattern;
  std::string where;
};

// One item of a TemplateProcessing "single" template: the sequence itself, or
// special tokens.
struct TemplateItem {
  bool is_sequence = false;
  std::vector<int32_t> ids;  // the special tokens' ids
};

// The model: Hugging Face BPE (tokens are text) or tiktoken (tokens are bytes).
struct ModelSpec {
  enum class Kind { kBpe, kTiktoken };
  Kind kind = Kind::kBpe;
  absl::flat_hash_map<std::string, int32_t> vocab;  // token (or byte string) -> id
  std::vector<BpeMerge> merges;                     // kBpe, in rank order
  BpeOptions options;                               // kBpe
};

struct PipelineSpec {
  std::string path;  // the file it was read from
  std::vector<AddedToken> added_tokens;
  std::vector<NormalizerStep> normalizers;
  std::vector<PreTokenizerStep> pre_tokenizers;
  ModelSpec model;
  std::vector<TemplateItem> single_template;  // empty: no special tokens are added
  std::vector<DecoderStep> decoders;          // empty: tokens joined by spaces
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_TOKENIZERS_PIPELINE_SPEC_H_
