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

#include "runtime/blueprint/rope_settings.h"

namespace modelhub {

struct DecoderBlueprint {
  std::string family;  // for messages
  int64_t model_dim = 0;
  int64_t num_layers = 0;
  int64_t vocab_size = 0;
  int64_t max_seq_len = 0;
  bool tied_embeddings = false;  // the LM head reuses the embedding table

  struct Norm {
    double eps = 1e-6;  // RMSNorm epsilon
  } norm;

  struct Attention {
    int64_t num_heads = 0;
    int64_t num_kv_heads = 0;
    std::optional<int64_t> head_dim;        // unset: model_dim / num_heads
    bool qkv_bias = false;                  // biases on q_proj, k_proj, v_proj
    bool output_bias = false;               // a bias on output_proj (Hugging Face's o_proj.bias)
    bool q_norm = false;                    // per-head RMSNorm of queries (Qwen 3)
    bool k_norm = false;                    // per-head RMSNorm of keys (Qwen 3)
    std::optional<int64_t> sliding_window;  // query i sees key j when i - j < W
  } attention;

  struct Rope {
    double theta = 10000.0;
    RopeLayout layout = RopeLayout::kRotateHalf;
    std::optional<Llama3RopeScaling> llama3_scaling;
  } rope;

  struct Ffn {  // SwiGLU; inner size per fairseq2's LLaMA rule, see FfnInnerDim()
    int64_t inner_dim = 0;
    double inner_dim_scale = 1.0;
    double inner_dim_multiplier = 1.0;
    int64_t inner_dim_multiple_of = 1;
  } ffn;

  // The attention head size.
  int64_t HeadDim() const;
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
  // The Hugging Face config.json key it is written as (null: none).
  const char* hf_key = nullptr;
  // Written to config.json only for families whose spec reads the key
  // (transformers declares it for some model types only).
  bool hf_only_where_read = false;
  // When set, the setting is compared and written as this size.
  const DerivedSize* derived = nullptr;
};

extern const DerivedSize kHeadDimSize;
extern const DerivedSize kFfnInnerDimSize;

// Calls visit(const DecoderSetting&, b.member...) for every setting, in
// declaration order, with that member of each blueprint given (one to read or
// set a setting, two to compare), except the RoPE layout (an enum the spec
// names) and Llama 3 scaling (VisitLlama3ScalingSettings). Members are int64_t,
// double, bool or std::optional<int64_t>.
template <typename Visitor, typename... Blueprint>
void VisitDecoderSettings(Visitor&& visit, Blueprint&... b) {
  visit(DecoderSetting{"model_dim", true, true, "hidden_size"}, b.model_dim...);
  visit(DecoderSetting{"num_layers", true, true, "num_hidden_layers"}, b.num_layers...);
  visit(DecoderSetting{"vocab_size", true, true, "vocab_size"}, b.vocab_size...);
  visit(DecoderSetting{"max_seq_len", true, true, "max_position_embeddings"}, b.max_seq_len...);
  visit(DecoderSetting{"tied_embeddings", false, false, "tie_word_embeddings"},
        b.tied_embeddings...);
  visit(DecoderSetting{"norm.eps", true, true, "rms_norm_eps"}, b.norm.eps...);
  visit(DecoderSetting{"attention.num_heads", true, true, "num_attention_heads"},
        b.attention.num_heads...);
  visit(DecoderSetting{"attention.num_kv_heads", true, true, "num_key_value_heads"},
        b.attention.num_kv_heads...);
  visit(DecoderSetting{"attention.head_dim", false, true, "head_dim", true, &kHeadDimSize},
        b.attention.head_dim...);
  visit(DecoderSetting{"attention.qkv_bias", false, false, "attention_bias", true},
        b.attention.qkv_bias...);
  visit(DecoderSetting{"attention.output_bias"}, b.attention.output_bias...);
  visit(DecoderSetting{"attention.q_norm"}, b.attention.q_norm...);
  visit(DecoderSetting{"attention.k_norm"}, b.attention.k_norm...);
  visit(DecoderSetting{"attention.sliding_window", false, true, "sliding_window", true},
        b.attention.sliding_window...);
  visit(DecoderSetting{"rope.theta", true, true, "rope_theta"}, b.rope.theta...);
  visit(DecoderSetting{"ffn.inner_dim", true, true, "intermediate_size", false, &kFfnInnerDimSize},
        b.ffn.inner_dim...);
  visit(DecoderSetting{"ffn.inner_dim_scale", false, true, nullptr, false, &kFfnInnerDimSize},
        b.ffn.inner_dim_scale...);
  visit(DecoderSetting{"ffn.inner_dim_multiplier", false, true, nullptr, false, &kFfnInnerDimSize},
        b.ffn.inner_dim_multiplier...);
  visit(DecoderSetting{"ffn.inner_dim_multiple_of", false, true, nullptr, false, &kFfnInnerDimSize},
        b.ffn.inner_dim_multiple_of...);
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

// The first way in which the models `a` and `b` describe differ, as
// "<what>: <a's value> vs <b's value>" (e.g. "ffn inner dim: 14336 vs 11008"),
// or "" when they build the same model. Derived sizes are compared, not how
// they were derived (an FFN width given directly equals the same width from
// fairseq2's sizing rule); `family` is not compared.
std::string DescribeDifference(const DecoderBlueprint& a, const DecoderBlueprint& b);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_BLUEPRINT_DECODER_BLUEPRINT_H_
