#include "runtime/models/generate.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <string>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {}  // namespace

void CheckSamplingOptions(const SamplingOptions& sampling) {
  if (!(sampling.temperature >= 0.0)) {
    throw InvalidModelInputError(
        absl::StrCat("temperature must be 0 (greedy) or positive, not ", sampling.temperature));
  }
  if (!(sampling.top_p > 0.0 && sampling.top_p <= 1.0)) {
    throw InvalidModelInputError(absl::StrCat("top_p must be in (0, 1], not ", sampling.top_p));
  }
  if (sampling.top_k < 0) {
    throw InvalidModelInputError(
        absl::StrCat("top_k must be 0 (no cut) or positive, not ", sampling.top_k));
  }
}

namespace {

// The next token from one row of logits [vocab].
int64_t NextToken(const at::Tensor& logits, const SamplingOptions& sampling,
                  at::Generator& generator) {
  if (sampling.temperature == 0.0) return logits.argmax(-1).item<int64_t>();
  at::Tensor scaled = logits.to(at::kFloat).cpu() / sampling.temperature;
  auto [sorted, order] = scaled.sort(/*dim=*/-1, /*descending=*/true);
  if (sampling.top_k > 0 && sampling.top_k < sorted.size(0)) {
    sorted = sorted.slice(0, 0, sampling.top_k);
    order = order.slice(0, 0, sampling.top_k);
  }
  at::Tensor probs = sorted.softmax(-1);
  if (sampling.top_p < 1.0) {
    // Keep the tokens whose preceding mass is below top_p (the first always).
    at::Tensor before = probs.cumsum(-1) - probs;
    probs = probs.masked_fill(before >= sampling.top_p, 0.0);
  }
  const int64_t pick = at::multinomial(probs, 1, /*replacement=*/false, generator).item<int64_t>();
  return order[pick].item<int64_t>();
}

}  // namespace

std::vector<int64_t> Generate(const DecoderModel& model, const std::vector<int64_t>& prompt,
                              int64_t max_new_tokens, const SamplingOptions& sampling,
                              int64_t stop_token) {
  return Generate(model, prompt, max_new_tokens, sampling,
                  stop_token >= 0 ? std::vector<int64_t>{stop_token} : std::vector<int64_t>{});
}

std::vector<int64_t> Generate(const DecoderModel& model, const std::vector<int64_t>& prompt,
                              int64_t max_new_tokens, const SamplingOptions& sampling,
                              const std::vector<int64_t>& stop_tokens,
                              const TokenCallback& on_token) {
  if (prompt.empty()) throw InvalidModelInputError("the prompt has no tokens");
  if (max_new_tokens < 0) throw InvalidModelInputError("max_new_tokens must not be negative");
  CheckSamplingOptions(sampling);
  const int64_t total = static_cast<int64_t>(prompt.size()) + max_new_tokens;
  if (total > model.blueprint().max_seq_len) {
    throw InvalidModelInputError(absl::StrCat(
        "a prompt of ", prompt.size(), " tokens plus ", max_new_tokens,
        " new tokens is longer than the model's max_seq_len ", model.blueprint().max_seq_len));
  }
  c10::InferenceMode inference;
  at::Generator generator = at::detail::createCPUGenerator(sampling.seed);
  KvCache cache = model.NewKvCache();
  at::Tensor input = at::tensor(prompt, at::TensorOptions().dtype(at::kLong))
                         .unsqueeze(0)
                         .to(model.options().device);
  std::vector<int64_t> tokens = prompt;
  std::vector<int64_t> generated;
  for (int64_t step = 0; step < max_new_tokens; ++step) {
    if (model.blueprint().LongRopeSwitches(cache.length, cache.length + input.size(1))) {
      // The cached keys were rotated with the short factors: start over with all tokens.
      cache = model.NewKvCache();
      input = at::tensor(tokens, at::TensorOptions().dtype(at::kLong))
                  .unsqueeze(0)
                  .to(model.options().device);
    }
    at::Tensor logits = model.forward(input, {}, &cache);
    int64_t next = NextToken(logits[0][logits.size(1) - 1], sampling, generator);
    if (model.tp_gang()->size() > 1) {
      // Rank 0's choice, so that every rank goes on with the same token.
      at::Tensor chosen = at::full({1}, next, at::TensorOptions().dtype(at::kLong));
      model.tp_gang()->Broadcast(chosen, 0);
      next = chosen.item<int64_t>();
    }
    generated.push_back(next);
    tokens.push_back(next);
    if (on_token) on_token(next);
    if (std::find(stop_tokens.begin(), stop_tokens.end(), next) != stop_tokens.end()) break;
    input =
        at::full({1, 1}, next, at::TensorOptions().dtype(at::kLong).device(model.options().device));
  }
  return generated;
}

TextGeneration Generate(const DecoderModel& model, const Tokenizer& tokenizer,
                        std::string_view prompt, int64_t max_new_tokens,
                        const SamplingOptions& sampling,
                        const std::function<void(const std::string& text)>& on_text) {
  TextGeneration result;
  result.prompt_ids = tokenizer.Encode(prompt, SpecialTokens::kAdd);
  const std::vector<int64_t>& stop = tokenizer.special_ids().stop;
  StreamingDecoder stream(tokenizer, SpecialTokenText::kSkip);
  result.ids =
      Generate(model, result.prompt_ids, max_new_tokens, sampling, stop, [&](int64_t token) {
        if (std::find(stop.begin(), stop.end(), token) != stop.end()) {
          result.stopped = true;
          return;
        }
        const std::string text = stream.Step(token);
        result.text += text;
        if (on_text && !text.empty()) on_text(text);
      });
  const std::string rest = stream.Finish();
  result.text += rest;
  if (on_text && !rest.empty()) on_text(rest);
  return result;
}

std::vector<int64_t> GenerateGreedy(const DecoderModel& model, const std::vector<int64_t>& prompt,
                                    int64_t max_new_tokens, int64_t stop_token) {
  return Generate(model, prompt, max_new_tokens, SamplingOptions{}, stop_token);
}

}  // namespace modelhub
