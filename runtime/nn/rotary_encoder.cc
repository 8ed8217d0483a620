#include "runtime/nn/rotary_encoder.h"

#include <cmath>

namespace modelhub {

std::vector<double> RopeInverseFrequencies(int64_t rotary_dim, double theta,
                                           const std::optional<Llama3RopeScaling>& scaling) {
  constexpr double kPi = 3.14159265358979323846;
  std::vector<double> frequencies(static_cast<size_t>(rotary_dim / 2));
  for (size_t i = 0; i < frequencies.size(); ++i) {
    double frequency =
        1.0 / std::pow(theta, static_cast<double>(2 * i) / static_cast<double>(rotary_dim));
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

namespace {

// Angles and rotation in float32, or wider for wider models.
at::ScalarType ComputeType(at::ScalarType dtype) { return at::promote_types(dtype, at::kFloat); }

at::Tensor DoubleTensor(const std::vector<double>& values) {
  return at::tensor(values, at::TensorOptions().dtype(at::kDouble));
}

}  // namespace

RotaryEncoder::RotaryEncoder(const RotaryOptions& rope)
    : layout_(rope.layout),
      rotary_dim_(rope.rotary_dim == rope.head_dim ? 0 : rope.rotary_dim),
      inverse_frequencies_(DoubleTensor(RopeInverseFrequencies(
          rope.rotary_dim > 0 ? rope.rotary_dim : rope.head_dim, rope.theta, rope.llama3_scaling))),
      attention_factor_(rope.attention_factor) {
  if (rope.linear_factor) inverse_frequencies_ /= *rope.linear_factor;
  if (rope.longrope) {
    const at::Tensor base = inverse_frequencies_;
    inverse_frequencies_ = base / DoubleTensor(rope.longrope->short_factors);
    long_inverse_frequencies_ = base / DoubleTensor(rope.longrope->long_factors);
    original_context_length_ = rope.longrope->original_context_length;
  }
}

RotaryAngles RotaryEncoder::Angles(const at::Tensor& positions, c10::Device device,
                                   at::ScalarType dtype) const {
  const at::ScalarType compute = ComputeType(dtype);
  const bool long_factors = long_inverse_frequencies_.defined() && positions.numel() > 0 &&
                            positions.max().item<int64_t>() + 1 > original_context_length_;
  at::Tensor frequencies =
      (long_factors ? long_inverse_frequencies_ : inverse_frequencies_).to(device, compute);
  at::Tensor angles = positions.to(device, compute).unsqueeze(-1) * frequencies;
  if (layout_ == RopeLayout::kRotateHalf) {
    // Pair (i, i + D/2) turns by angle i: both halves use the same angles.
    angles = at::cat({angles, angles}, -1);
  }
  if (attention_factor_ != 1.0) {
    return RotaryAngles{angles.cos() * attention_factor_, angles.sin() * attention_factor_};
  }
  return RotaryAngles{angles.cos(), angles.sin()};
}

at::Tensor RotaryEncoder::Rotate(const at::Tensor& x, const RotaryAngles& angles) const {
  if (rotary_dim_ > 0) {  // partial: the leading features only
    const int64_t rest = x.size(-1) - rotary_dim_;
    std::vector<at::Tensor> parts = x.split_with_sizes({rotary_dim_, rest}, -1);
    return at::cat({RotateWhole(parts[0], angles), parts[1]}, -1);
  }
  return RotateWhole(x, angles);
}

at::Tensor RotaryEncoder::RotateWhole(const at::Tensor& x, const RotaryAngles& angles) const {
  at::Tensor wide = x.to(ComputeType(x.scalar_type()));
  at::Tensor rotated;
  if (layout_ == RopeLayout::kRotateHalf) {
    // out = x * cos + rotate_half(x) * sin, rotate_half(x) = [-x2, x1].
    std::vector<at::Tensor> halves = wide.chunk(2, -1);
    at::Tensor rotate_half = at::cat({-halves[1], halves[0]}, -1);
    rotated = wide * angles.cos + rotate_half * angles.sin;
  } else {
    // Pairs (2i, 2i + 1), rotated as complex numbers.
    std::vector<int64_t> pair_shape(x.sizes().begin(), x.sizes().end());
    pair_shape.back() /= 2;
    pair_shape.push_back(2);
    at::Tensor pairs = wide.reshape(pair_shape);
    at::Tensor even = pairs.select(-1, 0);
    at::Tensor odd = pairs.select(-1, 1);
    rotated =
        at::stack({even * angles.cos - odd * angles.sin, even * angles.sin + odd * angles.cos}, -1)
            .flatten(-2);
  }
  return rotated.to(x.scalar_type());
}

at::Tensor RotaryEncoder::forward(const at::Tensor& x, const at::Tensor& positions) const {
  return Rotate(x, Angles(positions, x.device(), x.scalar_type()));
}

}  // namespace modelhub
