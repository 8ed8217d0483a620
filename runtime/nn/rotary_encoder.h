#ifndef MODELHUB_RUNTIME_NN_ROTARY_ENCODER_H_
#define MODELHUB_RUNTIME_NN_ROTARY_ENCODER_H_

#include <ATen/ATen.h>

#include <optional>
#include <vector>

#include "runtime/models/decoder_blueprint.h"

namespace modelhub {

// The RoPE inverse frequencies theta^(-2i/head_dim), i < head_dim/2, with Llama 3
// scaling applied when given (REFERENCE §3). Computed in double precision.
std::vector<double> RopeInverseFrequencies(int64_t head_dim, double theta,
                                           const std::optional<Llama3RopeScaling>& scaling);

// Applies rotary position embeddings. Holds no parameters: the inverse
// frequencies are derived from the blueprint, never loaded from checkpoints.
// Angles and rotation are computed in float32 (or the model's dtype when wider).
class RotaryEncoder {
 public:
  RotaryEncoder(int64_t head_dim, double theta, RopeLayout layout,
                const std::optional<Llama3RopeScaling>& scaling);

  // x: [..., S, head_dim]; positions: int64 token positions that broadcast
  // against x's shape without its last dimension (e.g. [S], or [B, 1, S] for x
  // [B, H, S, D]). Returns the rotated x in x's dtype, on x's device.
  at::Tensor forward(const at::Tensor& x, const at::Tensor& positions) const;

 private:
  RopeLayout layout_;
  at::Tensor inverse_frequencies_;  // [head_dim / 2], float64 on CPU; converted per call
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_ROTARY_ENCODER_H_
