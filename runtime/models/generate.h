#ifndef MODELHUB_RUNTIME_MODELS_GENERATE_H_
#define MODELHUB_RUNTIME_MODELS_GENERATE_H_

#include <cstdint>
#include <vector>

#include "runtime/models/decoder_model.h"

namespace modelhub {

// Greedy decoding with the KV cache: one forward over the prompt, then one
// single-token step per new token, each taking the most likely next token.
// Returns only the new tokens. Stops early after `stop_token` when given (it is
// included). Runs under inference mode.
std::vector<int64_t> GenerateGreedy(const DecoderModel& model, const std::vector<int64_t>& prompt,
                                    int64_t max_new_tokens, int64_t stop_token = -1);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_MODELS_GENERATE_H_
