#ifndef MODELHUB_RUNTIME_TOKENIZERS_TOKENIZER_H_
#define MODELHUB_RUNTIME_TOKENIZERS_TOKENIZER_H_

// A tokenizer: text to token ids and back, with the ids of Hugging Face
// tokenizers for the same files. PipelineTokenizer implements it for every
// format (tokenizer.json, tiktoken rank files, SentencePiece .model files).
// Load one with OpenTokenizer (tokenizer_files.h) or by card through the
// tokenizer hub (runtime/hub/tokenizer_hub.h).

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/types/span.h"

namespace modelhub {

// The tokens generation needs to know of: the beginning and end of a sequence,
// and every token at which generated text ends (end of sequence, end of turn).
// Whether Encode adds the special tokens the tokenizer's post-processor adds
// (Hugging Face's add_special_tokens): BOS for Llama and Mistral, none for Qwen.
enum class SpecialTokens { kOmit, kAdd };

// Whether Decode writes special tokens as their text or leaves them out
// (Hugging Face's skip_special_tokens).
enum class SpecialTokenText { kKeep, kSkip };

struct TokenizerSpecialIds {
  std::optional<int64_t> bos;
  std::optional<int64_t> eos;
  std::vector<int64_t> stop;  // includes eos when there is one

  // Adds `id` to `stop` unless it is there already.
  void AddStop(int64_t id) {
    if (std::find(stop.begin(), stop.end(), id) == stop.end()) stop.push_back(id);
  }
};

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;

  // The ids of `text`. SpecialTokens::kAdd adds what the tokenizer's
  // post-processor adds (BOS for Llama and Mistral, nothing for Qwen), as
  // Hugging Face's encode(add_special_tokens=True). Special tokens written in
  // the text are matched as themselves. Throws InvalidTokenizerInputError when
  // `text` is not UTF-8, naming the byte offset of the first bad byte (Hugging
  // Face refuses such text too: Python strings cannot hold it).
  virtual std::vector<int64_t> Encode(std::string_view text, SpecialTokens special) const = 0;

  // The text of `ids`; special tokens are left out with SpecialTokenText::kSkip.
  // Bytes that do not form UTF-8 come out as U+FFFD. Throws
  // InvalidTokenizerInputError for an id the tokenizer does not have (Hugging
  // Face silently drops it).
  virtual std::string Decode(absl::Span<const int64_t> ids, SpecialTokenText special) const = 0;

  // The token of `id` as the vocabulary writes it ("Ġhello", "▁the", "<s>"), or
  // nullopt when there is none.
  virtual std::optional<std::string> IdToToken(int64_t id) const = 0;
  // The id of the token written `token`, or nullopt.
  virtual std::optional<int64_t> TokenToId(std::string_view token) const = 0;
  // One more than the largest id.
  virtual int64_t vocab_size() const = 0;
  // Whether `id` is a special token (control tokens, special added tokens).
  virtual bool IsSpecial(int64_t id) const = 0;

  // Where the tokenizer was loaded from.
  const std::string& source() const { return source_; }
  const TokenizerSpecialIds& special_ids() const { return special_ids_; }
  // Set by the loader from the tokenizer's configuration files or card.
  void set_special_ids(TokenizerSpecialIds ids) { special_ids_ = std::move(ids); }

 protected:
  explicit Tokenizer(std::string source) : source_(std::move(source)) {}

 private:
  std::string source_;
  TokenizerSpecialIds special_ids_;
};

// Turns ids into text as they are generated: Step returns the text an id
// completes, holding back bytes until they form whole UTF-8 characters, so a
// character split across tokens never prints as garbage. The texts returned by
// Step and then Finish concatenate to Decode of all the ids. It keeps only a
// short window of ids, not the whole sequence.
class StreamingDecoder {
 public:
  // `tokenizer` must outlive the decoder.
  StreamingDecoder(const Tokenizer& tokenizer, SpecialTokenText special);

  // Adds `id`; returns the new text (often empty while a character is
  // incomplete). Throws as Tokenizer::Decode does.
  std::string Step(int64_t id);
  // Returns what is still held back (an incomplete character as U+FFFD) and
  // starts over.
  std::string Finish();

 private:
  const Tokenizer& tokenizer_;
  SpecialTokenText special_;
  std::vector<int64_t> ids_;  // the window
  std::string prefix_;        // the text of ids_[0, prefix_index_)
  size_t prefix_index_ = 0;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_TOKENIZERS_TOKENIZER_H_
