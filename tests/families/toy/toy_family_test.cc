// "A spec file is enough": the toy family exists only as tests/families/toy/toy.yaml
// plus one modelhub_family() line, yet it registers, has typed presets, builds
// models and counts their parameters.

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "runtime/config/yaml_fields.h"
#include "runtime/core/errors.h"
#include "runtime/hub/model_family_registry.h"
#include "tests/families/toy/toy.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

TEST(ToyFamilyTest, RegistersItselfWithItsArchsInSpecOrder) {
  const ModelFamily& family = GetModelFamily("toy");
  EXPECT_EQ(family.spec_file(), "tests/families/toy/toy.yaml");
  EXPECT_EQ(family.arch_names(),
            (std::vector<std::string>{"toy_small", "toy_windowed", "toy_scaled"}));
  EXPECT_EQ(family.ResolveArch("toy_w"), "toy_windowed");
  EXPECT_NE(family.FindKeyMap("hf"), nullptr);
  EXPECT_NE(family.FindKeyMap("meta"), nullptr);
}

TEST(ToyFamilyTest, PresetsDeriveFromTheirBases) {
  ToyModelHub hub = get_toy_model_hub();
  ToyConfig scaled = hub.get_arch_config("toy_scaled");
  EXPECT_EQ(scaled.window, 8);     // from toy_windowed
  EXPECT_FALSE(scaled.tied);       // from toy_windowed
  EXPECT_EQ(scaled.head_dim, 32);  // its own
  EXPECT_EQ(scaled.label, "scaled");
  EXPECT_TRUE(scaled.rope.scaled);
  EXPECT_EQ(scaled.rope.factors[1], 2.0);
  EXPECT_EQ(scaled.rope.theta, 500000.0);
  EXPECT_EQ(scaled.rope.factor, 8.0);  // the struct default
  EXPECT_EQ(hub.get_arch_config("toy_small").label, "toy \"one\"");
  EXPECT_EQ(hub.get_arch_config("toy_small").precision, "full");
  EXPECT_EQ(scaled.precision, "half");
}

// A string field with `choices:` takes only those, from YAML and from code.
TEST(ToyFamilyTest, AFieldWithChoicesTakesOnlyThem) {
  ToyConfig config = get_toy_model_hub().get_arch_config("toy_small");
  YamlContext context{"card 'c' model_config", "card.yaml", "", ScalarRule::kFairseq2};
  ConfigTraits<ToyConfig>::Merge(YAML::Load("precision: half"), context, &config);
  EXPECT_EQ(config.precision, "half");
  EXPECT_THAT(testing::ErrorOf<ConfigError>([&] {
                ConfigTraits<ToyConfig>::Merge(YAML::Load("precision: third"), context, &config);
              }),
              ::testing::HasSubstr("card.yaml:1:12: card 'c' model_config field 'precision': "
                                   "expected one of full, half, got 'third'"));
  config.precision = "third";
  EXPECT_THAT(
      testing::ErrorOf<ConfigError>([&] { ConfigTraits<ToyConfig>::Validate(config); }),
      ::testing::HasSubstr("ToyConfig field 'precision': must be one of full, half, is 'third'"));
}

TEST(ToyFamilyTest, BlueprintFollowsTheDecoderSection) {
  ToyConfig config = get_toy_model_hub().get_arch_config("toy_scaled");
  DecoderBlueprint b = ConfigTraits<ToyConfig>::ToBlueprint(config);
  EXPECT_EQ(b.family, "toy");
  EXPECT_EQ(b.HeadDim(), 32);
  EXPECT_TRUE(b.attention.qkv_bias);
  EXPECT_TRUE(b.attention.q_norm);
  EXPECT_FALSE(b.attention.k_norm);
  EXPECT_EQ(b.attention.sliding_window, 8);
  ASSERT_TRUE(b.rope.llama3_scaling.has_value());
  EXPECT_EQ(b.rope.llama3_scaling->high_freq_factor, 2.0);
  EXPECT_EQ(b.rope.llama3_scaling->original_context_length, 64);
  EXPECT_EQ(b.norm.eps, 1e-5);
  EXPECT_EQ(b.FfnInnerDim(), 96);
  EXPECT_FALSE(
      ConfigTraits<ToyConfig>::ToBlueprint(get_toy_model_hub().get_arch_config("toy_small"))
          .rope.llama3_scaling.has_value());
}

TEST(ToyFamilyTest, CreatesModelsAndCountsTheirParameters) {
  ToyModelHub hub = get_toy_model_hub();
  // toy_small by hand: per layer q 64*64+64, k and v 64*32+32 each, output
  // 64*64, q_norm 16, two norms 2*64, SwiGLU 3*64*96; two layers; tied
  // embeddings 128*64; final norm 64.
  const int64_t layer = (64 * 64 + 64) + 2 * (64 * 32 + 32) + 64 * 64 + 16 + 2 * 64 + 3 * 64 * 96;
  const int64_t expected = 2 * layer + 128 * 64 + 64;
  auto meta = hub.create_new_model(hub.get_arch_config("toy_small"), ModelPlacement::Meta());
  EXPECT_EQ(meta->num_parameters(), expected);

  at::manual_seed(0);
  auto model = hub.create_new_model(hub.get_arch_config("toy_scaled"));
  c10::InferenceMode inference;
  at::Tensor logits = model->forward(at::arange(10, at::kLong).unsqueeze(0));
  EXPECT_EQ(logits.sizes(), (std::vector<int64_t>{1, 10, 128}));
  EXPECT_TRUE(logits.isfinite().all().item<bool>());
}

}  // namespace
}  // namespace modelhub
