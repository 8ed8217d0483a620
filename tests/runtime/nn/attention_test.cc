#include "runtime/nn/attention.h"

#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <cmath>
#include <limits>

namespace modelhub {
namespace {

// Three query heads per key-value head, with biases on q, k, v and the output.
AttentionOptions Options() {
  AttentionOptions options;
  options.model_dim = 24;
  options.num_heads = 6;
  options.num_kv_heads = 2;
  options.head_dim = 8;
  options.qkv_bias = true;
  options.output_bias = true;
  return options;
}

at::Tensor Param(const GroupedQueryAttention& attention, const std::string& name) {
  return attention.named_parameters()[name];
}

// x / sqrt(mean(x^2) + eps) * weight over each row of `x` [S, F], by loops.
at::Tensor RowRmsNorm(const at::Tensor& x, const at::Tensor& weight, double eps) {
  at::Tensor out = at::empty_like(x);
  for (int64_t i = 0; i < x.size(0); ++i) {
    const double mean_square = (x[i] * x[i]).sum().item<double>() / static_cast<double>(x.size(1));
    out[i] = x[i] / std::sqrt(mean_square + eps) * weight;
  }
  return out;
}

// Grouped-query attention computed head by head with explicit loops over
// positions: query head h reads kv head h / (H / Hkv); key j is visible to
// query i when j <= i, i - j < window, and j is a real token. Scores are q.k
// times o.scale (0: 1/sqrt(head_dim)), soft-capped by o.logit_softcap; q/k
// norms over the whole projection are applied when o asks for them.
at::Tensor ReferenceAttention(const GroupedQueryAttention& attention, const AttentionOptions& o,
                              const at::Tensor& x, const RotaryEncoder& rope,
                              std::optional<int64_t> window, const std::vector<bool>& real) {
  const int64_t seq = x.size(0), heads = o.num_heads, kv = o.num_kv_heads;
  const int64_t d = o.head_dim;
  const double scale = o.scale > 0 ? o.scale : 1.0 / std::sqrt(static_cast<double>(d));
  at::Tensor q =
      at::matmul(x, Param(attention, "q_proj.weight").t()) + Param(attention, "q_proj.bias");
  at::Tensor k =
      at::matmul(x, Param(attention, "k_proj.weight").t()) + Param(attention, "k_proj.bias");
  if (o.q_norm) q = RowRmsNorm(q, Param(attention, "q_norm.weight"), o.q_norm->eps);
  if (o.k_norm) k = RowRmsNorm(k, Param(attention, "k_norm.weight"), o.k_norm->eps);
  at::Tensor v =
      at::matmul(x, Param(attention, "v_proj.weight").t()) + Param(attention, "v_proj.bias");
  at::Tensor out = at::zeros({seq, heads * d}, x.options());
  for (int64_t h = 0; h < heads; ++h) {
    const int64_t g = h / (heads / kv);
    at::Tensor qh = rope.forward(q.slice(1, h * d, (h + 1) * d), at::arange(seq));
    at::Tensor kh = rope.forward(k.slice(1, g * d, (g + 1) * d), at::arange(seq));
    at::Tensor vh = v.slice(1, g * d, (g + 1) * d);
    for (int64_t i = 0; i < seq; ++i) {
      std::vector<double> weights(seq, 0.0);
      double max_score = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j <= i; ++j) {
        const bool visible = (real[j] || j == i) && (!window || i - j < *window);
        if (!visible) continue;
        weights[j] = (qh[i] * kh[j]).sum().item<double>() * scale;
        if (o.logit_softcap)
          weights[j] = *o.logit_softcap * std::tanh(weights[j] / *o.logit_softcap);
        max_score = std::max(max_score, weights[j]);
      }
      double total = 0;
      for (int64_t j = 0; j <= i; ++j) {
        const bool visible = (real[j] || j == i) && (!window || i - j < *window);
        weights[j] = visible ? std::exp(weights[j] - max_score) : 0.0;
        total += weights[j];
      }
      at::Tensor row = at::zeros({d}, x.options());
      for (int64_t j = 0; j <= i; ++j) row += vh[j] * (weights[j] / total);
      out[i].slice(0, h * d, (h + 1) * d).copy_(row);
    }
  }
  return at::matmul(out, Param(attention, "output_proj.weight").t()) +
         Param(attention, "output_proj.bias");
}

class AttentionTest : public ::testing::TestWithParam<std::optional<int64_t>> {};

TEST_P(AttentionTest, MatchesTheReferenceWithPaddingAndWindow) {
  at::manual_seed(3);
  const AttentionOptions o = Options();
  ModuleOptions options;
  options.dtype = at::kDouble;
  GroupedQueryAttention attention(o, options);
  RotaryEncoder rope(RotaryOptions{8, 10000.0, RopeLayout::kRotateHalf, std::nullopt});
  const int64_t seq = 9;
  at::Tensor x = at::randn({seq, 24}, at::kDouble);
  std::vector<bool> real = {true, true, true, true, true, true, true, false, false};
  at::Tensor key_padding =
      at::tensor(std::vector<int64_t>(real.begin(), real.end())).to(at::kBool).unsqueeze(0);
  c10::InferenceMode inference;
  at::Tensor positions = TokenPositions(seq, key_padding, at::kCPU);
  at::Tensor mask = MakeAttentionMask(seq, positions, GetParam(), key_padding);
  RotaryAngles angles = rope.Angles(positions.unsqueeze(1), at::kCPU, at::kDouble);
  at::Tensor actual = attention.forward(x.unsqueeze(0), rope, angles, mask, nullptr)[0];
  at::Tensor expected = ReferenceAttention(attention, o, x, rope, GetParam(), real);
  // Rows of padding tokens carry no meaning; the real rows must match.
  at::Tensor real_actual = actual.slice(0, 0, 7), real_expected = expected.slice(0, 0, 7);
  EXPECT_TRUE(at::allclose(real_actual, real_expected, 1e-6, 1e-8))
      << (real_actual - real_expected).abs().max().item<double>();
}

INSTANTIATE_TEST_SUITE_P(Windows, AttentionTest,
                         ::testing::Values(std::nullopt, std::optional<int64_t>(3)));

// Granite's own scale, Gemma 2's soft-capping (small enough to clip) and
// OLMo 2's q/k norms over the whole projection width, against the loops.
TEST(AttentionTest, ScaleSoftCapAndWholeWidthNormsMatchTheReference) {
  at::manual_seed(5);
  AttentionOptions o = Options();
  o.scale = 0.3;
  o.logit_softcap = 1.5;
  o.q_norm = RmsNormOptions{6 * 8, 1e-6};
  o.k_norm = RmsNormOptions{2 * 8, 1e-6};
  o.qk_norm_per_head = false;
  ModuleOptions options;
  options.dtype = at::kDouble;
  GroupedQueryAttention attention(o, options);
  {
    at::NoGradGuard no_grad;  // norm weights other than ones, so that they count
    Param(attention, "q_norm.weight").uniform_(0.5, 1.5);
    Param(attention, "k_norm.weight").uniform_(0.5, 1.5);
  }
  RotaryEncoder rope(RotaryOptions{8, 10000.0, RopeLayout::kRotateHalf, std::nullopt});
  const int64_t seq = 6;
  at::Tensor x = at::randn({seq, 24}, at::kDouble) * 3;
  c10::InferenceMode inference;
  at::Tensor positions = TokenPositions(seq, {}, at::kCPU);
  at::Tensor mask = MakeAttentionMask(seq, positions, std::nullopt, {});
  RotaryAngles angles = rope.Angles(positions.unsqueeze(1), at::kCPU, at::kDouble);
  at::Tensor actual = attention.forward(x.unsqueeze(0), rope, angles, mask, nullptr)[0];
  const std::vector<bool> real(seq, true);
  at::Tensor expected = ReferenceAttention(attention, o, x, rope, std::nullopt, real);
  // Norm statistics are float32 (as transformers computes them), the rest double.
  EXPECT_TRUE(at::allclose(actual, expected, 1e-5, 1e-7))
      << (actual - expected).abs().max().item<double>();
  // The cap and the scale change the result: without them it differs.
  AttentionOptions plain = o;
  plain.scale = 0;
  plain.logit_softcap.reset();
  at::Tensor uncapped = ReferenceAttention(attention, plain, x, rope, std::nullopt, real);
  EXPECT_GT((uncapped - expected).abs().max().item<double>(), 1e-3);
}

TEST(AttentionMaskTest, CausalWindowAndPadding) {
  // Slots 0..3 with slot 1 padding: token positions 0, 0, 1, 2. New slots 2 and 3.
  at::Tensor padding = at::tensor({1, 0, 1, 1}).to(at::kBool).unsqueeze(0);
  at::Tensor positions = TokenPositions(4, padding, at::kCPU);
  EXPECT_TRUE(at::equal(positions, at::tensor(std::vector<int64_t>{0, 0, 1, 2}).unsqueeze(0)));
  at::Tensor mask = MakeAttentionMask(2, positions, 2, padding);
  // Slot 2 (position 1) sees slot 0 (position 0, in the window) and itself; slot 3
  // (position 2) sees slots 2 and 3 but not slot 0 (2 - 0 is not < 2).
  at::Tensor expected = at::tensor({1, 0, 1, 0, 0, 0, 1, 1}).to(at::kBool).reshape({1, 1, 2, 4});
  EXPECT_TRUE(at::equal(mask, expected)) << mask;
  at::Tensor unpadded = MakeAttentionMask(2, TokenPositions(3, {}, at::kCPU), std::nullopt, {});
  EXPECT_TRUE(
      at::equal(unpadded, at::tensor({1, 1, 0, 1, 1, 1}).to(at::kBool).reshape({1, 1, 2, 3})));
}

TEST(AttentionTest, QueryAndKeyNormsExistOnlyWhenAsked) {
  AttentionOptions o = Options();
  o.q_norm = RmsNormOptions{8, 1e-6};
  GroupedQueryAttention with_norms(o, ModuleOptions{});
  auto names = with_norms.named_parameters().keys();
  EXPECT_NE(std::find(names.begin(), names.end(), "q_norm.weight"), names.end());
  EXPECT_EQ(std::find(names.begin(), names.end(), "k_norm.weight"), names.end());
  EXPECT_EQ(with_norms.named_parameters()["q_norm.weight"].size(0), 8);
}

TEST(AttentionTest, OutputBiasExistsOnlyWhenAsked) {
  AttentionOptions o = Options();
  EXPECT_EQ(
      GroupedQueryAttention(o, ModuleOptions{}).named_parameters()["output_proj.bias"].size(0), 24);
  o.output_bias = false;
  auto names = GroupedQueryAttention(o, ModuleOptions{}).named_parameters().keys();
  EXPECT_EQ(std::find(names.begin(), names.end(), "output_proj.bias"), names.end());
  EXPECT_NE(std::find(names.begin(), names.end(), "q_proj.bias"), names.end());
}

}  // namespace
}  // namespace modelhub
