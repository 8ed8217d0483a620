#ifndef MODELHUB_TESTS_TESTING_HF_REFERENCE_H_
#define MODELHUB_TESTS_TESTING_HF_REFERENCE_H_

// An independent reference for the Hugging Face transformers forward pass of
// LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM and MistralForCausalLM
// (eager attention, no cache, no padding), written in plain ATen ops from the
// semantics of transformers' modeling code. It deliberately uses nothing from
// runtime/, so that modelhub's runtime can be checked against it.

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace modelhub::testing {

// The config.json fields the reference needs, under their Hugging Face names.
struct HfConfig {
  std::string model_type;  // "llama", "qwen2", "qwen3" or "mistral".
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  // Per-head width; hidden_size / num_attention_heads when unset.
  std::optional<int64_t> head_dim;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  // Mistral only: query i sees key j iff j <= i and i - j < sliding_window
  // (the window counts the query itself). Ignored for the other types, whose
  // configs are written with use_sliding_window false.
  std::optional<int64_t> sliding_window;
  // rope_scaling {"rope_type": "llama3", ...}, as in Llama 3.1.
  struct Llama3Scaling {
    double factor = 8.0;
    double low_freq_factor = 1.0;
    double high_freq_factor = 4.0;
    int64_t original_max_position_embeddings = 8192;
  };
  std::optional<Llama3Scaling> rope_scaling;
  // Biases on q/k/v (and, for llama and qwen3, on o_proj too, as transformers
  // does). Must be true for qwen2 (which always has q/k/v biases and no o_proj
  // bias) and false for mistral (which has none).
  bool attention_bias = false;
};

// The head width `config` implies: head_dim, or hidden_size / num_attention_heads.
int64_t HfHeadDim(const HfConfig& config);

// `config` as config.json text: "architectures" (e.g. ["LlamaForCausalLM"]),
// "model_type", "torch_dtype": "float32", "hidden_act": "silu" and every field of
// HfConfig. head_dim is written when set, and always for qwen3 (whose
// transformers default is 128, not hidden_size / heads); rope_scaling is
// {"rope_type": "llama3", ...} or null; qwen2/qwen3 get "use_sliding_window":
// false; llama gets no sliding_window. Doubles are written so they read back
// exactly. Throws (c10::Error) on an unknown model_type.
std::string ToConfigJson(const HfConfig& config);

// A deterministic random float32 state dict under Hugging Face names
// (model.embed_tokens.weight, model.layers.N.{input_layernorm,
// post_attention_layernorm}.weight, model.layers.N.self_attn.{q,k,v,o}_proj.*,
// model.layers.N.self_attn.{q,k}_norm.weight for qwen3, model.layers.N.mlp.
// {gate,up,down}_proj.weight, model.norm.weight, and lm_head.weight unless
// tie_word_embeddings). Linear weights are normal / sqrt(fan_in), embeddings
// normal * 0.5, norm weights 1 + 0.1 * normal, biases 0.1 * normal, so
// activations stay O(1) and attention is far from uniform. Drawn from its own
// generator seeded with `seed` (no global RNG state is read or changed); the
// same config and seed give bit-identical tensors.
std::map<std::string, at::Tensor> MakeHfStateDict(const HfConfig& config, uint64_t seed);

// The RoPE inverse frequencies transformers uses for `config`, float32
// [head_dim / 2]: 1 / theta^(2i / head_dim), then, with llama3 scaling, divided
// by factor for wavelengths above original_max / low_freq_factor, unchanged
// below original_max / high_freq_factor, and smoothly interpolated between.
at::Tensor HfRopeInverseFrequencies(const HfConfig& config);

// The logits [batch, seq, vocab] (float32) of the Hugging Face model with
// `config` and weights `state` (Hugging Face names, as MakeHfStateDict makes)
// on `input_ids` [batch, seq] (int64, no padding, positions 0..seq-1). Computed
// in float32 in transformers' operation order (RMSNorm in float32, RoPE tables
// in float32, additive finfo.min mask, float32 softmax). `state` must hold
// exactly the tensors the model has, with the right shapes (lm_head.weight may
// be present with tied embeddings and is then ignored, as transformers ties it).
// Throws (c10::Error) on a missing, extra or misshapen tensor or bad ids.
at::Tensor HfReferenceLogits(const HfConfig& config, const std::map<std::string, at::Tensor>& state,
                             const at::Tensor& input_ids);

// Ready-made tiny configs (hidden 64, 2 layers, vocab 128, 4 query / 2 kv heads).
// Llama with llama3 rope scaling (theta 10000, original_max_position_embeddings
// 32, factor 8, low/high 1/4) so that with head_dim 16 frequency 0 is left
// alone, frequency 1 is interpolated and frequencies 2..7 are divided by 8.
HfConfig TinyLlama3Config();
// Qwen2 with q/k/v biases and tied embeddings.
HfConfig TinyQwen2Config();
// Qwen3 with explicit head_dim 32 (not 64 / 4), q/k norms and tied embeddings.
HfConfig TinyQwen3Config();
// Mistral with sliding_window 4, untied.
HfConfig TinyMistralConfig();

}  // namespace modelhub::testing

#endif  // MODELHUB_TESTS_TESTING_HF_REFERENCE_H_
