#ifndef MODELHUB_RUNTIME_BLUEPRINT_DECODER_BLUEPRINT_H_
#define MODELHUB_RUNTIME_BLUEPRINT_DECODER_BLUEPRINT_H_

// The family-independent description of a decoder-only transformer: what the
// shared runtime builds. Each family's generated ConfigTraits<C>::ToBlueprint
// fills it from the family's own config through the spec's `decoder` section.

#include <cstdint>
#include <optional>
#include <string>

namespace modelhub {

// How rotary embeddings pair the features of a head.
enum class RopeLayout {
  kRotateHalf,   // pairs (i, i + D/2): Hugging Face checkpoints
  kInterleaved,  // pairs (2i, 2i + 1): Meta reference checkpoints
};

// "rotate_half" / "interleaved".
const char* RopeLayoutName(RopeLayout layout);

// Llama 3 frequency scaling of rotary embeddings (REFERENCE §3).
struct Llama3RopeScaling {
  double factor = 8.0;
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  int64_t original_context_length = 8192;
};

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
    std::optional<int64_t> head_dim;  // unset: model_dim / num_heads
    bool qkv_bias = false;
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

// The first way in which the models `a` and `b` describe differ, as
// "<what>: <a's value> vs <b's value>" (e.g. "ffn inner dim: 14336 vs 11008"),
// or "" when they build the same model. Derived sizes are compared, not how
// they were derived (an FFN width given directly equals the same width from
// fairseq2's sizing rule); `family` is not compared.
std::string DescribeDifference(const DecoderBlueprint& a, const DecoderBlueprint& b);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_BLUEPRINT_DECODER_BLUEPRINT_H_
