#ifndef MODELHUB_RUNTIME_NN_ATTENTION_H_
#define MODELHUB_RUNTIME_NN_ATTENTION_H_

#include <ATen/ATen.h>
#include <torch/nn/module.h>

#include <memory>
#include <optional>

#include "runtime/distributed/gang.h"
#include "runtime/nn/module_options.h"
#include "runtime/nn/projection.h"
#include "runtime/nn/rms_norm.h"
#include "runtime/nn/rotary_encoder.h"

namespace modelhub {

// Keys and values of earlier positions for one attention layer, so incremental
// decoding attends to them without recomputing.
struct AttentionCache {
  at::Tensor keys;    // [B, num_kv_heads, T, head_dim]; undefined when empty
  at::Tensor values;  // [B, num_kv_heads, T, head_dim]
};

// The shape of a GroupedQueryAttention and its optional parts.
struct AttentionOptions {
  int64_t model_dim = 0;
  int64_t num_heads = 0;     // query heads this module holds
  int64_t num_kv_heads = 0;  // KV heads this module holds (a multiple of num_heads' divisor)
  int64_t head_dim = 0;
  bool qkv_bias = false;     // biases on q_proj, k_proj, v_proj
  bool output_bias = false;  // a bias on output_proj
  // RMSNorms of queries and of keys, before RoPE, when given: over each head
  // (dim head_dim) or, with qk_norm_per_head false, over the whole projection
  // (dim: the features this module holds; sharded norms carry their gang).
  std::optional<RmsNormOptions> q_norm;
  std::optional<RmsNormOptions> k_norm;
  bool qk_norm_per_head = true;
  double scale = 0;                     // scores are q.k times this; 0: head_dim ** -0.5
  std::optional<double> logit_softcap;  // scores become cap * tanh(scores / cap)
  // Tensor-parallel when given: q/k/v hold this rank's heads (column-parallel),
  // output_proj reduces over the gang (row-parallel).
  std::shared_ptr<Gang> gang = nullptr;
};

// Causal grouped-query self-attention with fairseq2's module names: q_proj,
// k_proj, v_proj (optional bias), optional q_norm/k_norm (RMSNorm per head or
// over the whole projection, applied before RoPE), output_proj (optional
// bias). Scores are scaled, optionally soft-capped (before the mask), and
// softmaxed in float32; LibTorch's scaled_dot_product_attention serves where
// it exists (2.x) and neither a custom scale nor a cap is asked for.
class GroupedQueryAttention : public torch::nn::Module {
 public:
  GroupedQueryAttention(const AttentionOptions& attention, const ModuleOptions& options);

  // x: [B, S, model_dim]. angles: the rows' RoPE angles from rope.Angles() of
  // their positions shaped [B or 1, 1, S] (one set for all heads). mask:
  // [B or 1, 1, S, T] bool from MakeAttentionMask, over the T = cached + S keys.
  // cache: when given, its keys/values are prepended and then extended.
  at::Tensor forward(const at::Tensor& x, const RotaryEncoder& rope, const RotaryAngles& angles,
                     const at::Tensor& mask, AttentionCache* cache) const;

 private:
  int64_t num_heads_;
  int64_t num_kv_heads_;
  int64_t head_dim_;
  double scale_;
  std::optional<double> logit_softcap_;
  bool qk_norm_per_head_;
  std::shared_ptr<Projection> q_proj_;
  std::shared_ptr<Projection> k_proj_;
  std::shared_ptr<Projection> v_proj_;
  std::shared_ptr<RMSNorm> q_norm_;  // null when the options ask for none
  std::shared_ptr<RMSNorm> k_norm_;
  std::shared_ptr<Projection> output_proj_;
};

// Token positions of a batch's T slots (cached and new): the slot index when
// key_padding is undefined ([1, T]), else the count of real tokens before each
// slot ([B, T]), so that rows padded in the middle of batched decoding keep the
// positions they would have alone.
at::Tensor TokenPositions(int64_t key_len, const at::Tensor& key_padding, c10::Device device);

// The boolean attention mask [B or 1, 1, S, T] for the new slots
// T-S..T-1 over all T slots: causal by slot, within the sliding window by token
// position (query i sees key j when i - j < W), and only over real keys
// (key_padding [B, T], may be undefined). A query always sees its own slot, so
// no row is empty. `positions` comes from TokenPositions.
at::Tensor MakeAttentionMask(int64_t seq_len, const at::Tensor& positions,
                             const std::optional<int64_t>& sliding_window,
                             const at::Tensor& key_padding);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_ATTENTION_H_
