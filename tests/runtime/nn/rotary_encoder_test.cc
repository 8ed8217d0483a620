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

// RotaryOptions for a rotate-half encoder of `head_dim` features rotating
// the first `rotary_dim`, with `longrope` scaling and its attention factor.
RotaryOptions PartialOptions(int64_t head_dim, int64_t rotary_dim,
                             std::optional<LongRopeScaling> longrope, double attention_factor) {
  RotaryOptions options{head_dim, 10000.0, RopeLayout::kRotateHalf, std::nullopt};
  options.rotary_dim = rotary_dim;
  options.longrope = std::move(longrope);
  options.attention_factor = attention_factor;
  return options;
}

TEST(RotaryEncoderTest, PartialRotaryRotatesTheLeadingFeaturesOnly) {
  at::manual_seed(1);
  const at::Tensor x = at::randn({5, 16}, at::kDouble);
  RotaryEncoder rope(PartialOptions(16, 8, std::nullopt, 1.0));
  const at::Tensor y = rope.forward(x, at::arange(3, 8));
  // The frequencies are those of an 8-feature head: theta^(-2i/8).
  const at::Tensor expected =
      ReferenceRope(x.slice(1, 0, 8), 3, PlainFrequencies(8, 10000.0), false);
  EXPECT_TRUE(at::allclose(y.slice(1, 0, 8), expected, 1e-6, 1e-6));
  EXPECT_TRUE(at::equal(y.slice(1, 8), x.slice(1, 8)));
}

TEST(RotaryEncoderTest, LongRopeSwitchesFactorsPerCallAndScalesBothHalves) {
  at::manual_seed(2);
  LongRopeScaling scaling;
  scaling.short_factors = {1.0, 2.0, 4.0};
  scaling.long_factors = {3.0, 5.0, 7.0};
  scaling.original_context_length = 6;
  const double factor = 1.25;
  RotaryEncoder rope(PartialOptions(8, 6, scaling, factor));
  const at::Tensor x = at::randn({6, 8}, at::kDouble);
  const auto frequencies = [](const std::vector<double>& divisors) {
    std::vector<double> f = PlainFrequencies(6, 10000.0);
    for (size_t i = 0; i < f.size(); ++i) f[i] /= divisors[i];
    return f;
  };
  // ReferenceRope's rotation times the factor (cos and sin both scaled).
  const auto expected = [&](int64_t start, const std::vector<double>& divisors) {
    const at::Tensor head = x.slice(1, 0, 6);
    return ReferenceRope(head, start, frequencies(divisors), false) * factor;
  };
  // Positions 0..5: the largest + 1 is 6, not beyond 6: short factors.
  at::Tensor y = rope.forward(x, at::arange(0, 6));
  EXPECT_TRUE(at::allclose(y.slice(1, 0, 6), expected(0, scaling.short_factors), 1e-6, 1e-6));
  EXPECT_TRUE(at::equal(y.slice(1, 6), x.slice(1, 6)));
  // Positions 1..6: 7 > 6, every position of the call uses the long factors.
  y = rope.forward(x, at::arange(1, 7));
  EXPECT_TRUE(at::allclose(y.slice(1, 0, 6), expected(1, scaling.long_factors), 1e-6, 1e-6));
  EXPECT_FALSE(at::allclose(y.slice(1, 0, 6), expected(1, scaling.short_factors), 1e-6, 1e-6));
}

}  // namespace
}  // namespace modelhub
