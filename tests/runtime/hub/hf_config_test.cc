// Writing config.json: the keys each family's presets get, the round trip
// through ParseHfConfig that picks the model_type, and configs that have no
// config.json form.

#include "runtime/hub/hf_config.h"

#include <gtest/gtest.h>

#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "runtime/core/errors.h"
#include "runtime/hub/model_family_registry.h"

namespace modelhub {
namespace {

using Json = nlohmann::json;

// The config.json FormatHfConfig writes for preset `arch` of `family`.
std::string Text(const std::string& family, const std::string& arch,
                 c10::ScalarType dtype = c10::kBFloat16) {
  const ModelFamily& f = GetModelFamily(family);
  return FormatHfConfig(f, f.GetArchConfig(arch)->ToBlueprint(), dtype, "/out");
}
Json Written(const std::string& family, const std::string& arch) {
  return Json::parse(Text(family, arch));
}

TEST(HfConfigTest, Qwen25PresetsAreQwen2Configs) {
  const Json json = Written("qwen", "qwen25_7b");
  EXPECT_EQ(json["model_type"], "qwen2");
  EXPECT_EQ(json["architectures"], Json::array({"Qwen2ForCausalLM"}));
  EXPECT_EQ(json["hidden_size"], 3584);
  EXPECT_EQ(json["intermediate_size"], 18944);
  EXPECT_EQ(json["num_hidden_layers"], 28);
  EXPECT_EQ(json["num_attention_heads"], 28);
  EXPECT_EQ(json["num_key_value_heads"], 4);
  EXPECT_EQ(json["head_dim"], 128);
  EXPECT_EQ(json["vocab_size"], 152064);
  EXPECT_EQ(json["max_position_embeddings"], 32768);
  EXPECT_EQ(json["rms_norm_eps"], 1e-6);
  EXPECT_EQ(json["rope_theta"], 1e6);
  EXPECT_TRUE(json["rope_scaling"].is_null());
  EXPECT_EQ(json["tie_word_embeddings"], false);
  EXPECT_EQ(json["attention_bias"], true);
  EXPECT_EQ(json["use_sliding_window"], false);
  EXPECT_FALSE(json.contains("sliding_window"));  // the qwen spec does not read it
  EXPECT_EQ(json["hidden_act"], "silu");
  EXPECT_EQ(json["torch_dtype"], "bfloat16");
  EXPECT_EQ(Written("qwen", "qwen25_0.5b")["tie_word_embeddings"], true);
}

TEST(HfConfigTest, Qwen3PresetsAreQwen3Configs) {
  const Json json = Written("qwen", "qwen3_0.6b");
  EXPECT_EQ(json["model_type"], "qwen3");
  EXPECT_EQ(json["architectures"], Json::array({"Qwen3ForCausalLM"}));
  EXPECT_EQ(json["hidden_size"], 1024);
  EXPECT_EQ(json["head_dim"], 128);  // not 1024 / 16
  EXPECT_EQ(json["intermediate_size"], 3072);
  EXPECT_EQ(json["max_position_embeddings"], 40960);
  EXPECT_EQ(json["attention_bias"], false);
  EXPECT_EQ(json["tie_word_embeddings"], true);
  EXPECT_EQ(Written("qwen", "qwen3_8b")["tie_word_embeddings"], false);
}

TEST(HfConfigTest, LlamaPresetsGiveTheEffectiveFfnWidthAndRopeScaling) {
  const Json llama3 = Written("llama", "llama3_8b");
  EXPECT_EQ(llama3["model_type"], "llama");
  EXPECT_EQ(llama3["architectures"], Json::array({"LlamaForCausalLM"}));
  EXPECT_EQ(llama3["intermediate_size"], 14336);  // fairseq2's rule applied
  EXPECT_EQ(llama3["num_key_value_heads"], 8);
  EXPECT_EQ(llama3["vocab_size"], 128256);
  EXPECT_EQ(llama3["max_position_embeddings"], 8192);
  EXPECT_EQ(llama3["rms_norm_eps"], 1e-5);
  EXPECT_EQ(llama3["rope_theta"], 500000.0);
  EXPECT_TRUE(llama3["rope_scaling"].is_null());
  EXPECT_EQ(llama3["attention_bias"], false);
  EXPECT_FALSE(llama3.contains("head_dim"));
  EXPECT_FALSE(llama3.contains("sliding_window"));

  const Json llama31 = Written("llama", "llama3_1_8b");
  EXPECT_EQ(llama31["max_position_embeddings"], 131072);
  EXPECT_EQ(llama31["rope_scaling"], Json({{"rope_type", "llama3"},
                                           {"factor", 8.0},
                                           {"low_freq_factor", 1.0},
                                           {"high_freq_factor", 4.0},
                                           {"original_max_position_embeddings", 8192}}));
  const Json llama32 = Written("llama", "llama3_2_1b");
  EXPECT_EQ(llama32["intermediate_size"], 8192);
  EXPECT_EQ(llama32["tie_word_embeddings"], true);
  EXPECT_EQ(llama32["rope_scaling"]["factor"], 32.0);
  EXPECT_EQ(Written("llama", "llama3_1_405b")["intermediate_size"], 53248);
}

TEST(HfConfigTest, MistralHasItsSlidingWindow) {
  const Json json = Written("mistral", "7b");
  EXPECT_EQ(json["model_type"], "mistral");
  EXPECT_EQ(json["architectures"], Json::array({"MistralForCausalLM"}));
  EXPECT_EQ(json["sliding_window"], 4096);
  EXPECT_FALSE(json.contains("use_sliding_window"));
  EXPECT_EQ(json["intermediate_size"], 14336);
  EXPECT_EQ(json["vocab_size"], 32000);
  EXPECT_EQ(json["rope_theta"], 10000.0);
  EXPECT_EQ(json["tie_word_embeddings"], false);
  EXPECT_TRUE(json["rope_scaling"].is_null());
}

TEST(HfConfigTest, TextIsWrittenAsTransformersWritesIt) {
  const std::string text = Text("mistral", "7b", c10::kFloat);
  EXPECT_EQ(text.rfind("{\n  \"architectures\": [\n    \"MistralForCausalLM\"\n  ],\n", 0), 0u)
      << text;
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(Json::parse(text)["torch_dtype"], "float32");
  EXPECT_EQ(Json::parse(Text("mistral", "7b", c10::kHalf))["torch_dtype"], "float16");
}

TEST(HfConfigTest, EveryPresetOfEveryFamilyReadsBackAsTheSameModel) {
  int presets = 0;
  for (const ModelFamily* family : ListModelFamilies()) {
    for (const std::string& arch : family->arch_names()) {
      const DecoderBlueprint blueprint = family->GetArchConfig(arch)->ToBlueprint();
      const HfModelConfig read =
          ParseHfConfig(FormatHfConfig(*family, blueprint, c10::kFloat, "/out"), "/out");
      EXPECT_EQ(read.family, family) << arch;
      EXPECT_EQ(DescribeDifference(blueprint, read.config->ToBlueprint()), "") << arch;
      ++presets;
    }
  }
  EXPECT_EQ(presets, 13 + 14 + 1);
}

// The message of the CheckpointSaveError FormatHfConfig throws.
std::string Refusal(const ModelFamily& family, const DecoderBlueprint& blueprint,
                    c10::ScalarType dtype = c10::kFloat) {
  try {
    FormatHfConfig(family, blueprint, dtype, "/out");
  } catch (const CheckpointSaveError& e) {
    EXPECT_EQ(e.path(), "/out");
    return e.what();
  }
  return "(no error)";
}

TEST(HfConfigTest, AConfigNoModelTypeExpressesIsRefusedWithEachReason) {
  const ModelFamily& qwen = GetModelFamily("qwen");
  std::unique_ptr<AnyConfig> config = qwen.GetArchConfig("qwen3_0.6b");
  config->Merge(YAML::Load("k_norm: false"), YamlContext{"test", "", ""});
  EXPECT_EQ(Refusal(qwen, config->ToBlueprint()),
            "cannot save a checkpoint to /out: this qwen config cannot be expressed as a Hugging "
            "Face config.json: model_type 'qwen2' reads back as another model "
            "(attention.q_norm: true vs false); model_type 'qwen3' reads back as another model "
            "(attention.k_norm: false vs true)");

  // A qwen norm epsilon config.json cannot carry: the family requires 1e-6.
  DecoderBlueprint eps = qwen.GetArchConfig("qwen25_7b")->ToBlueprint();
  eps.norm.eps = 1e-5;
  const std::string message = Refusal(qwen, eps);
  EXPECT_NE(message.find("model_type 'qwen2' does not read back: config.json key "
                         "'rms_norm_eps' is 1e-05, but model family 'qwen' supports only 1.0e-6"),
            std::string::npos)
      << message;
}

TEST(HfConfigTest, DtypesWithoutATorchDtypeNameAreRefused) {
  const ModelFamily& mistral = GetModelFamily("mistral");
  EXPECT_EQ(Refusal(mistral, mistral.GetArchConfig("7b")->ToBlueprint(), c10::kLong),
            "cannot save a checkpoint to /out: config.json's torch_dtype cannot name dtype Long "
            "(use float32, bfloat16, float16 or float64)");
}

}  // namespace
}  // namespace modelhub
