#ifndef MODELHUB_RUNTIME_MODELS_GENERATE_H_
#define MODELHUB_RUNTIME_MODELS_GENERATE_H_

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/models/decoder_model.h"
#include "runtime/tokenizers/tokenizer.h"

namespace modelhub {

// How the next token is chosen. temperature 0 is greedy (the most likely token;
// the other fields are then unused). Otherwise logits are divided by
// temperature, cut to the top_k most likely (0: no cut) and to the smallest set
// whose probability reaches top_p (1: no cut), and a token is drawn from what
// remains with a generator seeded by `seed`, so a run is reproducible.
struct SamplingOptions {
  double temperature = 0.0;
  double top_p = 1.0;
  int64_t top_k = 0;
  uint64_t seed = 0;
};

// Throws InvalidModelInputError unless `sampling` is valid: temperature 0 or
// positive, top_p in (0, 1], top_k 0 or positive. Generate checks it too;
// programs call it to refuse bad options before loading a model.
void CheckSamplingOptions(const SamplingOptions& sampling);

// Called with each new token as soon as it is chosen.
using TokenCallback = std::function<void(int64_t token)>;

// Decoding with the KV cache: one forward over the prompt, then one
// single-token step per new token. Under tensor parallelism every rank of the
// model's gang calls it alike and gets rank 0's tokens (its seed and draws). Returns only the new
// tokens. Stops early after `stop_token` when given (it is included). Runs under inference mode.
// Throws InvalidModelInputError for an empty prompt, a negative count, bad
// sampling options, or a prompt plus new tokens longer than max_seq_len.
std::vector<int64_t> Generate(const DecoderModel& model, const std::vector<int64_t>& prompt,
                              int64_t max_new_tokens, const SamplingOptions& sampling,
                              int64_t stop_token = -1);

// The same, stopping after any of `stop_tokens` (included), and calling
// `on_token` (when set) with each new token.
std::vector<int64_t> Generate(const DecoderModel& model, const std::vector<int64_t>& prompt,
                              int64_t max_new_tokens, const SamplingOptions& sampling,
                              const std::vector<int64_t>& stop_tokens,
                              const TokenCallback& on_token = {});

// What text generation produced.
struct TextGeneration {
  std::vector<int64_t> prompt_ids;  // the prompt, encoded with its special tokens
  std::vector<int64_t> ids;         // the new tokens (a stop token last when one ended it)
  std::string text;                 // the new text, special tokens left out
  bool stopped = false;             // ended by a stop token, not by max_new_tokens
};

// Generation from text: encodes `prompt` with the tokenizer's special tokens
// (BOS where the model family has one), generates up to `max_new_tokens`,
// stopping at the tokenizer's stop tokens (end of sequence, end of turn), and
// calls `on_text` (when set) with each piece of new text as soon as its bytes
// form whole characters (see StreamingDecoder). Throws what Generate and the
// tokenizer throw.
TextGeneration Generate(const DecoderModel& model, const Tokenizer& tokenizer,
                        std::string_view prompt, int64_t max_new_tokens,
                        const SamplingOptions& sampling = {},
                        const std::function<void(const std::string& text)>& on_text = {});

// Generate() with greedy decoding.
std::vector<int64_t> GenerateGreedy(const DecoderModel& model, const std::vector<int64_t>& prompt,
                                    int64_t max_new_tokens, int64_t stop_token = -1);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_MODELS_GENERATE_H_
