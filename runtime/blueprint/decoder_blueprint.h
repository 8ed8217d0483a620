#ifndef MODELHUB_RUNTIME_BLUEPRINT_DECODER_BLUEPRINT_H_
#define MODELHUB_RUNTIME_BLUEPRINT_DECODER_BLUEPRINT_H_

// The family-independent description of a decoder-only transformer: what the
// shared runtime builds. Each family's generated ConfigTraits<C>::ToBlueprint
// fills it from the family's own config through the spec's `decoder` section.
//
// Every setting is declared once: a member below plus its entry in
// VisitDecoderSettings. From that list the spec compiler takes the keys a
// spec's `decoder:` section accepts (typed by the member, required or not), the
// generated ToBlueprint sets them, Validate() checks them, DescribeDifference
// compares them and the config.json writer writes them. Adding a setting:
//   1. a member here, with the default that builds today's models;
//   2. its entry in VisitDecoderSettings (key, required, positive, config.json key);
//   3. the parameters it creates, if any, in decoder_parameters.cc;
//   4. the block that uses it (runtime/nn, through the block's options struct,
//      which runtime/models fills from the blueprint), and a test of the block.
// Relations between settings (heads divisible by key/value heads, ...) are
// checked by Validate's own code.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/blueprint/rope_settings.h"

namespace modelhub {

struct DecoderBlueprint {
  std::string family;  // for messages
  int64_t model_dim = 0;
  int64_t num_layers = 0;
  int64_t vocab_size = 0;
  int64_t max_seq_len = 0;
  bool tied_embeddings = false;  // the LM head reuses the embedding table
  // Each attention and FFN output is multiplied by this before the residual
  // add.
  double residual_multiplier = 1.0;

  struct Embedding {
    // Embeddings times sqrt(model_dim), rounded to the model's dtype.
    bool scale_by_sqrt_dim = false;
    double multiplier = 1.0;  // embeddings times this
  } embedding;

  struct Norm {
    std::string kind = "rms";  // "rms": RMSNorm; "layer": LayerNorm with a bias
    double eps = 1e-6;
    bool unit_offset = false;  // RMSNorm scales by 1 + weight, the weight starting at 0
    // Where each sub-block's norms are: before it (its input is normalized;
    // pre-norm), after it (its output is, before the residual add; post-norm),
    // or both (sandwich).
    bool before = true;
    bool after = false;
  } norm;

  struct Attention {
    int64_t num_heads = 0;
    int64_t num_kv_heads = 0;
    std::optional<int64_t> head_dim;        // unset: model_dim / num_heads
    bool qkv_bias = false;                  // biases on q_proj, k_proj, v_proj
    bool output_bias = false;               // a bias on output_proj (Hugging Face's o_proj.bias)
    bool q_norm = false;                    // RMSNorm of queries, before RoPE
    bool k_norm = false;                    // RMSNorm of keys, before RoPE
    bool qk_norm_per_head = true;           // q/k norms over each head, else the whole width
    std::optional<int64_t> sliding_window;  // query i sees key j when i - j < W
    // With a sliding window: every N-th layer (N-1, 2N-1, ...) attends
    // globally, the others within the window; unset: every layer uses it.
    std::optional<int64_t> sliding_window_pattern;
    std::optional<double> scale;  // scores times this; unset: query_pre_attn_scalar ** -0.5
    std::optional<double> query_pre_attn_scalar;  // unset: head_dim
    std::optional<double> logit_softcap;          // scores become cap * tanh(scores / cap)
  } attention;

  struct Rope {
    double theta = 10000.0;
    RopeLayout layout = RopeLayout::kRotateHalf;
    std::optional<Llama3RopeScaling> llama3_scaling;
    std::optional<LongRopeScaling> longrope_scaling;
    std::optional<double> linear_factor;  // inverse frequencies divided by it (linear scaling)
    // The fraction of each head's features that is rotated: the first
    // int(head_dim * partial_factor); the others pass through.
    double partial_factor = 1.0;
    // The theta of layers that attend within the sliding window, unscaled;
    // unset: rope.theta with its scaling, as every layer.
    std::optional<double> local_theta;
  } rope;

  struct Ffn {  // inner size per fairseq2's LLaMA rule, see FfnInnerDim()
    // "glu": output(act(gate(x)) * inner(x)); "mlp": output(act(inner(x))).
    std::string kind = "glu";
    std::string activation = "silu";  // silu, gelu (erf) or gelu_pytorch_tanh
    bool bias = false;                // biases on every FFN projection
    int64_t inner_dim = 0;
    double inner_dim_scale = 1.0;
    double inner_dim_multiplier = 1.0;
    int64_t inner_dim_multiple_of = 1;
  } ffn;

  struct Logits {
    double divisor = 1.0;           // logits divided by it
    std::optional<double> softcap;  // logits become cap * tanh(logits / cap)
  } logits;

  // The attention head size.
  int64_t HeadDim() const;
  // The features of each head RoPE rotates: int(head_dim * rope.partial_factor).
  int64_t RotaryDim() const;
  // What LongRoPE multiplies cosines and sines by: with factor = max_seq_len /
  // original_context_length, sqrt(1 + ln(factor) / ln(original_context_length))
  // where factor > 1, else 1 (also without LongRoPE).
  double RopeAttentionFactor() const;
  // Whether a KV cache of `cached` positions (filled with LongRoPE's short
  // factors) is stale once extended to `length`: the call then switches to the
  // long factors, and transformers recomputes the whole sequence with them.
  bool LongRopeSwitches(int64_t cached, int64_t length) const;
  // The factor attention scores are multiplied by: attention.scale, else
  // query_pre_attn_scalar ** -0.5, else head_dim ** -0.5.
  double AttentionScale() const;
  // Whether layer `layer` attends within the sliding window.
  bool IsLocalLayer(int64_t layer) const;
  // The SwiGLU hidden size: int(inner_dim * scale), then int(that * multiplier)
  // when the multiplier is not 1, rounded up to a multiple of inner_dim_multiple_of.
  int64_t FfnInnerDim() const;
  // Throws ConfigError naming the first inconsistent value (non-positive sizes,
  // heads not divisible by kv heads, odd head size, ...).
  void Validate() const;
};

// A size that several settings determine together, compared and written to
// config.json as that size (an FFN width given directly equals the same width
// reached by fairseq2's sizing rule).
struct DerivedSize {
  const char* name;  // in DescribeDifference's text
  int64_t (*of)(const DecoderBlueprint&);
};

// What the settings list says of one setting.
struct DecoderSetting {
  // Its key path under a spec's `decoder:` section and its name in messages
  // ("attention.num_heads"); for Llama 3 RoPE scaling, the key under `scaling:`.
  const char* key;
  // A spec's decoder section must give it; otherwise the member's default holds.
  bool required = false;
  // Validate() requires it above 0 (an optional setting: when set).
  bool positive = false;
  // The Hugging Face config.json key it is written as (null: none); "a|b":
  // the first of those the family's spec reads (model types name it differently).
  const char* hf_key = nullptr;
  // Written to config.json only for families whose spec reads the key
  // (transformers declares it for some model types only).
  bool hf_only_where_read = false;
  // When set, the setting is compared and written as this size.
  const DerivedSize* derived = nullptr;
  // A string setting: the values it may take, separated by spaces.
  const char* choices = nullptr;
};

// The values of a string setting's `choices` (empty for null).
std::vector<std::string> SplitChoices(const char* choices);

extern const DerivedSize kHeadDimSize;
extern const DerivedSize kFfnInnerDimSize;

// Calls visit(const DecoderSetting&, b.member...) for every setting, in
// declaration order, with that member of each blueprint given (one to read or
// set a setting, two to compare), except the RoPE layout (an enum the spec
// names), Llama 3 scaling (VisitLlama3ScalingSettings) and LongRoPE
// (VisitLongRopeScalingSettings). Members are int64_t,
// double, bool, std::string (with choices), std::optional<int64_t> or
// std::optional<double>.
template <typename Visitor, typename... Blueprint>
void VisitDecoderSettings(Visitor&& visit, Blueprint&... b) {
  using S = DecoderSetting;
  visit(S{"model_dim", true, true, "hidden_size"}, b.model_dim...);
  visit(S{"num_layers", true, true, "num_hidden_layers"}, b.num_layers...);
  visit(S{"vocab_size", true, true, "vocab_size"}, b.vocab_size...);
  visit(S{"max_seq_len", true, true, "max_position_embeddings"}, b.max_seq_len...);
  visit(S{"tied_embeddings", false, false, "tie_word_embeddings"}, b.tied_embeddings...);
  visit(S{"residual_multiplier", false, true, "residual_multiplier", true},
        b.residual_multiplier...);
  visit(S{"embedding.scale_by_sqrt_dim"}, b.embedding.scale_by_sqrt_dim...);
  visit(S{"embedding.multiplier", false, true, "embedding_multiplier", true},
        b.embedding.multiplier...);
  visit(S{"norm.kind", true, false, nullptr, false, nullptr, "rms layer"}, b.norm.kind...);
  visit(S{"norm.eps", true, true, "rms_norm_eps|norm_epsilon"}, b.norm.eps...);
  visit(S{"norm.unit_offset"}, b.norm.unit_offset...);
  visit(S{"norm.before"}, b.norm.before...);
  visit(S{"norm.after"}, b.norm.after...);
  visit(S{"attention.num_heads", true, true, "num_attention_heads"}, b.attention.num_heads...);
  visit(S{"attention.num_kv_heads", true, true, "num_key_value_heads"},
        b.attention.num_kv_heads...);
  visit(S{"attention.head_dim", false, true, "head_dim", true, &kHeadDimSize},
        b.attention.head_dim...);
  visit(S{"attention.qkv_bias", false, false, "attention_bias", true}, b.attention.qkv_bias...);
  visit(S{"attention.output_bias"}, b.attention.output_bias...);
  visit(S{"attention.q_norm"}, b.attention.q_norm...);
  visit(S{"attention.k_norm"}, b.attention.k_norm...);
  visit(S{"attention.qk_norm_per_head"}, b.attention.qk_norm_per_head...);
  visit(S{"attention.sliding_window", false, true, "sliding_window", true},
        b.attention.sliding_window...);
  visit(S{"attention.sliding_window_pattern", false, true, "sliding_window_pattern", true},
        b.attention.sliding_window_pattern...);
  visit(S{"attention.scale", false, true, "attention_multiplier", true}, b.attention.scale...);
  visit(S{"attention.query_pre_attn_scalar", false, true, "query_pre_attn_scalar", true},
        b.attention.query_pre_attn_scalar...);
  visit(S{"attention.logit_softcap", false, true, "attn_logit_softcapping", true},
        b.attention.logit_softcap...);
  visit(S{"rope.theta", true, true, "rope_theta"}, b.rope.theta...);
  visit(S{"rope.linear_factor", false, true}, b.rope.linear_factor...);
  visit(S{"rope.local_theta", false, true, "rope_local_base_freq", true}, b.rope.local_theta...);
  visit(S{"rope.partial_factor", false, true, "partial_rotary_factor", true},
        b.rope.partial_factor...);
  visit(S{"ffn.kind", true, false, nullptr, false, nullptr, "glu mlp"}, b.ffn.kind...);
  visit(S{"ffn.activation", false, false, "hidden_act|hidden_activation", false, nullptr,
          "silu gelu gelu_pytorch_tanh"},
        b.ffn.activation...);
  visit(S{"ffn.bias", false, false, "use_bias", true}, b.ffn.bias...);
  visit(S{"ffn.inner_dim", true, true, "intermediate_size", false, &kFfnInnerDimSize},
        b.ffn.inner_dim...);
  visit(S{"ffn.inner_dim_scale", false, true, nullptr, false, &kFfnInnerDimSize},
        b.ffn.inner_dim_scale...);
  visit(S{"ffn.inner_dim_multiplier", false, true, nullptr, false, &kFfnInnerDimSize},
        b.ffn.inner_dim_multiplier...);
  visit(S{"ffn.inner_dim_multiple_of", false, true, nullptr, false, &kFfnInnerDimSize},
        b.ffn.inner_dim_multiple_of...);
  visit(S{"logits.divisor", false, true, "logits_scaling", true}, b.logits.divisor...);
  visit(S{"logits.softcap", false, true, "final_logit_softcapping", true}, b.logits.softcap...);
}

// As VisitDecoderSettings, for the settings of Llama 3 RoPE scaling (keys under
// a spec's `rope: {scaling: {kind: llama3}}`, config.json keys under rope_scaling).
template <typename Visitor, typename... Scaling>
void VisitLlama3ScalingSettings(Visitor&& visit, Scaling&... s) {
  visit(DecoderSetting{"factor", true, true, "factor"}, s.factor...);
  visit(DecoderSetting{"low_freq_factor", true, true, "low_freq_factor"}, s.low_freq_factor...);
  visit(DecoderSetting{"high_freq_factor", true, true, "high_freq_factor"}, s.high_freq_factor...);
  visit(DecoderSetting{"original_context_length", true, true, "original_max_position_embeddings"},
        s.original_context_length...);
}

// As VisitLlama3ScalingSettings, for LongRoPE (keys under a spec's `rope:
// {scaling: {kind: longrope}}`; config.json has the lists under rope_scaling,
// original_max_position_embeddings at its top level). Members are
// std::vector<double> and int64_t.
template <typename Visitor, typename... Scaling>
void VisitLongRopeScalingSettings(Visitor&& visit, Scaling&... s) {
  visit(DecoderSetting{"short_factors", true, true, "short_factor"}, s.short_factors...);
  visit(DecoderSetting{"long_factors", true, true, "long_factor"}, s.long_factors...);
  visit(DecoderSetting{"original_context_length", true, true, "original_max_position_embeddings"},
        s.original_context_length...);
}

// The first way in which the models `a` and `b` describe differ, as
// "<what>: <a's value> vs <b's value>" (e.g. "ffn inner dim: 14336 vs 11008"),
// or "" when they build the same model. Derived sizes are compared, not how
// they were derived (an FFN width given directly equals the same width from
// fairseq2's sizing rule); `family` is not compared.
std::string DescribeDifference(const DecoderBlueprint& a, const DecoderBlueprint& b);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_BLUEPRINT_DECODER_BLUEPRINT_H_
