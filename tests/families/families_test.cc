// Facts of the built-in families beyond the conformance suite every family
// runs (tests/conformance, with each family's parameter counts in its spec):
// their presets' values, override errors, and key maps checked against
// independently written Hugging Face and Meta tensor names.

#include <gtest/gtest.h>

#include <cmath>
#include <set>

#include "families/llama/llama.h"
#include "families/mistral/mistral.h"
#include "families/qwen/qwen.h"
#include "runtime/core/errors.h"
#include "runtime/hub/model_family_registry.h"
#include "tests/testing/checkpoint_names.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

std::shared_ptr<DecoderModel> MetaModel(const ModelFamily& family, const std::string& arch) {
  ModelPlacement meta;
  meta.meta = true;
  return family.CreateNewModel(*family.GetArchConfig(arch), meta);
}

TEST(FamiliesTest, AllTenAreRegisteredWithTheirPresets) {
  std::vector<std::string> names;
  for (const ModelFamily* family : ListModelFamilies()) names.push_back(family->name());
  EXPECT_EQ(names, (std::vector<std::string>{"gemma", "gemma2", "gemma3", "granite", "llama",
                                             "mistral", "olmo2", "phi3", "qwen", "starcoder2"}));
  std::set<std::string> qwen = get_qwen_model_hub().get_archs();
  for (const char* arch : {"qwen25_0.5b", "qwen25_1.5b", "qwen25_3b", "qwen25_7b", "qwen25_14b",
                           "qwen25_32b", "qwen25_72b", "qwen3_0.6b", "qwen3_1.7b", "qwen3_4b",
                           "qwen3_8b", "qwen3_14b", "qwen3_32b"}) {
    EXPECT_EQ(qwen.count(arch), 1u) << arch;
  }
  std::set<std::string> llama = get_llama_model_hub().get_archs();
  for (const char* arch : {"llama3_8b", "llama3_70b", "llama3_1_8b", "llama3_1_70b",
                           "llama3_1_405b", "llama3_2_1b", "llama3_2_3b"}) {
    EXPECT_EQ(llama.count(arch), 1u) << arch;
  }
  EXPECT_EQ(get_mistral_model_hub().get_archs(), std::set<std::string>{"7b"});
  EXPECT_EQ(get_mistral_model_hub().get_arch_config("mistral_7b"),
            get_mistral_model_hub().get_arch_config("7b"));
  EXPECT_EQ(get_qwen_model_hub().get_arch_config("qwen25_0_5b"),
            get_qwen_model_hub().get_arch_config("qwen25_0.5b"));
}

// Phi-3's presets as their config.json files set them (/work/notes/phi3.md's
// sources): the 128K models' LongRoPE, Phi-4 mini's partial rotary and ties.
TEST(FamiliesTest, Phi3PresetsFollowTheOfficialConfigs) {
  const ModelFamily* phi3 = nullptr;
  for (const ModelFamily* family : ListModelFamilies()) {
    if (family->name() == "phi3") phi3 = family;
  }
  ASSERT_NE(phi3, nullptr);
  const DecoderBlueprint mini = phi3->GetArchConfig("phi3_mini_4k")->ToBlueprint();
  EXPECT_EQ(mini.HeadDim(), 96);
  EXPECT_EQ(mini.RotaryDim(), 96);
  EXPECT_FALSE(mini.rope.longrope_scaling.has_value());
  EXPECT_EQ(mini.attention.sliding_window, 2047);
  for (const char* arch : {"phi3_mini_128k", "phi3_5_mini", "phi4_mini"}) {
    const DecoderBlueprint b = phi3->GetArchConfig(arch)->ToBlueprint();
    ASSERT_TRUE(b.rope.longrope_scaling.has_value()) << arch;
    EXPECT_EQ(b.rope.longrope_scaling->short_factors.size(), 48u) << arch;
    EXPECT_EQ(b.rope.longrope_scaling->long_factors.size(), 48u) << arch;
    EXPECT_EQ(b.rope.longrope_scaling->original_context_length, 4096) << arch;
    // 131072 / 4096 = 32: sqrt(1 + ln 32 / ln 4096) = sqrt(17 / 12).
    EXPECT_DOUBLE_EQ(b.RopeAttentionFactor(), std::sqrt(17.0 / 12.0)) << arch;
  }
  const DecoderBlueprint phi4 = phi3->GetArchConfig("phi4_mini")->ToBlueprint();
  EXPECT_EQ(phi4.HeadDim(), 128);
  EXPECT_EQ(phi4.RotaryDim(), 96);
  EXPECT_TRUE(phi4.tied_embeddings);
  EXPECT_EQ(phi4.rope.longrope_scaling->long_factors.back(), 47.77);
  const DecoderBlueprint medium = phi3->GetArchConfig("phi3_medium_4k")->ToBlueprint();
  EXPECT_EQ(medium.attention.num_kv_heads, 10);
  EXPECT_EQ(medium.FfnInnerDim(), 17920);
}

TEST(FamiliesTest, PresetValuesFollowTheOfficialConfigs) {
  QwenConfig qwen3 = get_qwen_model_hub().get_arch_config("qwen3_0.6b");
  EXPECT_EQ(qwen3.head_dim, 128);
  EXPECT_FALSE(qwen3.qkv_proj_bias);
  EXPECT_TRUE(qwen3.q_norm && qwen3.k_norm && qwen3.tied_embeddings);
  EXPECT_EQ(qwen3.max_seq_len, 40960);
  DecoderBlueprint qwen = ConfigTraits<QwenConfig>::ToBlueprint(qwen3);
  EXPECT_EQ(qwen.norm.eps, 1e-6);

  LLaMAConfig llama32 = get_llama_model_hub().get_arch_config("llama3_2_1b");
  DecoderBlueprint llama = ConfigTraits<LLaMAConfig>::ToBlueprint(llama32);
  EXPECT_EQ(llama.HeadDim(), 64);
  EXPECT_EQ(llama.norm.eps, 1e-5);
  ASSERT_TRUE(llama.rope.llama3_scaling.has_value());
  EXPECT_EQ(llama.rope.llama3_scaling->factor, 32.0);
  EXPECT_EQ(llama.rope.theta, 500000.0);
  // LLaMA 1 normalizes with 1e-6, Llama 2 and 3 with 1e-5.
  auto eps = [](const char* arch) {
    return ConfigTraits<LLaMAConfig>::ToBlueprint(get_llama_model_hub().get_arch_config(arch))
        .norm.eps;
  };
  for (const char* arch : {"7b", "13b", "33b", "65b"}) EXPECT_EQ(eps(arch), 1e-6) << arch;
  for (const char* arch : {"llama2_7b", "llama2_13b", "llama2_70b", "llama3_70b", "llama3_2_1b"}) {
    EXPECT_EQ(eps(arch), 1e-5) << arch;
  }
  EXPECT_FALSE(
      ConfigTraits<LLaMAConfig>::ToBlueprint(get_llama_model_hub().get_arch_config("llama3_8b"))
          .rope.llama3_scaling.has_value());

  DecoderBlueprint mistral =
      ConfigTraits<MistralConfig>::ToBlueprint(get_mistral_model_hub().get_arch_config("7b"));
  EXPECT_EQ(mistral.attention.sliding_window, 4096);
  EXPECT_EQ(mistral.rope.theta, 10000.0);
}

std::string OverrideError(const std::string& yaml) {
  LLaMAConfig config = get_llama_model_hub().get_arch_config("llama3_8b");
  return testing::ErrorOf<ConfigError>([&] {
    ConfigTraits<LLaMAConfig>::Merge(
        YAML::Load(yaml), YamlContext{"card 'x' model_config", "cards/x.yaml", ""}, &config);
    ConfigTraits<LLaMAConfig>::Validate(config);
  });
}

TEST(FamiliesTest, OverridesMergeLikeFairseq2sModelConfig) {
  LLaMAConfig config = get_llama_model_hub().get_arch_config("llama3_2_1b");
  ConfigTraits<LLaMAConfig>::Merge(YAML::Load("max_seq_len: 4096\nrope_scale: {factor: 16}"),
                                   YamlContext{"override", "", ""}, &config);
  EXPECT_EQ(config.max_seq_len, 4096);
  EXPECT_EQ(config.rope_scale.factor, 16.0);
  EXPECT_EQ(config.rope_scale.original_context_length, 8192);  // untouched
  EXPECT_EQ(config.model_dim, 2048);                           // untouched
}

TEST(FamiliesTest, BadOverridesAreClearErrors) {
  EXPECT_EQ(OverrideError("model_dimm: 8"),
            "cards/x.yaml:1:1: card 'x' model_config field 'model_dimm': unknown field (did you "
            "mean model_dim?)");
  EXPECT_EQ(OverrideError("\nrope_scale:\n  factr: 2"),
            "cards/x.yaml:3:3: card 'x' model_config field 'rope_scale.factr': unknown field (did "
            "you mean factor?)");
  EXPECT_EQ(OverrideError("num_layers: many"),
            "cards/x.yaml:1:13: card 'x' model_config field 'num_layers': expected an integer, "
            "got 'many'");
  EXPECT_EQ(OverrideError("num_key_value_heads: 5"),
            "LLaMAConfig field 'num_attn_heads': 32 is not divisible by num_key_value_heads (5)");
  EXPECT_EQ(OverrideError("rope_scale: {factor: 0.5}"),
            "LLaMAConfig field 'rope_scale.factor': must be at least 1.0, is 0.5");
  EXPECT_EQ(OverrideError("dropout_p: 1.5"),
            "LLaMAConfig field 'dropout_p': must be at most 1.0, is 1.5");
}

// Whether the family's Hugging Face checkpoints store q/k/v and gate/up fused
// (Phi-3's layout).
bool Fuses(const ModelFamily& family) {
  const KeyMap* hf = family.FindKeyMap("hf");
  return hf != nullptr && hf->Map("model.layers.0.self_attn.qkv_proj.weight").has_value();
}

// The Hugging Face (and, for Llama/Mistral, Meta) names of every preset of
// every family map one to one onto the model's parameters (a fused tensor
// onto each of its parts).
TEST(FamiliesTest, CheckpointKeyMapsCoverEveryParameter) {
  for (const ModelFamily* family : ListModelFamilies()) {
    for (const std::string& arch : family->arch_names()) {
      std::shared_ptr<DecoderModel> model = MetaModel(*family, arch);
      std::set<std::string> parameters;
      for (const auto& item : model->named_parameters()) parameters.insert(item.key());
      const DecoderBlueprint& blueprint = model->blueprint();

      std::vector<std::pair<std::string, std::vector<std::string>>> formats = {
          {"hf", testing::HuggingFaceTensorNames(blueprint, Fuses(*family))}};
      if ((family->name() == "llama" || family->name() == "mistral") &&
          !blueprint.tied_embeddings) {
        formats.emplace_back("meta", testing::MetaTensorNames(blueprint));
      }
      for (const auto& [format, names] : formats) {
        const KeyMap* map = family->FindKeyMap(format);
        ASSERT_NE(map, nullptr) << family->name() << " " << format;
        std::set<std::string> mapped;
        for (const std::string& name : names) {
          std::optional<MappedKey> key = map->Map(name);
          ASSERT_TRUE(key.has_value()) << family->name() << " " << format << ": " << name;
          if (key->dropped) continue;
          for (const MappedKey& target : TargetsOf(*key)) {
            EXPECT_TRUE(mapped.insert(target.name).second) << "two keys map to " << target.name;
          }
          const bool rope_row = name.find("attention.wq") != std::string::npos ||
                                name.find("attention.wk") != std::string::npos;
          EXPECT_EQ(key->rope != RopeProjection::kNone, rope_row) << name;
        }
        EXPECT_EQ(mapped, parameters) << family->name() << " " << arch << " " << format;
      }
    }
  }
}

}  // namespace
}  // namespace modelhub
