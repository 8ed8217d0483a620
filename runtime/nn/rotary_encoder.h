#ifndef MODELHUB_RUNTIME_NN_ROTARY_ENCODER_H_
#define MODELHUB_RUNTIME_NN_ROTARY_ENCODER_H_

#include <ATen/ATen.h>

#include <optional>
#include <vector>

#include "runtime/blueprint/rope_settings.h"

namespace modelhub {

// The RoPE inverse frequencies theta^(-2i/rotary_dim), i < rotary_dim/2, with
// Llama 3 scaling applied when given (REFERENCE §3). Computed in double precision.
std::vector<double> RopeInverseFrequencies(int64_t rotary_dim, double theta,
                                           const std::optional<Llama3RopeScaling>& scaling);

// Applies rotary position embeddings. Holds no parameters: the inverse
// frequencies are derived from the options, never loaded from checkpoints.
// Angles and rotation are computed in float32 (or the model's dtype when wider).
//
// The cosines and sines of some positions' angles (times LongRoPE's attention
// factor), laid out for the encoder's layout: [..., S, rotary_dim] for
// rotate-half, [..., S, rotary_dim / 2] for interleaved. Computed once per
// forward pass and shared by every layer.
struct RotaryAngles {
  at::Tensor cos;
  at::Tensor sin;
};

// What a RotaryEncoder rotates and how.
struct RotaryOptions {
  int64_t head_dim = 0;
  double theta = 10000.0;
  RopeLayout layout = RopeLayout::kRotateHalf;
  std::optional<Llama3RopeScaling> llama3_scaling;
  // Linear scaling (position interpolation): the inverse frequencies divided by it.
  std::optional<double> linear_factor = std::nullopt;
  // The leading features of each head that are rotated (rotate-half layout
  // only); the rest pass through. 0: all of head_dim.
  int64_t rotary_dim = 0;
  // LongRoPE: inverse frequencies divided by its short or long factors.
  std::optional<LongRopeScaling> longrope = std::nullopt;
  // Cosines and sines times this (LongRoPE's attention factor).
  double attention_factor = 1.0;
};

class RotaryEncoder {
 public:
  explicit RotaryEncoder(const RotaryOptions& rope);

  // The angles of `positions` (int64 token positions, e.g. [S], or [B, 1, S] to
  // broadcast over the heads of [B, H, S, D]) for rotating values of `dtype` on
  // `device`. With LongRoPE, all of them use the long factors when the largest
  // position + 1 exceeds original_context_length, else the short ones (as
  // transformers decides per forward call).
  RotaryAngles Angles(const at::Tensor& positions, c10::Device device, at::ScalarType dtype) const;

  // x: [..., S, head_dim], its first rotary_dim features rotated by `angles`
  // (which broadcast against them), the rest unchanged. Returns x's dtype.
  at::Tensor Rotate(const at::Tensor& x, const RotaryAngles& angles) const;

  // Rotate(x, Angles(positions, x's device, x's dtype)): for one-off use.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& positions) const;

 private:
  // Rotate over all of x's last dimension.
  at::Tensor RotateWhole(const at::Tensor& x, const RotaryAngles& angles) const;

  RopeLayout layout_;
  int64_t rotary_dim_;                   // 0: the whole head
  at::Tensor inverse_frequencies_;       // [rotary_dim / 2], float64 on CPU; converted per call
  at::Tensor long_inverse_frequencies_;  // LongRoPE's long ones; undefined without it
  int64_t original_context_length_ = 0;  // LongRoPE's switch point
  double attention_factor_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_ROTARY_ENCODER_H_
