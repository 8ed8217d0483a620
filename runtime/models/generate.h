#ifndef MODELHUB_RUNTIME_MODELS_GENERATE_H_
#define MODELHUB_RUNTIME_MODELS_GENERATE_H_

#include <cstdint>
#include <vector>

#include "runtime/models/decoder_model.h"

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

// Decoding with the KV cache: one forward over the prompt, then one
// single-token step per new token. Under tensor parallelism every rank of the
// model's gang calls it alike and gets rank 0's tokens (its seed and draws). Returns only the new
// tokens. Stops early after `stop_token` when given (it is included). Runs under inference mode.
// Throws InvalidModelInputError for an empty prompt, a negative count, bad
// sampling options, or a prompt plus new tokens longer than max_seq_len.
std::vector<int64_t> Generate(const DecoderModel& model, const std::vector<int64_t>& prompt,
                              int64_t max_new_tokens, const SamplingOptions& sampling,
                              int64_t stop_token = -1);

// Generate() with greedy decoding.
std::vector<int64_t> GenerateGreedy(const DecoderModel& model, const std::vector<int64_t>& prompt,
                                    int64_t max_new_tokens, int64_t stop_token = -1);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_MODELS_GENERATE_H_
