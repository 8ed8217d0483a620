#include "runtime/blueprint/decoder_blueprint.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>

#include "runtime/core/errors.h"
#include "tests/testing/error_of.h"
#include "tests/testing/small_blueprint.h"

namespace modelhub {
namespace {

DecoderBlueprint Valid() { return testing::SmallBlueprint(); }

TEST(DecoderBlueprintTest, FfnInnerDimFollowsFairseq2sRule) {
  DecoderBlueprint b = Valid();
  b.ffn.inner_dim = 4 * 4096;
  b.ffn.inner_dim_scale = 2.0 / 3.0;
  b.ffn.inner_dim_multiplier = 1.3;
  b.ffn.inner_dim_multiple_of = 1024;
  EXPECT_EQ(b.FfnInnerDim(), 14336);  // Llama 3 8B
  b.ffn.inner_dim = 4 * 16384;
  b.ffn.inner_dim_multiplier = 1.2;
  b.ffn.inner_dim_multiple_of = 4096;
  EXPECT_EQ(b.FfnInnerDim(), 53248);  // Llama 3.1 405B
  EXPECT_EQ(Valid().FfnInnerDim(), 48);
}

TEST(DecoderBlueprintTest, HeadDimDefaultsToModelDimOverHeads) {
  DecoderBlueprint b = Valid();
  EXPECT_EQ(b.HeadDim(), 8);
  b.attention.head_dim = 128;
  EXPECT_EQ(b.HeadDim(), 128);
}

// Changes a setting so that the model it builds changes.
void Change(int64_t& value) { value = value * 10 + 7; }
void Change(double& value) { value *= 2; }
void Change(bool& value) { value = !value; }
void Change(std::optional<int64_t>& value) { value = value ? std::nullopt : std::optional(10); }
void Change(std::optional<double>& value) { value = value ? std::nullopt : std::optional(2.5); }
void Change(std::string& value) { value += "_other"; }

TEST(DecoderBlueprintTest, EveryListedSettingIsCompared) {
  size_t count = 0;
  const DecoderBlueprint valid = Valid();
  VisitDecoderSettings([&](const DecoderSetting&, const auto&) { ++count; }, valid);
  ASSERT_GE(count, 38u);
  for (size_t changed = 0; changed < count; ++changed) {
    DecoderBlueprint b = Valid();
    std::string name;
    size_t index = 0;
    VisitDecoderSettings(
        [&](const DecoderSetting& setting, auto& value) {
          if (index++ != changed) return;
          Change(value);
          name = setting.derived != nullptr ? setting.derived->name : setting.key;
        },
        b);
    EXPECT_EQ(DescribeDifference(valid, b).substr(0, name.size() + 1), name + ":") << name;
  }
}

TEST(DecoderBlueprintTest, DescribeDifferenceComparesTheModelsBuilt) {
  EXPECT_EQ(DescribeDifference(Valid(), Valid()), "");
  // The same sizes reached another way are the same model; the family is a label.
  DecoderBlueprint derived = Valid();
  derived.family = "other";
  derived.attention.head_dim = 8;
  derived.ffn.inner_dim = 96;
  derived.ffn.inner_dim_scale = 0.5;
  EXPECT_EQ(DescribeDifference(Valid(), derived), "");

  DecoderBlueprint b = Valid();
  b.ffn.inner_dim_multiple_of = 64;
  EXPECT_EQ(DescribeDifference(Valid(), b), "ffn inner dim: 48 vs 64");
  b = Valid();
  b.norm.eps = 1e-5;
  EXPECT_EQ(DescribeDifference(Valid(), b), "norm.eps: 1e-06 vs 1e-05");
  b = Valid();
  b.attention.sliding_window = 4;
  EXPECT_EQ(DescribeDifference(Valid(), b), "attention.sliding_window: none vs 4");
  b.attention.k_norm = true;  // the first difference, in blueprint order
  EXPECT_EQ(DescribeDifference(Valid(), b), "attention.k_norm: false vs true");
  b = Valid();
  b.rope.llama3_scaling = Llama3RopeScaling{};
  EXPECT_EQ(DescribeDifference(Valid(), b), "rope.llama3_scaling: false vs true");
  DecoderBlueprint c = b;
  c.rope.llama3_scaling->factor = 32;
  EXPECT_EQ(DescribeDifference(b, c), "rope.llama3_scaling.factor: 8 vs 32");
  c = b;
  c.rope.layout = RopeLayout::kInterleaved;
  EXPECT_EQ(DescribeDifference(b, c), "rope.layout: rotate_half vs interleaved");
}

TEST(DecoderBlueprintTest, ValidateNamesTheInconsistentValue) {
  EXPECT_NO_THROW(Valid().Validate());
  auto message = [](const DecoderBlueprint& b) {
    return testing::ErrorOf<ConfigError>([&] { b.Validate(); });
  };
  DecoderBlueprint b = Valid();
  b.attention.num_kv_heads = 3;
  EXPECT_EQ(message(b),
            "test decoder field 'attention.num_heads': 4 is not divisible by num_kv_heads 3");
  b = Valid();
  b.model_dim = 66;
  EXPECT_EQ(message(b),
            "test decoder field 'model_dim': 66 is not divisible by num_heads 4 (set head_dim "
            "explicitly)");
  b.attention.head_dim = 7;
  EXPECT_EQ(message(b),
            "test decoder field 'attention.head_dim': must be even for rotary embeddings, is 7");
  b = Valid();
  b.model_dim = 36;  // 36 / 4 heads: a derived head size of 9
  EXPECT_EQ(message(b),
            "test decoder field 'attention.head_dim': must be even for rotary embeddings, is 9 "
            "(model_dim 36 / num_heads 4)");
  b = Valid();
  b.num_layers = 0;
  EXPECT_EQ(message(b), "test decoder field 'num_layers': must be positive, is 0");
  b = Valid();
  b.attention.sliding_window = 0;
  EXPECT_EQ(message(b), "test decoder field 'attention.sliding_window': must be positive, is 0");
  b = Valid();
  b.rope.llama3_scaling = Llama3RopeScaling{8.0, 4.0, 1.0, 8192};
  EXPECT_EQ(message(b),
            "test decoder field 'rope.scaling': needs 0 < low_freq_factor < high_freq_factor");
}

// Valid() with LongRoPE over its 8-feature heads, half of them rotated
// (2 pairs), switching at 10 of its 40 positions.
DecoderBlueprint WithLongRope() {
  DecoderBlueprint b = Valid();
  b.rope.partial_factor = 0.5;
  b.rope.longrope_scaling = LongRopeScaling{{1.0, 2.0}, {4.0, 8.0}, 10};
  return b;
}

TEST(DecoderBlueprintTest, LongRopeAndPartialRotary) {
  EXPECT_EQ(Valid().RotaryDim(), 8);
  EXPECT_EQ(Valid().RopeAttentionFactor(), 1.0);
  DecoderBlueprint b = WithLongRope();
  EXPECT_NO_THROW(b.Validate());
  EXPECT_EQ(b.RotaryDim(), 4);
  // factor 40 / 10 = 4: sqrt(1 + ln 4 / ln 10).
  EXPECT_DOUBLE_EQ(b.RopeAttentionFactor(), std::sqrt(1 + std::log(4.0) / std::log(10.0)));
  b.max_seq_len = 10;  // no extension: no factor
  EXPECT_EQ(b.RopeAttentionFactor(), 1.0);
  // A cache filled within the original length goes stale when a call passes it.
  b = WithLongRope();
  EXPECT_FALSE(b.LongRopeSwitches(0, 12));   // nothing cached
  EXPECT_FALSE(b.LongRopeSwitches(4, 10));   // still within 10
  EXPECT_TRUE(b.LongRopeSwitches(10, 11));   // the call reaches position 10
  EXPECT_FALSE(b.LongRopeSwitches(11, 12));  // already filled with the long factors
  EXPECT_FALSE(Valid().LongRopeSwitches(10, 11));

  DecoderBlueprint other = WithLongRope();
  other.rope.longrope_scaling->long_factors[1] = 9.0;
  EXPECT_EQ(DescribeDifference(WithLongRope(), other),
            "rope.longrope_scaling.long_factors: [4, 8] vs [4, 9]");
  EXPECT_EQ(DescribeDifference(Valid(), WithLongRope()), "rope.partial_factor: 1 vs 0.5");
}

TEST(DecoderBlueprintTest, ValidateChecksLongRopeAndPartialRotary) {
  auto message = [](const DecoderBlueprint& b) {
    return testing::ErrorOf<ConfigError>([&] { b.Validate(); });
  };
  DecoderBlueprint b = WithLongRope();
  b.rope.longrope_scaling->short_factors.push_back(1.0);
  EXPECT_EQ(message(b),
            "test decoder field 'rope.scaling.short_factors': must have one factor per rotated "
            "pair of features (2: rotary dim 4 / 2), has 3");
  b = WithLongRope();
  b.rope.longrope_scaling->long_factors[0] = 0.0;
  EXPECT_EQ(message(b), "test decoder field 'rope.scaling.long_factors': must be positive, has 0");
  b = WithLongRope();
  b.rope.linear_factor = 2.0;
  EXPECT_EQ(message(b),
            "test decoder field 'rope.scaling': LongRoPE cannot be combined with Llama 3 or "
            "linear scaling");
  b = Valid();
  b.rope.partial_factor = 0.4;  // int(3.2) of 8 features
  EXPECT_EQ(message(b),
            "test decoder field 'rope.partial_factor': must rotate an even number of features, "
            "rotates 3 of 8");
  b.rope.partial_factor = 0.1;
  EXPECT_EQ(message(b),
            "test decoder field 'rope.partial_factor': must rotate an even number of features, "
            "rotates 0 of 8");
  b.rope.partial_factor = 0.5;
  b.rope.layout = RopeLayout::kInterleaved;
  EXPECT_EQ(message(b),
            "test decoder field 'rope.partial_factor': needs the rotate_half RoPE layout");
}

}  // namespace
}  // namespace modelhub
