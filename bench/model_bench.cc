// Model creation and forward throughput.
//
//   bazel run -c opt //bench:model_bench
//
// BM_CreateMeta: building a preset on the meta device (no storage).
// BM_CreateReal: building and initializing a model in CPU memory.
// BM_Forward: a [4, 128] forward of a small Qwen 3 (items = tokens).
// BM_DecodeStep: one KV-cached decoding step after a 128-token prompt (items = tokens).

#include <ATen/ATen.h>
#include <benchmark/benchmark.h>
#include <c10/core/InferenceMode.h>

#include "families/qwen/qwen.h"
#include "runtime/hub/model_family_registry.h"

namespace modelhub {
namespace {

std::shared_ptr<DecoderModel> Create(const std::string& family, const std::string& arch,
                                     bool meta) {
  const ModelFamily& f = GetModelFamily(family);
  ModelPlacement placement;
  placement.meta = meta;
  return f.CreateNewModel(*f.GetArchConfig(arch), placement);
}

void BM_CreateMeta(benchmark::State& state, const std::string& family, const std::string& arch) {
  for (auto _ : state) benchmark::DoNotOptimize(Create(family, arch, /*meta=*/true));
}
BENCHMARK_CAPTURE(BM_CreateMeta, llama3_1_405b, "llama", "llama3_1_405b")
    ->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(BM_CreateMeta, qwen25_7b, "qwen", "qwen25_7b")->Unit(benchmark::kMillisecond);

void BM_CreateReal(benchmark::State& state, const std::string& family, const std::string& arch) {
  int64_t bytes = 0;
  for (auto _ : state) {
    auto model = Create(family, arch, /*meta=*/false);
    bytes = model->num_parameters() * 4;
    benchmark::DoNotOptimize(model);
  }
  state.SetBytesProcessed(state.iterations() * bytes);
}
BENCHMARK_CAPTURE(BM_CreateReal, qwen25_0_5b, "qwen", "qwen25_0.5b")
    ->Unit(benchmark::kMillisecond)
    ->Iterations(3);

// The qwen3_0.6b preset narrowed to model_dim 256, 4 layers, 4 query / 2
// key-value heads of 64, SwiGLU width 768, vocabulary 4096, max_seq_len 1024.
std::shared_ptr<DecoderModel> SmallModel() {
  QwenModelHub hub = get_qwen_model_hub();
  QwenConfig config = hub.get_arch_config("qwen3_0.6b");
  config.model_dim = 256;
  config.num_layers = 4;
  config.num_attn_heads = 4;
  config.num_key_value_heads = 2;
  config.head_dim = 64;
  config.ffn_inner_dim = 768;
  config.vocab_size = 4096;
  config.max_seq_len = 1024;
  at::manual_seed(0);
  return hub.create_new_model(config);
}

void BM_Forward(benchmark::State& state) {
  auto model = SmallModel();
  at::Tensor tokens = at::randint(0, 4096, {4, 128}, at::kLong);
  c10::InferenceMode inference;
  for (auto _ : state) benchmark::DoNotOptimize(model->forward(tokens));
  state.SetItemsProcessed(state.iterations() * tokens.numel());
}
BENCHMARK(BM_Forward)->Unit(benchmark::kMillisecond);

void BM_DecodeStep(benchmark::State& state) {
  auto model = SmallModel();
  c10::InferenceMode inference;
  at::Tensor prompt = at::randint(0, 4096, {1, 128}, at::kLong);
  at::Tensor next = at::full({1, 1}, 7, at::kLong);
  KvCache prefilled = model->NewKvCache();
  model->forward(prompt, {}, &prefilled);
  for (auto _ : state) {
    KvCache cache = prefilled;  // shares the cached tensors; each step appends anew
    benchmark::DoNotOptimize(model->forward(next, {}, &cache));
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_DecodeStep)->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace modelhub
