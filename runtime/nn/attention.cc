#include "runtime/nn/attention.h"

#include <torch/version.h>

#include <cmath>
#include <limits>

namespace modelhub {

at::Tensor MakeAttentionMask(int64_t start_pos, int64_t seq_len, int64_t key_len,
                             const std::optional<int64_t>& sliding_window,
                             const at::Tensor& key_padding, c10::Device device) {
  at::TensorOptions options = at::TensorOptions().dtype(at::kLong).device(device);
  at::Tensor query_pos = at::arange(start_pos, start_pos + seq_len, options).unsqueeze(1);
  at::Tensor key_pos = at::arange(0, key_len, options).unsqueeze(0);
  at::Tensor mask = key_pos <= query_pos;  // [S, T]
  if (sliding_window) mask = mask & (query_pos - key_pos < *sliding_window);
  mask = mask.unsqueeze(0).unsqueeze(0);  // [1, 1, S, T]
  if (key_padding.defined()) {
    at::Tensor diagonal = (key_pos == query_pos).unsqueeze(0).unsqueeze(0);
    mask = (mask & key_padding.to(at::kBool).unsqueeze(1).unsqueeze(1)) | diagonal;
  }
  return mask;
}

GroupedQueryAttention::GroupedQueryAttention(const DecoderBlueprint& blueprint,
                                             const ModuleOptions& options)
    : num_heads_(blueprint.attention.num_heads),
      num_kv_heads_(blueprint.attention.num_kv_heads),
      head_dim_(blueprint.HeadDim()),
      sliding_window_(blueprint.attention.sliding_window) {
  const int64_t model_dim = blueprint.model_dim;
  const bool bias = blueprint.attention.qkv_bias;
  q_proj_ = register_module(
      "q_proj", std::make_shared<Projection>(model_dim, num_heads_ * head_dim_, bias, options));
  k_proj_ = register_module(
      "k_proj", std::make_shared<Projection>(model_dim, num_kv_heads_ * head_dim_, bias, options));
  v_proj_ = register_module(
      "v_proj", std::make_shared<Projection>(model_dim, num_kv_heads_ * head_dim_, bias, options));
  if (blueprint.attention.q_norm) {
    q_norm_ = register_module("q_norm",
                              std::make_shared<RMSNorm>(head_dim_, blueprint.norm.eps, options));
  }
  if (blueprint.attention.k_norm) {
    k_norm_ = register_module("k_norm",
                              std::make_shared<RMSNorm>(head_dim_, blueprint.norm.eps, options));
  }
  output_proj_ = register_module(
      "output_proj",
      std::make_shared<Projection>(num_heads_ * head_dim_, model_dim, false, options));
}

at::Tensor GroupedQueryAttention::forward(const at::Tensor& x, const RotaryEncoder& rope,
                                          int64_t start_pos, const at::Tensor& key_padding,
                                          AttentionCache* cache) const {
  const int64_t batch = x.size(0);
  const int64_t seq_len = x.size(1);
  // [B, S, H * D] -> [B, H, S, D]
  at::Tensor q = q_proj_->forward(x).view({batch, seq_len, num_heads_, head_dim_}).transpose(1, 2);
  at::Tensor k =
      k_proj_->forward(x).view({batch, seq_len, num_kv_heads_, head_dim_}).transpose(1, 2);
  at::Tensor v =
      v_proj_->forward(x).view({batch, seq_len, num_kv_heads_, head_dim_}).transpose(1, 2);
  if (q_norm_) q = q_norm_->forward(q);
  if (k_norm_) k = k_norm_->forward(k);
  q = rope.forward(q, start_pos);
  k = rope.forward(k, start_pos);

  if (cache != nullptr) {
    if (cache->keys.defined()) {
      k = at::cat({cache->keys, k}, 2);
      v = at::cat({cache->values, v}, 2);
    }
    cache->keys = k;
    cache->values = v;
  }
  const int64_t key_len = k.size(2);
  if (num_kv_heads_ != num_heads_) {
    k = k.repeat_interleave(num_heads_ / num_kv_heads_, 1);
    v = v.repeat_interleave(num_heads_ / num_kv_heads_, 1);
  }
  at::Tensor mask =
      MakeAttentionMask(start_pos, seq_len, key_len, sliding_window_, key_padding, x.device());

  at::Tensor attended;
#if TORCH_VERSION_MAJOR >= 2
  attended = at::scaled_dot_product_attention(q, k, v, mask, 0.0, false);
#else
  // Scores and softmax in at least float32.
  const at::ScalarType compute = at::promote_types(q.scalar_type(), at::kFloat);
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim_));
  at::Tensor scores = at::matmul(q.to(compute), k.to(compute).transpose(-2, -1)) * scale;
  scores = scores.masked_fill(mask.logical_not(), -std::numeric_limits<double>::infinity());
  attended = at::matmul(at::softmax(scores, -1), v.to(compute)).to(x.scalar_type());
#endif
  at::Tensor merged = attended.transpose(1, 2).reshape({batch, seq_len, num_heads_ * head_dim_});
  return output_proj_->forward(merged);
}

}  // namespace modelhub
