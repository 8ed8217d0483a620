#include "runtime/mapping/rope_layout.h"

#include <gtest/gtest.h>

#include "runtime/core/errors.h"
#include "runtime/nn/rotary_encoder.h"

namespace modelhub {
namespace {

// A Meta (interleaved) q projection, converted to rotate-half rows, must give
// the same rotated queries under rotate-half RoPE as the original gives under
// interleaved RoPE, up to the same permutation of features.
TEST(RopeLayoutTest, ConvertedWeightsGiveTheSameAttentionScores) {
  at::manual_seed(1);
  const int64_t heads = 3, head_dim = 8, model_dim = 12, seq = 5;
  at::Tensor weight = at::randn({heads * head_dim, model_dim}, at::kDouble);
  at::Tensor x = at::randn({seq, model_dim}, at::kDouble);
  RotaryEncoder interleaved(
      RotaryOptions{head_dim, 10000.0, RopeLayout::kInterleaved, std::nullopt});
  RotaryEncoder rotate_half(
      RotaryOptions{head_dim, 10000.0, RopeLayout::kRotateHalf, std::nullopt});

  auto rotated = [&](const at::Tensor& w, const RotaryEncoder& rope) {
    // [S, H*D] -> [H, S, D], then RoPE.
    return rope.forward(at::matmul(x, w.t()).view({seq, heads, head_dim}).transpose(0, 1),
                        at::arange(seq));
  };
  at::Tensor converted =
      ConvertRopeLayout(weight, head_dim, RopeLayout::kInterleaved, RopeLayout::kRotateHalf);
  at::Tensor q_meta = rotated(weight, interleaved);
  at::Tensor q_hf = rotated(converted, rotate_half);
  // Dot products between positions (what attention uses) are layout-independent.
  at::Tensor scores_meta = at::matmul(q_meta, q_meta.transpose(1, 2));
  at::Tensor scores_hf = at::matmul(q_hf, q_hf.transpose(1, 2));
  EXPECT_TRUE(at::allclose(scores_meta, scores_hf, 1e-5, 1e-5));
  // And feature by feature: interleaved pair (2i, 2i+1) is half pair (i, i+D/2).
  at::Tensor pairs_meta = q_meta.reshape({heads, seq, head_dim / 2, 2});
  at::Tensor pairs_hf = q_hf.reshape({heads, seq, 2, head_dim / 2}).transpose(2, 3);
  EXPECT_TRUE(at::allclose(pairs_meta, pairs_hf, 1e-5, 1e-5));
}

TEST(RopeLayoutTest, InverseConversionRestoresTheOriginal) {
  at::Tensor weight = at::arange(4 * 6 * 2, at::kFloat).reshape({4 * 6, 2});
  at::Tensor half = ConvertRopeLayout(weight, 6, RopeLayout::kInterleaved, RopeLayout::kRotateHalf);
  EXPECT_FALSE(at::equal(half, weight));
  EXPECT_TRUE(at::equal(
      ConvertRopeLayout(half, 6, RopeLayout::kRotateHalf, RopeLayout::kInterleaved), weight));
  at::Tensor bias = at::arange(8, at::kFloat);  // one head of 8 (or a q_norm weight)
  EXPECT_TRUE(
      at::equal(ConvertRopeLayout(bias, 8, RopeLayout::kInterleaved, RopeLayout::kRotateHalf),
                at::tensor({0.f, 2.f, 4.f, 6.f, 1.f, 3.f, 5.f, 7.f})));
  EXPECT_TRUE(at::equal(
      ConvertRopeLayout(bias, 8, RopeLayout::kRotateHalf, RopeLayout::kRotateHalf), bias));
}

TEST(RopeLayoutTest, RowsThatDoNotSplitIntoHeadsAreAnError) {
  EXPECT_THROW(
      ConvertRopeLayout(at::zeros({10, 4}), 4, RopeLayout::kInterleaved, RopeLayout::kRotateHalf),
      InvalidModelInputError);
  EXPECT_THROW(
      ConvertRopeLayout(at::zeros({6, 4}), 3, RopeLayout::kInterleaved, RopeLayout::kRotateHalf),
      InvalidModelInputError);
}

}  // namespace
}  // namespace modelhub
