// Writes the `tiny` card's checkpoint: a small Llama 3.2-style model in Hugging
// Face layout (config.json, two safetensors shards and their index), with
// deterministic random weights. Run by the build (cards/BUILD.bazel), so no
// checkpoint is checked in and nothing downloads.
//
// It writes Hugging Face names and shapes itself, without modelhub's runtime:
// loading it is then a test of the runtime against an independent producer.
//
// Usage: make_tiny_checkpoint OUT_DIR

#include <ATen/ATen.h>
#include <ATen/CPUGeneratorImpl.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "runtime/formats/safetensors.h"

namespace {

// The architecture; cards/tiny.yaml's model_config states the same values.
constexpr int64_t kHidden = 256;
constexpr int64_t kLayers = 4;
constexpr int64_t kHeads = 8;
constexpr int64_t kKvHeads = 2;
constexpr int64_t kHeadDim = kHidden / kHeads;
constexpr int64_t kIntermediate = 768;
constexpr int64_t kVocab = 4096;
constexpr int64_t kMaxPositions = 2048;

using Tensors = std::vector<std::pair<std::string, at::Tensor>>;

nlohmann::json Config() {
  return {
      {"architectures", {"LlamaForCausalLM"}},
      {"model_type", "llama"},
      {"hidden_size", kHidden},
      {"intermediate_size", kIntermediate},
      {"num_hidden_layers", kLayers},
      {"num_attention_heads", kHeads},
      {"num_key_value_heads", kKvHeads},
      {"head_dim", kHeadDim},
      {"vocab_size", kVocab},
      {"max_position_embeddings", kMaxPositions},
      {"rms_norm_eps", 1e-5},
      {"rope_theta", 500000.0},
      {"rope_scaling",
       {{"rope_type", "llama3"},
        {"factor", 32.0},
        {"low_freq_factor", 1.0},
        {"high_freq_factor", 4.0},
        {"original_max_position_embeddings", 64}}},
      {"tie_word_embeddings", true},
      {"hidden_act", "silu"},
      {"attention_bias", false},
      {"mlp_bias", false},
      {"torch_dtype", "float32"},
  };
}

class Weights {
 public:
  explicit Weights(uint64_t seed) : generator_(at::detail::createCPUGenerator(seed)) {}

  // A [rows, cols] matrix with entries of standard deviation 1/sqrt(cols).
  at::Tensor Matrix(int64_t rows, int64_t cols) {
    return at::normal(0.0, 1.0 / std::sqrt(static_cast<double>(cols)), {rows, cols}, generator_);
  }
  // A norm weight near 1.
  at::Tensor Norm(int64_t size) { return 1.0 + at::normal(0.0, 0.1, {size}, generator_); }

 private:
  at::Generator generator_;
};

void WriteText(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary);
  out << text << "\n";
  if (!out) throw std::runtime_error("cannot write " + path.string());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: make_tiny_checkpoint OUT_DIR\n";
    return 2;
  }
  try {
    const std::filesystem::path out(argv[1]);
    std::filesystem::create_directories(out);
    Weights weights(/*seed=*/20261122);
    // Shard 1: the embeddings and the first half of the layers; shard 2: the rest.
    Tensors shards[2];
    shards[0].emplace_back("model.embed_tokens.weight", weights.Matrix(kVocab, kHidden));
    for (int64_t layer = 0; layer < kLayers; ++layer) {
      Tensors& shard = shards[layer < kLayers / 2 ? 0 : 1];
      const std::string prefix = "model.layers." + std::to_string(layer) + ".";
      shard.emplace_back(prefix + "input_layernorm.weight", weights.Norm(kHidden));
      shard.emplace_back(prefix + "self_attn.q_proj.weight",
                         weights.Matrix(kHeads * kHeadDim, kHidden));
      shard.emplace_back(prefix + "self_attn.k_proj.weight",
                         weights.Matrix(kKvHeads * kHeadDim, kHidden));
      shard.emplace_back(prefix + "self_attn.v_proj.weight",
                         weights.Matrix(kKvHeads * kHeadDim, kHidden));
      shard.emplace_back(prefix + "self_attn.o_proj.weight",
                         weights.Matrix(kHidden, kHeads * kHeadDim));
      shard.emplace_back(prefix + "post_attention_layernorm.weight", weights.Norm(kHidden));
      shard.emplace_back(prefix + "mlp.gate_proj.weight", weights.Matrix(kIntermediate, kHidden));
      shard.emplace_back(prefix + "mlp.up_proj.weight", weights.Matrix(kIntermediate, kHidden));
      shard.emplace_back(prefix + "mlp.down_proj.weight", weights.Matrix(kHidden, kIntermediate));
    }
    shards[1].emplace_back("model.norm.weight", weights.Norm(kHidden));

    nlohmann::json index = {{"metadata", {{"total_size", 0}}},
                            {"weight_map", nlohmann::json::object()}};
    int64_t total = 0;
    for (int s = 0; s < 2; ++s) {
      const std::string file = "model-0000" + std::to_string(s + 1) + "-of-00002.safetensors";
      modelhub::WriteSafetensors((out / file).string(), shards[s], {{"format", "pt"}});
      for (const auto& [name, tensor] : shards[s]) {
        index["weight_map"][name] = file;
        total += tensor.numel() * static_cast<int64_t>(tensor.element_size());
      }
    }
    index["metadata"]["total_size"] = total;
    WriteText(out / "model.safetensors.index.json", index.dump(2));
    WriteText(out / "config.json", Config().dump(2));
  } catch (const std::exception& e) {
    std::cerr << "make_tiny_checkpoint: " << e.what() << "\n";
    return 1;
  }
  return 0;
}
