#include "tools/cli/demo_command.h"

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>
#include <c10/core/InferenceMode.h>

#include <chrono>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <vector>

#include "runtime/hub/model_loader.h"
#include "runtime/hub/tokenizer_hub.h"
#include "runtime/models/generate.h"
#include "tools/cli/device_options.h"
#include "tools/cli/run_commands.h"
#include "tools/cli/usage_error.h"

namespace modelhub::cli {
namespace {

double SecondsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Waits until `tensor` is computed: GPU work is asynchronous, so timings stop
// only once a value has come back.
void WaitFor(const at::Tensor& tensor) { tensor.flatten()[0].item<double>(); }

std::string Format(const char* format, double a, double b = 0, double c = 0) {
  char buffer[160];
  std::snprintf(buffer, sizeof(buffer), format, a, b, c);
  return buffer;
}

}  // namespace

void RunDemo(const std::string& device_name, const std::string& dtype_name, std::ostream& shown) {
  if (ParseDevice(device_name).is_meta()) {
    throw UsageError("the demo computes, so it needs a real device, not meta");
  }
  ModelSource source;
  source.name = "tiny";
  source.device = device_name;
  source.dtype = dtype_name;
  const RunContext run = StartRun(source, shown);  // under a launcher: tensor-parallel
  std::ostream& out = *run.out;
  const c10::Device device = *run.placement.device;
  const c10::ScalarType dtype = *run.placement.dtype;

  const AssetCard& card = DefaultAssetStore().card("tiny");
  out << "card: tiny (" << card.mark().ToString() << ")\n";
  LoadStats stats;
  auto start = std::chrono::steady_clock::now();
  std::shared_ptr<DecoderModel> model =
      LoadModelFromCard(card, run.placement, LoadOptions{}, nullptr, "", &stats);
  WaitFor(model->parameters().back());
  const int ranks = model->tp_gang()->size();
  out << "loaded: " << model->num_parameters() << " parameters"
      << (ranks > 1 ? " per rank over " + std::to_string(ranks) + " ranks" : "") << " on "
      << device.str() << " as " << DtypeName(dtype) << ", " << stats.format << " names"
      << Format(" in %.1f ms (%.1f MB read at %.2f GB/s)\n", 1000 * SecondsSince(start),
                stats.bytes / 1e6, stats.bytes / stats.seconds / 1e9);

  const int64_t batch = 4;
  const int64_t seq_len = 128;
  at::Tensor tokens =
      at::randint(0, model->blueprint().vocab_size, {batch, seq_len},
                  at::detail::createCPUGenerator(0), at::TensorOptions().dtype(at::kLong));
  {
    c10::InferenceMode inference;
    model->forward(tokens.to(device));  // warm-up
    start = std::chrono::steady_clock::now();
    at::Tensor logits = model->forward(tokens.to(device));
    WaitFor(logits);
    const double seconds = SecondsSince(start);
    out << "forward: logits [" << logits.size(0) << ", " << logits.size(1) << ", " << logits.size(2)
        << "]"
        << Format(" in %.1f ms (%.0f tokens/s)\n", 1000 * seconds, batch * seq_len / seconds);
  }

  const std::shared_ptr<Tokenizer> tokenizer = LoadTokenizerFromCard(card);
  const std::string prompt = "The garden in spring";
  const int64_t new_tokens = 16;
  start = std::chrono::steady_clock::now();
  const TextGeneration generated = Generate(*model, *tokenizer, prompt, new_tokens);
  const double seconds = SecondsSince(start);
  out << "generate: greedy, KV cache, " << generated.prompt_ids.size() << " prompt tokens"
      << Format(", %.0f new tokens in %.1f ms\n", static_cast<double>(generated.ids.size()),
                1000 * seconds);
  out << "prompt: " << prompt << "\n";
  out << "text: " << nlohmann::json(generated.text).dump() << " (random weights: any text)\n";
  out << "ids: " << FormatTokens(generated.ids) << "\n";
}

}  // namespace modelhub::cli
