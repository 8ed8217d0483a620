// Reading config.json exactly as strictly as transformers' config classes
// (types per key, null where they allow it, legacy spellings), refusing what the
// decoder cannot build with the keys it comes from; writing config.json: the
// keys each family's presets get, the round trip through ParseHfConfig that
// picks the model_type, and configs that have no config.json form.

#include "runtime/hub/hf_config.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/hub/model_family_registry.h"
#include "tests/testing/error_of.h"

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
  EXPECT_EQ(llama3["head_dim"], 128);  // as transformers writes LlamaConfig.head_dim
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
  // qwen, llama, mistral; gemma, gemma2, gemma3, granite, olmo2, starcoder2, phi3
  EXPECT_EQ(presets, 13 + 14 + 1 + 2 + 3 + 4 + 4 + 2 + 3 + 5);
}

// The message of the CheckpointSaveError FormatHfConfig throws.
std::string Refusal(const ModelFamily& family, const DecoderBlueprint& blueprint,
                    c10::ScalarType dtype = c10::kFloat) {
  return testing::ErrorOf<CheckpointSaveError>(
      [&] { FormatHfConfig(family, blueprint, dtype, "/out"); });
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

  // A window on every layer: Qwen's config.json windows only the layers from
  // max_window_layers on, which the decoder cannot build.
  DecoderBlueprint window = qwen.GetArchConfig("qwen25_7b")->ToBlueprint();
  window.attention.sliding_window = 64;
  const std::string message = Refusal(qwen, window);
  EXPECT_NE(message.find("model_type 'qwen2' does not read back: config.json key "
                         "'use_sliding_window' is true, but model family 'qwen' supports only "
                         "false"),
            std::string::npos)
      << message;
}

TEST(HfConfigTest, EpsilonsWindowsHeadSizesAndTiesThatTransformersReadsAreWritten) {
  const ModelFamily& mistral = GetModelFamily("mistral");
  DecoderBlueprint b = mistral.GetArchConfig("7b")->ToBlueprint();
  b.norm.eps = 1e-6;
  b.attention.sliding_window.reset();
  b.attention.head_dim = 64;
  b.tied_embeddings = true;
  const std::string text = FormatHfConfig(mistral, b, c10::kFloat, "/out");
  const Json json = Json::parse(text);
  EXPECT_EQ(json["rms_norm_eps"], 1e-6);
  EXPECT_TRUE(json["sliding_window"].is_null());
  EXPECT_EQ(json["head_dim"], 64);
  EXPECT_EQ(json["tie_word_embeddings"], true);
  EXPECT_EQ(DescribeDifference(b, ParseHfConfig(text, "/out").config->ToBlueprint()), "");

  const ModelFamily& qwen = GetModelFamily("qwen");
  DecoderBlueprint q = qwen.GetArchConfig("qwen25_7b")->ToBlueprint();
  q.norm.eps = 1e-5;
  EXPECT_EQ(Json::parse(FormatHfConfig(qwen, q, c10::kFloat, "/out"))["rms_norm_eps"], 1e-5);
}

// What ParseHfConfig refuses `json` with: the reason of the
// CorruptModelCheckpointError, whose path must be /x/config.json.
std::string Refused(const std::string& json) {
  const std::string what =
      testing::ErrorOf<CorruptModelCheckpointError>([&] { ParseHfConfig(json, "/x/config.json"); });
  const std::string prefix = "/x/config.json: corrupt model checkpoint: ";
  EXPECT_EQ(what.rfind(prefix, 0), 0u) << what;
  return what.substr(std::min(prefix.size(), what.size()));
}

// The model `json` describes.
DecoderBlueprint Read(const std::string& json) {
  return ParseHfConfig(json, "/x/config.json").config->ToBlueprint();
}

// Mistral-7B-v0.2's and v0.3's config.json, as published (v0.3's vocabulary).
constexpr const char* kMistral7bV03 = R"({
  "architectures": ["MistralForCausalLM"],
  "attention_dropout": 0.0,
  "bos_token_id": 1,
  "eos_token_id": 2,
  "hidden_act": "silu",
  "hidden_size": 4096,
  "initializer_range": 0.02,
  "intermediate_size": 14336,
  "max_position_embeddings": 32768,
  "model_type": "mistral",
  "num_attention_heads": 32,
  "num_hidden_layers": 32,
  "num_key_value_heads": 8,
  "rms_norm_eps": 1e-05,
  "rope_theta": 1000000.0,
  "sliding_window": null,
  "tie_word_embeddings": false,
  "torch_dtype": "bfloat16",
  "transformers_version": "4.42.0.dev0",
  "use_cache": true,
  "vocab_size": 32768
})";

TEST(HfConfigTest, MistralV03WithANullSlidingWindowHasNoWindow) {
  const DecoderBlueprint b = Read(kMistral7bV03);
  EXPECT_EQ(b.family, "mistral");
  EXPECT_FALSE(b.attention.sliding_window.has_value());
  EXPECT_EQ(b.vocab_size, 32768);
  EXPECT_EQ(b.max_seq_len, 32768);
  EXPECT_EQ(b.rope.theta, 1e6);
  EXPECT_EQ(b.norm.eps, 1e-5);
  EXPECT_EQ(b.HeadDim(), 128);
  // v0.1's window stays a window.
  EXPECT_EQ(Read(R"({"model_type": "mistral", "sliding_window": 4096})").attention.sliding_window,
            4096);
}

TEST(HfConfigTest, AnyRmsNormEpsilonIsRead) {
  EXPECT_EQ(Read(R"({"model_type": "mistral", "rms_norm_eps": 1e-06})").norm.eps, 1e-6);
  EXPECT_EQ(Read(R"({"model_type": "qwen2", "rms_norm_eps": 1e-05})").norm.eps, 1e-5);
  EXPECT_EQ(Read(R"({"model_type": "qwen3", "rms_norm_eps": 3e-06})").norm.eps, 3e-6);
  EXPECT_EQ(Read(R"({"model_type": "llama", "rms_norm_eps": 1e-06})").norm.eps, 1e-6);
  // JSON writers may drop ".0": an integer is a number too.
  EXPECT_EQ(Read(R"({"model_type": "llama", "rope_theta": 1000000})").rope.theta, 1e6);
  EXPECT_EQ(Refused(R"({"model_type": "mistral", "rms_norm_eps": 0})"),
            "config.json key 'rms_norm_eps' must be a positive number, not 0");
}

TEST(HfConfigTest, MistralReadsTiesAndHeadSizes) {
  const DecoderBlueprint b = Read(
      R"({"model_type": "mistral", "tie_word_embeddings": true, "head_dim": 128,
          "hidden_size": 5120, "num_attention_heads": 32})");
  EXPECT_TRUE(b.tied_embeddings);
  EXPECT_EQ(b.HeadDim(), 128);  // Mistral Nemo: not 5120 / 32
  // transformers' MistralConfig does not require heads to divide hidden_size
  // when head_dim is given.
  EXPECT_EQ(Read(R"({"model_type": "mistral", "head_dim": 16, "hidden_size": 100,
                     "num_attention_heads": 8})")
                .HeadDim(),
            16);
  EXPECT_EQ(Read(R"({"model_type": "llama", "head_dim": 64})").HeadDim(), 64);
}

TEST(HfConfigTest, NumbersWrittenAsStringsAndOtherTypesAreRefused) {
  EXPECT_EQ(Refused(R"({"model_type": "llama", "hidden_size": "4096"})"),
            "config.json key 'hidden_size' must be an integer, not \"4096\"");
  EXPECT_EQ(Refused(R"({"model_type": "llama", "hidden_size": 4096.0})"),
            "config.json key 'hidden_size' must be an integer, not 4096.0");
  EXPECT_EQ(Refused(R"({"model_type": "llama", "num_hidden_layers": true})"),
            "config.json key 'num_hidden_layers' must be an integer, not true");
  EXPECT_EQ(Refused(R"({"model_type": "qwen2", "vocab_size": null})"),
            "config.json key 'vocab_size' must be an integer, not null");
  EXPECT_EQ(Refused(R"({"model_type": "qwen2", "intermediate_size": 0})"),
            "config.json key 'intermediate_size' must be a positive integer, not 0");
  EXPECT_EQ(Refused(R"({"model_type": "mistral", "sliding_window": -1})"),
            "config.json key 'sliding_window' must be a positive integer, not -1");
  EXPECT_EQ(Refused(R"({"model_type": "mistral", "rope_theta": "1e6"})"),
            "config.json key 'rope_theta' must be a number, not \"1e6\"");
  EXPECT_EQ(Refused(R"({"model_type": "qwen2", "tie_word_embeddings": "true"})"),
            "config.json key 'tie_word_embeddings' must be true or false, not \"true\"");
  EXPECT_EQ(Refused(R"({"model_type": "llama", "tie_word_embeddings": 1})"),
            "config.json key 'tie_word_embeddings' must be true or false, not 1");
  EXPECT_EQ(Refused(R"({"model_type": "llama", "hidden_act": null})"),
            "config.json key 'hidden_act' must be a string, not null");
  EXPECT_EQ(Refused(R"({"model_type": "llama", "rope_scaling": [8.0]})"),
            "config.json key 'rope_scaling' must be an object, not an array");
  EXPECT_EQ(Refused(R"({"model_type": "llama", "hidden_size": 18446744073709551615})"),
            "config.json key 'hidden_size' must be an integer below 2^63, not "
            "18446744073709551615");
}

TEST(HfConfigTest, HeadDimMustBeAPositiveIntegerWhenGiven) {
  for (const char* bad : {"0", "-1", "\"x\"", "[]", "{}", "64.0", "true"}) {
    const std::string reason =
        Refused(std::string(R"({"model_type": "qwen3", "head_dim": )") + bad + "}");
    EXPECT_EQ(reason.rfind("config.json key 'head_dim' must be a", 0), 0u) << bad << ": " << reason;
  }
  // Null is "hidden_size / num_attention_heads" where the class allows it...
  EXPECT_EQ(Read(R"({"model_type": "mistral", "head_dim": null, "hidden_size": 256,
                     "num_attention_heads": 8})")
                .HeadDim(),
            32);
  EXPECT_EQ(Read(R"({"model_type": "qwen2", "head_dim": null, "hidden_size": 256,
                     "num_attention_heads": 8, "num_key_value_heads": 2})")
                .HeadDim(),
            32);
  // ...but Qwen3Config types head_dim int (default 128).
  EXPECT_EQ(Refused(R"({"model_type": "qwen3", "head_dim": null})"),
            "config.json key 'head_dim' must be an integer, not null");
  EXPECT_EQ(Refused(R"({"model_type": "mistral", "head_dim": 9})"),
            "head_dim 9 must be even for rotary embeddings");
}

TEST(HfConfigTest, DerivedHeadSizesNameTheKeysTheyComeFrom) {
  EXPECT_EQ(Refused(R"({"model_type": "qwen2", "hidden_size": 72, "num_attention_heads": 8,
                        "num_key_value_heads": 4})"),
            "head_dim 9 (hidden_size 72 / num_attention_heads 8) must be even for rotary "
            "embeddings");
  // Values config.json leaves to the arch preset are named as the preset's.
  EXPECT_EQ(Refused(R"({"model_type": "llama", "hidden_size": 288})"),
            "head_dim 9 (hidden_size 288 / arch llama3_8b's num_attention_heads 32) must be even "
            "for rotary embeddings");
  EXPECT_EQ(Refused(R"({"model_type": "mistral", "hidden_size": 100, "num_attention_heads": 8})"),
            "head_dim is not given and hidden_size 100 / num_attention_heads 8 is not an integer");
  EXPECT_EQ(Refused(R"({"model_type": "qwen3", "num_attention_heads": 6})"),
            "num_attention_heads 6 is not divisible by arch qwen3_8b's num_key_value_heads 8");
  // LlamaConfig itself requires heads to divide hidden_size, head_dim or not.
  EXPECT_EQ(Refused(R"({"model_type": "llama", "hidden_size": 100, "num_attention_heads": 8,
                        "head_dim": 16})"),
            "config.json key 'hidden_size' does not fit LLaMAConfig.model_dim: 100 is not "
            "divisible by num_attn_heads (8)");
}

TEST(HfConfigTest, NullsMeanWhatTheyMeanInTransformers) {
  // LlamaConfig and Qwen2Config: num_key_value_heads None is num_attention_heads.
  const DecoderBlueprint llama =
      Read(R"({"model_type": "llama", "num_attention_heads": 16, "num_key_value_heads": null})");
  EXPECT_EQ(llama.attention.num_kv_heads, 16);
  // MistralConfig types it int.
  EXPECT_EQ(Refused(R"({"model_type": "mistral", "num_key_value_heads": null})"),
            "config.json key 'num_key_value_heads' must be an integer, not null");
  EXPECT_FALSE(Read(R"({"model_type": "llama", "rope_scaling": null})").rope.llama3_scaling);
}

TEST(HfConfigTest, RopeSettingsReadAsTransformersReadsThem) {
  // transformers 5 writes rope_parameters instead of rope_theta and rope_scaling.
  const DecoderBlueprint v5 = Read(
      R"({"model_type": "llama", "rope_parameters": {"rope_type": "llama3", "rope_theta": 500000.0,
          "factor": 32.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
          "original_max_position_embeddings": 8192}})");
  EXPECT_EQ(v5.rope.theta, 500000.0);
  ASSERT_TRUE(v5.rope.llama3_scaling);
  EXPECT_EQ(v5.rope.llama3_scaling->factor, 32.0);
  const DecoderBlueprint plain = Read(
      R"({"model_type": "mistral", "rope_parameters": {"rope_type": "default",
          "rope_theta": 1000000.0}})");
  EXPECT_EQ(plain.rope.theta, 1e6);
  // rope_scaling's legacy "type": linear scaling is not llama3's.
  EXPECT_EQ(
      Refused(R"({"model_type": "llama", "rope_scaling": {"type": "linear", "factor": 2.0}})"),
      "config.json key 'rope_scaling.rope_type' is \"linear\", but model family 'llama' "
      "supports only llama3");
  EXPECT_FALSE(Read(R"({"model_type": "qwen2", "rope_scaling": {"rope_type": "default"}})")
                   .rope.llama3_scaling);
  // ACT2FN["swish"] is SiLU.
  EXPECT_EQ(Read(R"({"model_type": "qwen2", "hidden_act": "swish"})").family, "qwen");
  EXPECT_EQ(Refused(R"({"model_type": "qwen2", "hidden_act": "gelu"})"),
            "config.json key 'hidden_act' is \"gelu\", but model family 'qwen' supports only "
            "silu");
}

// Only the keys transformers types are copied out of config.json: a deeply
// nested value elsewhere is neither copied nor printed (recursion).
TEST(HfConfigTest, DeeplyNestedValuesAreNeitherCopiedNorPrinted) {
  const std::string deep = std::string(100000, '[') + std::string(100000, ']');
  EXPECT_EQ(Read(R"({"model_type": "mistral", "hidden_size": 256, "num_attention_heads": 8,
                     "auto_map": )" +
                 deep + "}")
                .HeadDim(),
            32);
  EXPECT_EQ(Refused(R"({"model_type": "mistral", "rope_scaling": )" + deep + "}"),
            "config.json key 'rope_scaling' must be an object, not an array");
}

// No key a spec reads or requires turns the string "1" into a number or a flag.
// A config.json past the size limit is refused before it is parsed; a
// missing one names the file.
TEST(HfConfigTest, FilesAreBoundedInSizeAndNamed) {
  const char* tmp = std::getenv("TEST_TMPDIR");
  const std::string dir = tmp != nullptr ? tmp : "/tmp";
  const std::string path = dir + "/config.json";
  {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    out << "{\"model_type\": \"llama\"" << std::string(kMaxHfConfigBytes, ' ') << "}";
  }
  const std::string big =
      testing::ErrorOf<CorruptModelCheckpointError>([&] { ReadHfConfig(path); });
  EXPECT_NE(big.find(path), std::string::npos) << big;
  EXPECT_NE(big.find("config.json is larger than 16777216 bytes"), std::string::npos) << big;
  const std::string missing = testing::ErrorOf<CorruptModelCheckpointError>(
      [&] { ReadHfConfig(dir + "/absent/config.json"); });
  EXPECT_NE(missing.find("cannot read config.json"), std::string::npos) << missing;
}

// nlohmann reports a number too large for a double as out_of_range, not as a
// parse error (found by the hf_config fuzzer): still invalid JSON, named.
TEST(HfConfigTest, NumbersTooLargeForADoubleAreInvalidJson) {
  const std::string error = testing::ErrorOf<CorruptModelCheckpointError>(
      [] { ParseHfConfig(R"({"model_type": "llama", "rms_norm_eps": 1e310})", "/x/config.json"); });
  EXPECT_NE(error.find("/x/config.json: corrupt model checkpoint: invalid JSON: "),
            std::string::npos)
      << error;
  EXPECT_NE(error.find("number overflow"), std::string::npos) << error;
}

TEST(HfConfigTest, EveryKeyASpecReadsIsTyped) {
  int keys = 0;
  for (const ModelFamily* family : ListModelFamilies()) {
    const HfConfigTable& table = family->hf_config();
    std::set<std::string> names;
    for (const HfConfigRule& rule : table.rules) names.insert(rule.keys.begin(), rule.keys.end());
    for (const HfRequirement& requirement : table.requirements) names.insert(requirement.key);
    for (const std::string& name : names) {
      Json json = {{"model_type", table.model_types.front().model_type}};
      Json* node = &json;
      const size_t dot = name.find('.');
      if (dot != std::string::npos) node = &(json[name.substr(0, dot)] = Json::object());
      (*node)[name.substr(dot == std::string::npos ? 0 : dot + 1)] = "1";
      const std::string reason = Refused(json.dump());
      EXPECT_NE(reason.find("'" + name + "'"), std::string::npos) << reason;
      ++keys;
    }
  }
  EXPECT_GE(keys, 30);
}

TEST(HfConfigTest, DtypesWithoutATorchDtypeNameAreRefused) {
  const ModelFamily& mistral = GetModelFamily("mistral");
  EXPECT_EQ(Refusal(mistral, mistral.GetArchConfig("7b")->ToBlueprint(), c10::kLong),
            "cannot save a checkpoint to /out: config.json's torch_dtype cannot name dtype Long "
            "(use float32, bfloat16, float16 or float64)");
}

// The keys of the model types added as specs alone, written under the names
// their transformers classes read.
TEST(HfConfigTest, NewModelTypesWriteTheKeysTheirClassesRead) {
  const Json gemma2 = Written("gemma2", "gemma2_27b");
  EXPECT_EQ(gemma2["architectures"], Json::array({"Gemma2ForCausalLM"}));
  EXPECT_EQ(gemma2["hidden_activation"], "gelu_pytorch_tanh");
  EXPECT_FALSE(gemma2.contains("hidden_act"));
  EXPECT_TRUE(gemma2["query_pre_attn_scalar"].is_number_integer());  // transformers types it int
  EXPECT_EQ(gemma2["query_pre_attn_scalar"], 144);
  EXPECT_EQ(gemma2["attn_logit_softcapping"], 50.0);
  EXPECT_EQ(gemma2["final_logit_softcapping"], 30.0);
  EXPECT_EQ(gemma2["sliding_window"], 4096);
  EXPECT_EQ(gemma2["head_dim"], 128);
  EXPECT_FALSE(gemma2.contains("sliding_window_pattern"));  // always alternate in Gemma 2

  const Json gemma3 = Written("gemma3", "gemma3_4b");
  EXPECT_EQ(gemma3["model_type"], "gemma3_text");
  EXPECT_EQ(gemma3["rope_scaling"], (Json{{"rope_type", "linear"}, {"factor", 8.0}}));
  EXPECT_EQ(gemma3["rope_local_base_freq"], 10000.0);
  EXPECT_EQ(gemma3["sliding_window_pattern"], 6);
  EXPECT_TRUE(gemma3["final_logit_softcapping"].is_null());
  EXPECT_TRUE(Written("gemma3", "gemma3_1b")["rope_scaling"].is_null());

  const Json gemma = Written("gemma", "gemma_2b");
  EXPECT_EQ(gemma["hidden_act"], "gelu_pytorch_tanh");
  EXPECT_EQ(gemma["num_key_value_heads"], 1);

  const Json starcoder2 = Written("starcoder2", "starcoder2_15b");
  EXPECT_EQ(starcoder2["norm_epsilon"], 1e-5);
  EXPECT_FALSE(starcoder2.contains("rms_norm_eps"));
  EXPECT_EQ(starcoder2["use_bias"], true);
  EXPECT_FALSE(starcoder2.contains("attention_bias"));
  EXPECT_EQ(starcoder2["tie_word_embeddings"], false);

  const Json granite = Written("granite", "granite3_2b");
  EXPECT_EQ(granite["embedding_multiplier"], 12.0);
  EXPECT_EQ(granite["residual_multiplier"], 0.22);
  EXPECT_EQ(granite["attention_multiplier"], 0.015625);
  EXPECT_EQ(granite["logits_scaling"], 8.0);
  EXPECT_FALSE(Written("llama", "llama3_8b").contains("embedding_multiplier"));

  const Json olmo2 = Written("olmo2", "olmo2_13b");
  EXPECT_EQ(olmo2["architectures"], Json::array({"Olmo2ForCausalLM"}));
  EXPECT_EQ(olmo2["hidden_act"], "silu");
}

TEST(HfConfigTest, NewModelTypesReadTheirKeysAndRefuseWhatTheyCannotBuild) {
  const DecoderBlueprint gemma3 = Read(
      R"({"model_type": "gemma3_text", "num_hidden_layers": 12, "sliding_window_pattern": 4,
          "rope_local_base_freq": 20000.0, "rope_scaling": {"rope_type": "linear", "factor": 4},
          "hidden_activation": "gelu"})");
  EXPECT_EQ(gemma3.attention.sliding_window_pattern, 4);
  EXPECT_EQ(gemma3.rope.local_theta, 20000.0);
  EXPECT_EQ(gemma3.rope.linear_factor, 4.0);
  EXPECT_EQ(gemma3.ffn.activation, "gelu");
  EXPECT_FALSE(gemma3.attention.logit_softcap);  // Gemma 3 never soft-caps attention
  EXPECT_EQ(Refused(R"({"model_type": "gemma3_text",
                        "rope_scaling": {"rope_type": "yarn", "factor": 4}})"),
            "config.json key 'rope_scaling.rope_type' is \"yarn\", but model family 'gemma3' "
            "supports only linear");
  EXPECT_EQ(Refused(R"({"model_type": "gemma2", "hidden_activation": "relu"})"),
            "config.json key 'hidden_activation' does not fit Gemma2Config.hidden_act: expected "
            "one of gelu_pytorch_tanh, gelu, got the string \"relu\"");
  const DecoderBlueprint uncapped = Read(
      R"({"model_type": "gemma2", "attn_logit_softcapping": null,
          "final_logit_softcapping": null, "query_pre_attn_scalar": 224})");
  EXPECT_FALSE(uncapped.attention.logit_softcap);
  EXPECT_FALSE(uncapped.logits.softcap);
  EXPECT_EQ(uncapped.AttentionScale(), 1 / std::sqrt(224.0));

  const DecoderBlueprint starcoder2 = Read(
      R"({"model_type": "starcoder2", "norm_epsilon": 1e-6, "use_bias": false,
          "sliding_window": null})");
  EXPECT_EQ(starcoder2.norm.eps, 1e-6);
  EXPECT_FALSE(starcoder2.attention.qkv_bias || starcoder2.attention.output_bias ||
               starcoder2.ffn.bias);
  EXPECT_FALSE(starcoder2.attention.sliding_window);
  EXPECT_EQ(Refused(R"({"model_type": "granite", "logits_scaling": 0})"),
            "config.json key 'logits_scaling' must be a positive number, not 0");
}

// Phi-3: the 4K models have no rope_scaling; the 128K ones a LongRoPE with
// one factor per rotated pair (legacy type "su" included) and the original
// length at config.json's top level; Phi-4 mini rotates part of each head.
TEST(HfConfigTest, Phi3ReadsAndWritesLongRopeAndPartialRotary) {
  const Json mini = Written("phi3", "phi3_mini_128k");
  EXPECT_EQ(mini["model_type"], "phi3");
  EXPECT_EQ(mini["architectures"], Json::array({"Phi3ForCausalLM"}));
  EXPECT_EQ(mini["original_max_position_embeddings"], 4096);
  EXPECT_EQ(mini["rope_scaling"]["type"], "longrope");
  EXPECT_EQ(mini["rope_scaling"].size(), 3u);  // what transformers 4.4x's Phi3Config accepts
  EXPECT_EQ(mini["rope_scaling"]["long_factor"].size(), 48u);
  EXPECT_EQ(mini["sliding_window"], 262144);
  EXPECT_EQ(mini["partial_rotary_factor"], 1.0);
  EXPECT_FALSE(mini.contains("head_dim"));  // Phi3Config has none
  EXPECT_TRUE(Written("phi3", "phi3_mini_4k")["rope_scaling"].is_null());
  EXPECT_EQ(Written("phi3", "phi4_mini")["partial_rotary_factor"], 0.75);

  std::vector<double> factors(16, 1.0);  // hidden 1024 / 16 heads: 64 features, 32 rotated
  const std::string lists =
      Json{{"short_factor", factors}, {"long_factor", Json(factors)}}.dump().substr(1);
  const DecoderBlueprint su = Read(
      R"({"model_type": "phi3", "hidden_size": 1024, "num_attention_heads": 16,
          "num_key_value_heads": 16, "partial_rotary_factor": 0.5, "max_position_embeddings": 8192,
          "original_max_position_embeddings": 2048, "rope_scaling": {"type": "su", )" +
      lists + "}");
  ASSERT_TRUE(su.rope.longrope_scaling.has_value());
  EXPECT_EQ(su.RotaryDim(), 32);
  EXPECT_EQ(su.rope.longrope_scaling->original_context_length, 2048);
  EXPECT_EQ(su.rope.longrope_scaling->long_factors, factors);
  const DecoderBlueprint plain = Read(R"({"model_type": "phi3", "rope_scaling": null})");
  EXPECT_FALSE(plain.rope.longrope_scaling.has_value());
  EXPECT_EQ(plain.attention.sliding_window, 2047);

  EXPECT_EQ(Refused(R"({"model_type": "phi3", "rope_scaling": {"type": "longrope",
                        "short_factor": [1, 2], "long_factor": [1, 2]}})"),
            "config.json key 'rope_scaling.short_factor' gives a phi3 decoder whose "
            "rope.scaling.short_factors must have one factor per rotated pair of features (48: "
            "rotary dim 96 / 2), has 2");
  EXPECT_EQ(Refused(R"({"model_type": "phi3", "rope_scaling": {"type": "longrope",
                        "short_factor": [1, "2"], "long_factor": [1, 2]}})"),
            "config.json key 'rope_scaling.short_factor' must be a list of positive numbers, but "
            "item 1 is \"2\"");
  EXPECT_EQ(Refused(R"({"model_type": "phi3", "rope_scaling": {"type": "yarn", "factor": 4}})"),
            "config.json key 'rope_scaling.rope_type' is \"yarn\", but model family 'phi3' "
            "supports only longrope");
  EXPECT_EQ(Refused(R"({"model_type": "phi3", "attention_bias": true})"),
            "config.json key 'attention_bias' is true, but model family 'phi3' supports only "
            "false");
}

// transformers 4.53+ reads layer_types first: one that disagrees with the
// pattern the model follows is refused, naming the layer.
TEST(HfConfigTest, LayerTypesMustAgreeWithTheSlidingWindowPattern) {
  const std::string agreeing =
      R"({"model_type": "gemma2", "num_hidden_layers": 3, "layer_types":
          ["sliding_attention", "full_attention", "sliding_attention"]})";
  EXPECT_EQ(Read(agreeing).num_layers, 3);
  EXPECT_EQ(Refused(R"({"model_type": "gemma2", "num_hidden_layers": 3, "layer_types":
                        ["sliding_attention", "sliding_attention", "sliding_attention"]})"),
            "config.json key 'layer_types' gives layer 1 \"sliding_attention\", but "
            "sliding_window_pattern 2 makes it full_attention");
  EXPECT_EQ(Refused(R"({"model_type": "gemma3_text", "num_hidden_layers": 3,
                        "layer_types": ["full_attention"]})"),
            "config.json key 'layer_types' must list the type of each of the 3 layers");
}

}  // namespace
}  // namespace modelhub
