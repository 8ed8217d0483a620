#include "runtime/nn/rotary_encoder.h"

#include <gtest/gtest.h>

#include <cmath>

namespace modelhub {
namespace {

constexpr double kPi = 3.14159265358979323846;

// RoPE written out element by element: pair (a, b) at position p rotates by
// p * f_i, with pairs (i, i + D/2) or (2i, 2i + 1).
at::Tensor ReferenceRope(const at::Tensor& x, int64_t start, const std::vector<double>& freqs,
                         bool interleaved) {
  at::Tensor out = x.clone();
  const int64_t seq = x.size(0), dim = x.size(1);
  auto in = x.accessor<double, 2>();
  auto o = out.accessor<double, 2>();
  for (int64_t s = 0; s < seq; ++s) {
    for (int64_t i = 0; i < dim / 2; ++i) {
      const double angle = static_cast<double>(start + s) * freqs[i];
      const int64_t a = interleaved ? 2 * i : i;
      const int64_t b = interleaved ? 2 * i + 1 : i + dim / 2;
      o[s][a] = in[s][a] * std::cos(angle) - in[s][b] * std::sin(angle);
      o[s][b] = in[s][b] * std::cos(angle) + in[s][a] * std::sin(angle);
    }
  }
  return out;
}

std::vector<double> PlainFrequencies(int64_t dim, double theta) {
  std::vector<double> freqs;
  for (int64_t i = 0; i < dim / 2; ++i) freqs.push_back(std::pow(theta, -2.0 * i / dim));
  return freqs;
}

TEST(RotaryEncoderTest, BothLayoutsMatchTheReference) {
  at::manual_seed(0);
  at::Tensor x = at::randn({7, 16}, at::kDouble);
  for (RopeLayout layout : {RopeLayout::kRotateHalf, RopeLayout::kInterleaved}) {
    for (double theta : {10000.0, 500000.0}) {
      RotaryEncoder rope(RotaryOptions{16, theta, layout, std::nullopt});
      at::Tensor expected =
          ReferenceRope(x, 11, PlainFrequencies(16, theta), layout == RopeLayout::kInterleaved);
      EXPECT_TRUE(at::allclose(rope.forward(x, at::arange(11, 18)), expected, 1e-5, 1e-5))
          << RopeLayoutName(layout) << " " << theta;
    }
  }
}

TEST(RotaryEncoderTest, KeepsTheInputDtypeAndLeadingDimensions) {
  at::Tensor x = at::randn({2, 3, 5, 8}).to(at::kBFloat16);
  RotaryEncoder rope(RotaryOptions{8, 10000.0, RopeLayout::kRotateHalf, std::nullopt});
  at::Tensor y = rope.forward(x, at::arange(5));
  EXPECT_EQ(y.scalar_type(), at::kBFloat16);
  EXPECT_EQ(y.sizes(), x.sizes());
  // Position 0 is the identity rotation.
  EXPECT_TRUE(at::equal(y.select(2, 0), x.select(2, 0)));
  EXPECT_FALSE(at::equal(y.select(2, 1), x.select(2, 1)));
}

TEST(RotaryEncoderTest, Llama3ScalingFollowsItsDefinition) {
  Llama3RopeScaling scaling;  // factor 8, low 1, high 4, original 8192
  const int64_t dim = 128;
  const double theta = 500000.0;
  std::vector<double> scaled = RopeInverseFrequencies(dim, theta, scaling);
  std::vector<double> plain = PlainFrequencies(dim, theta);
  ASSERT_EQ(scaled.size(), plain.size());
  int kept = 0, divided = 0, blended = 0;
  for (size_t i = 0; i < plain.size(); ++i) {
    const double wavelength = 2 * kPi / plain[i];
    double expected;
    if (wavelength < 8192.0 / 4.0) {
      expected = plain[i];
      ++kept;
    } else if (wavelength > 8192.0 / 1.0) {
      expected = plain[i] / 8.0;
      ++divided;
    } else {
      const double s = (8192.0 / wavelength - 1.0) / (4.0 - 1.0);
      expected = (1 - s) * plain[i] / 8.0 + s * plain[i];
      ++blended;
    }
    EXPECT_NEAR(scaled[i], expected, 1e-12 * plain[i]) << "frequency " << i;
  }
  // All three regimes occur for Llama 3's head size and theta.
  EXPECT_GT(kept, 0);
  EXPECT_GT(divided, 0);
  EXPECT_GT(blended, 0);

  at::Tensor x = at::randn({4, dim}, at::kDouble);
  RotaryEncoder rope(RotaryOptions{dim, theta, RopeLayout::kRotateHalf, scaling});
  EXPECT_TRUE(at::allclose(rope.forward(x, at::arange(100, 104)),
                           ReferenceRope(x, 100, scaled, false), 1e-4, 1e-5));
}

}  // namespace
}  // namespace modelhub
