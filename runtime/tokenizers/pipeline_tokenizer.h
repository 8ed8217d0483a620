#ifndef MODELHUB_RUNTIME_TOKENIZERS_PIPELINE_TOKENIZER_H_
#define MODELHUB_RUNTIME_TOKENIZERS_PIPELINE_TOKENIZER_H_

// The Tokenizer that runs a PipelineSpec as Hugging Face tokenizers 0.22 runs
// a tokenizer.json: split the text on added tokens (leftmost-longest, raw text
// first, then the normalized pieces), normalize, pre-tokenize and tokenize
// each piece, add the template's special tokens; decode through the decoders.

#include <array>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "runtime/tokenizers/bpe_model.h"
#include "runtime/tokenizers/pipeline_spec.h"
#include "runtime/tokenizers/tokenizer.h"
#include "runtime/tokenizers/unicode_regex.h"

namespace modelhub {

class PipelineTokenizer : public Tokenizer {
 public:
  // Compiles `spec`. Throws TokenizerLoadError naming spec.path and the step's
  // `where` for a regex that does not compile or an id used twice.
  explicit PipelineTokenizer(PipelineSpec spec);
  ~PipelineTokenizer() override;

  std::vector<int64_t> Encode(std::string_view text, SpecialTokens special) const override;
  std::string Decode(absl::Span<const int64_t> ids, SpecialTokenText special) const override;
  std::optional<std::string> IdToToken(int64_t id) const override;
  std::optional<int64_t> TokenToId(std::string_view token) const override;
  int64_t vocab_size() const override { return static_cast<int64_t>(tokens_.size()); }
  bool IsSpecial(int64_t id) const override;

 private:
  class AddedTokenMatcher;
  struct CompiledPreTokenizer {
    PreTokenizerStep step;
    std::unique_ptr<UnicodeRegex> regex;  // kSplit, kByteLevel with use_regex
  };
  struct CompiledReplace {
    std::unique_ptr<UnicodeRegex> regex;
  };
  // A piece of text on its way to the model; `at_start` when it begins at
  // offset 0 of the input (Metaspace's prepend_scheme "first").
  using PieceSink = absl::FunctionRef<void(std::string_view piece, bool at_start)>;

  void EncodeRawSplit(std::string_view text, bool at_start, std::vector<int64_t>* ids) const;
  void EncodePiece(std::string_view piece, bool at_start, std::vector<int64_t>* ids) const;
  std::string Normalize(std::string_view text) const;
  void PreTokenize(size_t step, std::string_view piece, bool at_start, PieceSink sink) const;
  void Split(const CompiledPreTokenizer& split, std::string_view piece, bool at_start,
             PieceSink sink) const;
  void Tokenize(std::string_view piece, std::vector<int64_t>* ids) const;
  std::vector<std::string> RunDecoders(std::vector<std::string> tokens) const;
  [[noreturn]] void Fail(const std::string& where, const std::string& reason) const;

  PipelineSpec spec_;
  std::unique_ptr<AddedTokenMatcher> raw_matcher_;         // added tokens with normalized=false
  std::unique_ptr<AddedTokenMatcher> normalized_matcher_;  // the others, normalized
  std::vector<std::unique_ptr<UnicodeRegex>> normalizer_regexes_;  // per step, or null
  std::vector<CompiledPreTokenizer> pre_tokenizers_;
  std::vector<std::unique_ptr<UnicodeRegex>> decoder_regexes_;  // per step, or null
  std::unique_ptr<BpeModel> bpe_;
  std::unique_ptr<TiktokenModel> tiktoken_;
  std::vector<std::string> tokens_;  // id -> token ("" where none)
  std::vector<int8_t> kinds_;        // id -> 0 none, 1 model token, 2 added, 3 special added
  absl::flat_hash_map<std::string, int32_t> added_ids_;  // content -> id
  std::array<std::string, 256> byte_chars_;              // GPT-2's byte -> printable character
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_TOKENIZERS_PIPELINE_TOKENIZER_H_
