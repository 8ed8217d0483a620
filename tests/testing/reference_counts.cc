#include "tests/testing/reference_counts.h"

namespace modelhub::testing {

int64_t ReferenceParameterCount(const DecoderBlueprint& b) {
  const int64_t d = b.model_dim;
  const int64_t head = b.attention.head_dim ? *b.attention.head_dim : d / b.attention.num_heads;
  const int64_t q = b.attention.num_heads * head;
  const int64_t kv = b.attention.num_kv_heads * head;
  // fairseq2's rule: int(int(dim * scale) * multiplier), rounded up to a multiple.
  int64_t ffn = static_cast<int64_t>(static_cast<double>(b.ffn.inner_dim) * b.ffn.inner_dim_scale);
  if (b.ffn.inner_dim_multiplier != 1.0) {
    ffn = static_cast<int64_t>(static_cast<double>(ffn) * b.ffn.inner_dim_multiplier);
  }
  const int64_t m = b.ffn.inner_dim_multiple_of;
  ffn = (ffn + m - 1) / m * m;

  int64_t layer = d * q + 2 * d * kv + q * d;  // q, k, v, output projections
  if (b.attention.qkv_bias) layer += q + 2 * kv;
  if (b.attention.output_bias) layer += d;
  const bool per_head = b.attention.qk_norm_per_head;
  if (b.attention.q_norm) layer += per_head ? head : q;
  if (b.attention.k_norm) layer += per_head ? head : kv;
  const bool gated = b.ffn.kind == "glu";
  layer += (gated ? 3 : 2) * d * ffn;  // gate (when gated), up, down
  if (b.ffn.bias) layer += (gated ? 2 : 1) * ffn + d;
  const int64_t norm = b.norm.kind == "layer" ? 2 * d : d;  // LayerNorm: weight and bias
  layer += ((b.norm.before ? 2 : 0) + (b.norm.after ? 2 : 0)) * norm;
  int64_t total = b.num_layers * layer + b.vocab_size * d + norm;  // + embeddings, final norm
  if (!b.tied_embeddings) total += b.vocab_size * d;
  return total;
}

}  // namespace modelhub::testing
