#ifndef MODELHUB_TESTS_TESTING_HF_REFERENCE_H_
#define MODELHUB_TESTS_TESTING_HF_REFERENCE_H_

// An independent reference for the Hugging Face transformers forward pass of
// LlamaForCausalLM, Qwen2ForCausalLM, Qwen3ForCausalLM, MistralForCausalLM,
// GemmaForCausalLM, Gemma2ForCausalLM, Gemma3ForCausalLM (text only, model_type
// gemma3_text), Olmo2ForCausalLM, GraniteForCausalLM, Starcoder2ForCausalLM and
// Phi3ForCausalLM (fused qkv_proj / gate_up_proj, partial rotary, LongRoPE)
// (eager attention, no cache, no padding), written in plain ATen ops from the
// semantics of transformers' modeling code. It deliberately uses nothing from
// runtime/, so that modelhub's runtime can be checked against it.

#include <ATen/ATen.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace modelhub::testing {

// The config.json fields the reference needs, under their Hugging Face names
// (StarCoder2's norm_epsilon and use_bias live in rms_norm_eps and
// attention_bias). Fields of one model type must keep their defaults for the
// others (CheckConfig, run by every function below, throws otherwise).
struct HfConfig {
  // "llama", "qwen2", "qwen3", "mistral", "gemma", "gemma2", "gemma3_text",
  // "olmo2", "granite", "starcoder2" or "phi3".
  std::string model_type;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  // Per-head width; hidden_size / num_attention_heads when unset. olmo2, granite
  // and starcoder2 only allow hidden_size / num_attention_heads; phi3 (which has
  // no head_dim key) requires it unset.
  std::optional<int64_t> head_dim;
  int64_t vocab_size = 0;
  int64_t max_position_embeddings = 0;
  // The norm epsilon: rms_norm_eps, or StarCoder2's LayerNorm norm_epsilon.
  double rms_norm_eps = 1e-6;
  // RoPE base; for gemma3_text the one of the global (full-attention) layers.
  double rope_theta = 10000.0;
  bool tie_word_embeddings = false;
  // Query i sees key j iff j <= i and i - j < sliding_window (the window counts
  // the query itself), on every layer for mistral, starcoder2 and phi3 (where
  // it may be unset: no window), on the sliding layers of gemma2 and gemma3_text
  // (where it must be set). Ignored for the other types, whose configs are
  // written with use_sliding_window false (qwen2, qwen3) or without the key.
  std::optional<int64_t> sliding_window;
  // rope_scaling {"rope_type": "llama3", ...}, as in Llama 3.1. Not allowed for
  // the gemma types (gemma3_text has linear_rope_factor) nor for phi3 (which has
  // longrope).
  struct Llama3Scaling {
    double factor = 8.0;
    double low_freq_factor = 1.0;
    double high_freq_factor = 4.0;
    int64_t original_max_position_embeddings = 8192;
  };
  std::optional<Llama3Scaling> rope_scaling;
  // Biases on q/k/v and, for every type but qwen2, on o_proj too, as
  // transformers does. Must be true for qwen2 (which always has q/k/v biases
  // and no o_proj bias) and false for mistral and phi3 (which have none). StarCoder2's
  // use_bias: biases on q/k/v/o and on mlp.c_fc / mlp.c_proj.
  bool attention_bias = false;
  // The MLP activation: "silu", "gelu" (exact, erf) or "gelu_pytorch_tanh"
  // (tanh approximation); written to config.json as hidden_act (and, for the
  // gemma types, as hidden_activation too).
  std::string hidden_act = "silu";
  // gemma2/gemma3_text (required there): attention scores are scaled by
  // query_pre_attn_scalar ** -0.5 instead of head_dim ** -0.5.
  std::optional<double> query_pre_attn_scalar;
  // gemma2/gemma3_text: cap * tanh(score / cap) on the scaled attention scores,
  // before the mask. Applied by gemma2 only: transformers' Gemma3Attention
  // never passes it to the attention function, so gemma3_text writes it to
  // config.json and ignores it.
  std::optional<double> attn_logit_softcapping;
  // gemma2/gemma3_text: cap * tanh(logits / cap) on the final logits.
  std::optional<double> final_logit_softcapping;
  // gemma3_text (required there, > 0): layer i is global (full attention) iff
  // (i + 1) % sliding_window_pattern == 0, sliding otherwise. gemma2 always
  // alternates (layer i sliding iff i % 2 == 0) and leaves this 0.
  int64_t sliding_window_pattern = 0;
  // gemma3_text: the unscaled RoPE base of the sliding layers.
  double rope_local_base_freq = 10000.0;
  // gemma3_text: rope_scaling {"rope_type": "linear", "factor": f} on the
  // global layers (inverse frequencies divided by f).
  std::optional<double> linear_rope_factor;
  // granite: embeddings times embedding_multiplier; each attention and MLP
  // output times residual_multiplier before its residual add; attention scale
  // attention_multiplier (instead of head_dim ** -0.5; must be > 0); logits
  // divided by logits_scaling.
  double embedding_multiplier = 1.0;
  double residual_multiplier = 1.0;
  double attention_multiplier = 0.0;
  double logits_scaling = 1.0;
  // phi3 (others must leave 1.0; in (0, 1]): RoPE rotates only the first
  // rotary_dim = int(head_dim * partial_rotary_factor) features of each q and k
  // head (rotate_half within them: pairs (j, j + rotary_dim / 2)); features
  // [rotary_dim, head_dim) pass through. rotary_dim must be even and > 0.
  double partial_rotary_factor = 1.0;
  // phi3 only: rope_scaling {"type": "longrope", "short_factor": [...],
  // "long_factor": [...]}, each list rotary_dim / 2 positive entries, with
  // original_max_position_embeddings (written at the top level of config.json).
  // inv_freq[i] = 1 / (ext[i] * rope_theta^(2i / rotary_dim)), ext = long_factor
  // for a forward whose seq_len = max(position_ids) + 1 exceeds
  // original_max_position_embeddings (strictly), short_factor otherwise. cos and
  // sin are both multiplied by HfRopeAttentionFactor (the same in both modes).
  struct LongRopeScaling {
    std::vector<double> short_factor;
    std::vector<double> long_factor;
    int64_t original_max_position_embeddings = 4096;
  };
  std::optional<LongRopeScaling> longrope;
};

// The head width `config` implies: head_dim, or hidden_size / num_attention_heads.
int64_t HfHeadDim(const HfConfig& config);

// The number of leading features of each q / k head that RoPE rotates:
// int(head_dim * partial_rotary_factor) (head_dim for every type but phi3).
// Throws (c10::Error) on a bad config.
int64_t HfRotaryDim(const HfConfig& config);

// The sliding window of layer `layer` (0-based) of `config`, or nullopt where
// the layer attends to the whole causal prefix: sliding_window on every layer
// for mistral, starcoder2 and phi3; on even layers for gemma2; on layers with
// (layer + 1) % sliding_window_pattern != 0 for gemma3_text; never for the
// others. Throws (c10::Error) on a bad config or layer.
std::optional<int64_t> HfLayerSlidingWindow(const HfConfig& config, int64_t layer);

// `config` as config.json text. Every type gets "architectures" (e.g.
// ["LlamaForCausalLM"]), "model_type", "torch_dtype": "float32", "hidden_act",
// hidden_size, intermediate_size, num_hidden_layers, num_attention_heads,
// num_key_value_heads, vocab_size, max_position_embeddings, rope_theta,
// "rope_scaling" (llama3 dict, gemma3_text's {"rope_type": "linear",
// "factor": f}, phi3's {"type": "longrope", "short_factor": [...],
// "long_factor": [...]}, or null), attention_dropout 0.0 and
// tie_word_embeddings. head_dim is written when set (never for phi3), and
// always for qwen3 and the gemma types (whose transformers defaults are 128 and
// 256). Then per type:
//   rms_norm_eps and attention_bias: every type but starcoder2;
//   llama, granite: "mlp_bias": false;
//   qwen2, qwen3: "use_sliding_window": false, max_window_layers;
//   mistral, qwen2, qwen3, gemma2, gemma3_text, starcoder2, phi3:
//     sliding_window (number or null);
//   gemma, gemma2, gemma3_text: "hidden_activation" (= hidden_act);
//   gemma2, gemma3_text: query_pre_attn_scalar (an integer when whole),
//     attn_logit_softcapping and final_logit_softcapping (number or null),
//     layer_types (["sliding_attention", "full_attention", ...]);
//   gemma3_text: sliding_window_pattern, rope_local_base_freq;
//   granite: embedding_multiplier, residual_multiplier, attention_multiplier,
//     logits_scaling;
//   starcoder2: norm_epsilon, use_bias, residual_dropout 0.0,
//     embedding_dropout 0.0;
//   phi3: partial_rotary_factor, original_max_position_embeddings (the
//     longrope's, or max_position_embeddings without longrope), resid_pdrop 0.0,
//     embd_pdrop 0.0.
// Doubles are written so they read back exactly. Throws (c10::Error) on an
// unknown model_type or a config CheckConfig rejects.
std::string ToConfigJson(const HfConfig& config);

// A deterministic random float32 state dict under Hugging Face names. Per layer
// N, under model.layers.N.:
//   input_layernorm.weight (not olmo2; starcoder2 adds input_layernorm.bias),
//   self_attn.{q,k,v,o}_proj.weight (phi3: self_attn.qkv_proj.weight
//   [(heads + 2 * kv_heads) * head_dim, hidden], rows [0, heads * head_dim) q,
//   then kv_heads * head_dim rows k, then as many v, and self_attn.o_proj.weight),
//   self_attn.{q,k,v}_proj.bias when
//   attention_bias, self_attn.o_proj.bias when attention_bias and not qwen2,
//   self_attn.{q,k}_norm.weight ([head_dim] for qwen3 and gemma3_text;
//   [heads * head_dim] and [kv_heads * head_dim] for olmo2),
//   post_attention_layernorm.weight (starcoder2 adds .bias),
//   pre_feedforward_layernorm.weight (gemma2, gemma3_text),
//   post_feedforward_layernorm.weight (gemma2, gemma3_text, olmo2),
//   mlp.{gate,up,down}_proj.weight (all but starcoder2 and phi3), for phi3
//   mlp.gate_up_proj.weight [2 * intermediate, hidden] (rows [0, intermediate)
//   gate, the rest up; the MLP is down_proj(up * act(gate))) and
//   mlp.down_proj.weight, or for starcoder2
//   mlp.c_fc.weight, mlp.c_proj.weight and, with attention_bias (use_bias),
//   mlp.c_fc.bias and mlp.c_proj.bias;
// then model.embed_tokens.weight, model.norm.weight (starcoder2 adds
// model.norm.bias) and lm_head.weight unless tie_word_embeddings. Linear
// weights (fused ones included) are normal / sqrt(fan_in), embeddings normal * 0.5, norm weights
// 1 + 0.1 * normal (for the gemma types, which compute x * (1 + w), the stored
// w is 0.1 * normal), biases (LayerNorm ones included) 0.1 * normal, so
// activations stay O(1) and attention is far from uniform. Drawn from its own
// generator seeded with `seed` (no global RNG state is read or changed); the
// same config and seed give bit-identical tensors.
std::map<std::string, at::Tensor> MakeHfStateDict(const HfConfig& config, uint64_t seed);

// The RoPE inverse frequencies transformers uses for `config`'s global
// (full-attention) layers, float32 [rotary_dim / 2] (rotary_dim = HfRotaryDim,
// head_dim but for phi3): 1 / theta^(2i / rotary_dim) with theta = rope_theta,
// then, with llama3 scaling, divided by factor for wavelengths above
// original_max / low_freq_factor, unchanged below original_max /
// high_freq_factor, and smoothly interpolated between; with gemma3_text's
// linear_rope_factor f, all divided by f; with phi3's longrope, the short-mode
// frequencies 1 / (short_factor[i] * theta^(2i / rotary_dim)) (those of any
// forward over at most original_max_position_embeddings positions).
at::Tensor HfRopeInverseFrequencies(const HfConfig& config);

// phi3 only: the inverse frequencies, float32 [rotary_dim / 2], of a forward
// over positions 0..seq_len-1: with longrope and seq_len >
// original_max_position_embeddings the long ones, 1 / (long_factor[i] *
// theta^(2i / rotary_dim)); otherwise HfRopeInverseFrequencies(config). Throws
// (c10::Error) for another type, a bad config or seq_len < 1.
at::Tensor HfPhi3RopeInverseFrequencies(const HfConfig& config, int64_t seq_len);

// The factor RoPE's cos and sin are both multiplied by: for phi3 with longrope,
// with factor = max_position_embeddings / original_max_position_embeddings,
// 1 if factor <= 1, else sqrt(1 + ln(factor) / ln(original_max_position_embeddings));
// 1 for everything else. Throws (c10::Error) on a bad config.
double HfRopeAttentionFactor(const HfConfig& config);

// The RoPE inverse frequencies of layer `layer`: for the sliding layers of
// gemma3_text 1 / rope_local_base_freq^(2i / head_dim), unscaled; otherwise
// HfRopeInverseFrequencies(config) (for phi3 the short-mode ones: a forward's
// depend on its length, see HfPhi3RopeInverseFrequencies). Throws (c10::Error)
// on a bad layer.
at::Tensor HfLayerRopeInverseFrequencies(const HfConfig& config, int64_t layer);

// The logits [batch, seq, vocab] (float32) of the Hugging Face model with
// `config` and weights `state` (Hugging Face names, as MakeHfStateDict makes)
// on `input_ids` [batch, seq] (int64, no padding, positions 0..seq-1; phi3's
// longrope picks its long factors for the whole call when seq >
// original_max_position_embeddings). Computed in float32 in transformers'
// operation order (RMSNorm in float32, Gemma's (1 + w) RMSNorm, StarCoder2's
// LayerNorm, phi3's fused projections applied then split, RoPE tables in
// float32 times the attention factor, partial rotary, additive
// finfo.min mask after gemma2's score soft-capping, float32 softmax, the
// gemma embedding scale sqrt(hidden_size) as a float32 tensor, granite's
// multipliers, final soft-capping). `state` must hold exactly the tensors the
// model has, with the right shapes (lm_head.weight may be present with tied
// embeddings and is then ignored, as transformers ties it). Throws
// (c10::Error) on a missing, extra or misshapen tensor or bad ids.
at::Tensor HfReferenceLogits(const HfConfig& config, const std::map<std::string, at::Tensor>& state,
                             const at::Tensor& input_ids);

// Ready-made tiny configs (hidden 64, 2 layers, vocab 128, 4 query / 2 kv heads,
// intermediate 96, unless said otherwise).
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
// Gemma with head_dim 32 (not 64 / 4), exact "gelu", tied.
HfConfig TinyGemmaConfig();
// Gemma 2, 3 layers (0 and 2 sliding, 1 global), head_dim 32,
// query_pre_attn_scalar 24, sliding_window 4, attn_logit_softcapping 5,
// final_logit_softcapping 3, "gelu_pytorch_tanh", tied.
HfConfig TinyGemma2Config();
// Gemma 3 text, 4 layers, sliding_window_pattern 2 (0 and 2 sliding, 1 and 3
// global), sliding_window 4, head_dim 32, query_pre_attn_scalar 24, rope_theta
// 1e6 with linear factor 2 on global layers, rope_local_base_freq 1e4,
// final_logit_softcapping 3 (attn_logit_softcapping null, as in the released
// models), "gelu_pytorch_tanh", tied.
HfConfig TinyGemma3Config();
// OLMo 2 (post-norms, whole-width q/k norms), rope_theta 5e5, untied.
HfConfig TinyOlmo2Config();
// Granite with embedding_multiplier 12, residual_multiplier 0.22,
// attention_multiplier 0.125 (head_dim 16, so not 1 / sqrt(16)),
// logits_scaling 2, tied.
HfConfig TinyGraniteConfig();
// StarCoder2 with use_bias (q/k/v/o, c_fc, c_proj biases), LayerNorm eps 1e-5,
// sliding_window 4 on every layer, "gelu_pytorch_tanh", rope_theta 1e5, tied.
HfConfig TinyStarcoder2Config();
// Phi-3 (head_dim 16) with partial_rotary_factor 0.5 (rotary_dim 8, 4
// frequencies), longrope short_factor {1, 1.5, 2, 4}, long_factor {2, 3, 5, 8},
// original_max_position_embeddings 6 and max_position_embeddings 48 (factor 8:
// attention factor sqrt(1 + ln 8 / ln 6); a forward over 7 or more tokens uses
// the long factors), sliding_window 5 on every layer, rope_theta 1e4,
// rms_norm_eps 1e-5, "silu", untied.
HfConfig TinyPhi3Config();
// Phi-3 like Phi-3-mini-4k: no rope_scaling, partial_rotary_factor 1,
// sliding_window 4, max_position_embeddings 32, rope_theta 1e4, rms_norm_eps
// 1e-5, "silu", tied embeddings (as Phi-4-mini).
HfConfig TinyPhi3PlainConfig();

}  // namespace modelhub::testing

#endif  // MODELHUB_TESTS_TESTING_HF_REFERENCE_H_
