#include "runtime/nn/rotary_encoder.h"

#include <cmath>

namespace modelhub {

std::vector<double> RopeInverseFrequencies(int64_t head_dim, double theta,
                                           const std::optional<Llama3RopeScaling>& scaling) {
  constexpr double kPi = 3.14159265358979323846;
  std::vector<double> frequencies(static_cast<size_t>(head_dim / 2));
  for (size_t i = 0; i < frequencies.size(); ++i) {
    double frequency =
        1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(head_dim));
    if (scaling) {
      const double original = static_cast<double>(scaling->original_context_length);
      const double low_wavelength = original / scaling->low_freq_factor;
      const double high_wavelength = original / scaling->high_freq_factor;
      const double wavelength = 2 * kPi / frequency;
      if (wavelength > low_wavelength) {
        frequency /= scaling->factor;
      } else if (wavelength >= high_wavelength) {
        const double smooth = (original / wavelength - scaling->low_freq_factor) /
                              (scaling->high_freq_factor - scaling->low_freq_factor);
        frequency = (1 - smooth) * frequency / scaling->factor + smooth * frequency;
      }
    }
    frequencies[i] = frequency;
  }
  return frequencies;
}

RotaryEncoder::RotaryEncoder(int64_t head_dim, double theta, RopeLayout layout,
                             const std::optional<Llama3RopeScaling>& scaling)
    : layout_(layout),
      inverse_frequencies_(at::tensor(RopeInverseFrequencies(head_dim, theta, scaling),
                                      at::TensorOptions().dtype(at::kDouble))) {}

at::Tensor RotaryEncoder::forward(const at::Tensor& x, const at::Tensor& positions) const {
  // Follows the model wherever it moves: a no-op once on x's device.
  // In float32, or wider for wider models.
  const at::ScalarType compute = at::promote_types(x.scalar_type(), at::kFloat);
  at::Tensor frequencies = inverse_frequencies_.to(x.device(), compute);
  at::Tensor angles = positions.to(x.device(), compute).unsqueeze(-1) * frequencies;
  at::Tensor cos = angles.cos();
  at::Tensor sin = angles.sin();
  at::Tensor x32 = x.to(compute);
  at::Tensor rotated;
  if (layout_ == RopeLayout::kRotateHalf) {
    // Pairs (i, i + D/2): out = x * cos + rotate_half(x) * sin.
    at::Tensor halves_cos = at::cat({cos, cos}, -1);
    at::Tensor halves_sin = at::cat({sin, sin}, -1);
    std::vector<at::Tensor> halves = x32.chunk(2, -1);
    at::Tensor rotate_half = at::cat({-halves[1], halves[0]}, -1);
    rotated = x32 * halves_cos + rotate_half * halves_sin;
  } else {
    // Pairs (2i, 2i + 1), rotated as complex numbers.
    std::vector<int64_t> pair_shape(x.sizes().begin(), x.sizes().end());
    pair_shape.back() /= 2;
    pair_shape.push_back(2);
    at::Tensor pairs = x32.reshape(pair_shape);
    at::Tensor even = pairs.select(-1, 0);
    at::Tensor odd = pairs.select(-1, 1);
    rotated = at::stack({even * cos - odd * sin, even * sin + odd * cos}, -1).flatten(-2);
  }
  return rotated.to(x.scalar_type());
}

}  // namespace modelhub
