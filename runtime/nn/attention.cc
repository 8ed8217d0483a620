#include "runtime/nn/attention.h"

#include <torch/version.h>

#include <cmath>
#include <limits>

namespace modelhub {

at::Tensor TokenPositions(int64_t key_len, const at::Tensor& key_padding, c10::Device device) {
  if (!key_padding.defined()) {
    return at::arange(key_len, at::TensorOptions().dtype(at::kLong).device(device)).unsqueeze(0);
  }
  return key_padding.to(at::kLong).cumsum(1) - 1;
}

at::Tensor MakeAttentionMask(int64_t seq_len, const at::Tensor& positions,
                             const std::optional<int64_t>& sliding_window,
                             const at::Tensor& key_padding) {
  const int64_t key_len = positions.size(1);
  at::TensorOptions options = positions.options();
  at::Tensor query_slot = at::arange(key_len - seq_len, key_len, options).unsqueeze(1);  // [S, 1]
  at::Tensor key_slot = at::arange(0, key_len, options).unsqueeze(0);                    // [1, T]
  at::Tensor mask = (key_slot <= query_slot).unsqueeze(0);  // [1, S, T]
  if (sliding_window) {
    at::Tensor query_pos = positions.slice(1, key_len - seq_len).unsqueeze(2);  // [B, S, 1]
    at::Tensor key_pos = positions.unsqueeze(1);                                // [B, 1, T]
    mask = mask & (query_pos - key_pos < *sliding_window);
  }
  if (key_padding.defined()) {
    mask = (mask & key_padding.to(at::kBool).unsqueeze(1)) | (key_slot == query_slot).unsqueeze(0);
  }
  return mask.unsqueeze(1);  // [B or 1, 1, S, T]
}

GroupedQueryAttention::GroupedQueryAttention(const AttentionOptions& attention,
                                             const ModuleOptions& options)
    : num_heads_(attention.num_heads),
      num_kv_heads_(attention.num_kv_heads),
      head_dim_(attention.head_dim),
      scale_(attention.scale > 0 ? attention.scale
                                 : 1.0 / std::sqrt(static_cast<double>(attention.head_dim))),
      logit_softcap_(attention.logit_softcap),
      qk_norm_per_head_(attention.qk_norm_per_head) {
  const int64_t model_dim = attention.model_dim;
  const bool bias = attention.qkv_bias;
  q_proj_ = register_module(
      "q_proj", std::make_shared<Projection>(model_dim, num_heads_ * head_dim_, bias, options));
  k_proj_ = register_module(
      "k_proj", std::make_shared<Projection>(model_dim, num_kv_heads_ * head_dim_, bias, options));
  v_proj_ = register_module(
      "v_proj", std::make_shared<Projection>(model_dim, num_kv_heads_ * head_dim_, bias, options));
  if (attention.q_norm) {
    q_norm_ = register_module("q_norm", std::make_shared<RMSNorm>(*attention.q_norm, options));
  }
  if (attention.k_norm) {
    k_norm_ = register_module("k_norm", std::make_shared<RMSNorm>(*attention.k_norm, options));
  }
  output_proj_ = register_module(
      "output_proj", std::make_shared<Projection>(num_heads_ * head_dim_, model_dim,
                                                  attention.output_bias, options, attention.gang));
}

at::Tensor GroupedQueryAttention::forward(const at::Tensor& x, const RotaryEncoder& rope,
                                          const RotaryAngles& angles, const at::Tensor& mask,
                                          AttentionCache* cache) const {
  const int64_t batch = x.size(0);
  const int64_t seq_len = x.size(1);
  at::Tensor q = q_proj_->forward(x);
  at::Tensor k = k_proj_->forward(x);
  at::Tensor v = v_proj_->forward(x);
  if (!qk_norm_per_head_) {  // over the whole projection, before heads are split
    if (q_norm_) q = q_norm_->forward(q);
    if (k_norm_) k = k_norm_->forward(k);
  }
  // [B, S, H * D] -> [B, H, S, D]
  q = q.view({batch, seq_len, num_heads_, head_dim_}).transpose(1, 2);
  k = k.view({batch, seq_len, num_kv_heads_, head_dim_}).transpose(1, 2);
  v = v.view({batch, seq_len, num_kv_heads_, head_dim_}).transpose(1, 2);
  if (qk_norm_per_head_) {
    if (q_norm_) q = q_norm_->forward(q);
    if (k_norm_) k = k_norm_->forward(k);
  }
  q = rope.Rotate(q, angles);
  k = rope.Rotate(k, angles);

  if (cache != nullptr) {
    if (cache->keys.defined()) {
      k = at::cat({cache->keys, k}, 2);
      v = at::cat({cache->values, v}, 2);
    }
    cache->keys = k;
    cache->values = v;
  }
  if (num_kv_heads_ != num_heads_) {
    k = k.repeat_interleave(num_heads_ / num_kv_heads_, 1);
    v = v.repeat_interleave(num_heads_ / num_kv_heads_, 1);
  }
  at::Tensor attended;
#if TORCH_VERSION_MAJOR >= 2
  const bool fused = !logit_softcap_ && scale_ == 1.0 / std::sqrt(static_cast<double>(head_dim_));
#else
  const bool fused = false;
#endif
  if (fused) {
#if TORCH_VERSION_MAJOR >= 2
    attended = at::scaled_dot_product_attention(q, k, v, mask, 0.0, false);
#endif
  } else {
    // Scores and softmax in at least float32.
    const at::ScalarType compute = at::promote_types(q.scalar_type(), at::kFloat);
    at::Tensor scores = at::matmul(q.to(compute), k.to(compute).transpose(-2, -1)) * scale_;
    if (logit_softcap_) scores = at::tanh(scores / *logit_softcap_) * *logit_softcap_;
    scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<double>::infinity());
    attended = at::matmul(at::softmax(scores, -1), v.to(compute)).to(x.scalar_type());
  }
  at::Tensor merged = attended.transpose(1, 2).reshape({batch, seq_len, num_heads_ * head_dim_});
  return output_proj_->forward(merged);
}

}  // namespace modelhub
