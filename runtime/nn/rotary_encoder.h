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
// Angles and rotation are computed in float32 whatever the model's dtype.
class RotaryEncoder {
 public:
  RotaryEncoder(int64_t head_dim, double theta, RopeLayout layout,
                const std::optional<Llama3RopeScaling>& scaling, c10::Device device);

  // x: [..., S, head_dim], where row s has absolute position start_pos + s.
  // Returns the rotated x in x's dtype.
  at::Tensor forward(const at::Tensor& x, int64_t start_pos) const;

 private:
  at::Tensor inverse_frequencies_;  // [head_dim / 2], float32
  RopeLayout layout_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_NN_ROTARY_ENCODER_H_
