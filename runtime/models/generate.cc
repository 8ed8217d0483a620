#include "runtime/models/generate.h"

#include <c10/core/InferenceMode.h>

#include "runtime/core/errors.h"

namespace modelhub {

std::vector<int64_t> GenerateGreedy(const DecoderModel& model, const std::vector<int64_t>& prompt,
                                    int64_t max_new_tokens, int64_t stop_token) {
  if (prompt.empty()) throw InvalidModelInputError("the prompt has no tokens");
  if (max_new_tokens < 0) throw InvalidModelInputError("max_new_tokens must not be negative");
  c10::InferenceMode inference;
  KvCache cache = model.NewKvCache();
  at::Tensor input = at::tensor(prompt, at::TensorOptions().dtype(at::kLong)).unsqueeze(0);
  std::vector<int64_t> generated;
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    at::Tensor logits = model.forward(input, {}, &cache);
    const int64_t next = logits.select(1, logits.size(1) - 1).argmax(-1).item<int64_t>();
    generated.push_back(next);
    if (next == stop_token) break;
    input = at::full({1, 1}, next, at::TensorOptions().dtype(at::kLong));
  }
  return generated;
}

}  // namespace modelhub
