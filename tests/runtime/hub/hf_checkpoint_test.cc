// Loads checkpoints written in Hugging Face layout (config.json, safetensors
// shards, index) with no card, and checks the logits against an independent
// implementation of the Hugging Face models (tests/testing/hf_reference).

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <utility>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/formats/safetensors.h"
#include "runtime/hub/checkpoint_loader.h"
#include "runtime/hub/hf_config.h"
#include "tests/testing/error_of.h"
#include "tests/testing/hf_reference.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using testing::HfConfig;

fs::path FreshDir(const std::string& name) {
  fs::path dir = fs::path(::testing::TempDir()) / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void WriteText(const fs::path& path, const std::string& text) { std::ofstream(path) << text; }

// Writes `state` as a two-shard Hugging Face checkpoint with config.json.
fs::path WriteHfCheckpoint(const std::string& name, const HfConfig& config,
                           const std::map<std::string, at::Tensor>& state) {
  fs::path dir = FreshDir(name);
  std::vector<std::pair<std::string, at::Tensor>> shards[2];
  std::string weight_map;
  int i = 0;
  for (const auto& [key, tensor] : state) {
    const int shard = i++ % 2;
    shards[shard].emplace_back(key, tensor);
    weight_map += (weight_map.empty() ? "" : ", ") + ("\"" + key + "\": \"model-0000") +
                  std::to_string(shard + 1) + "-of-00002.safetensors\"";
  }
  for (int s = 0; s < 2; ++s) {
    WriteSafetensors(
        (dir / ("model-0000" + std::to_string(s + 1) + "-of-00002.safetensors")).string(),
        shards[s]);
  }
  WriteText(dir / "model.safetensors.index.json",
            "{\"metadata\": {\"total_size\": 0}, \"weight_map\": {" + weight_map + "}}");
  WriteText(dir / "config.json", testing::ToConfigJson(config));
  return dir;
}

// Loads `dir` through config.json and returns the logits for `ids`.
at::Tensor ModelhubLogits(const fs::path& dir, const at::Tensor& ids, bool mmap = false) {
  HfModelConfig hf = ReadHfConfig((dir / "config.json").string());
  LoadOptions options;
  options.mmap = mmap;
  options.progress = false;
  std::shared_ptr<DecoderModel> model =
      LoadCheckpoint(*hf.family, *hf.config, dir.string(), ModelPlacement{}, options);
  c10::InferenceMode inference;
  return model->forward(ids);
}

at::Tensor Ids(int64_t vocab, int64_t batch, int64_t length, uint64_t seed) {
  at::Generator generator = at::detail::createCPUGenerator(seed);
  return at::randint(0, vocab, {batch, length}, generator, at::TensorOptions().dtype(at::kLong));
}

// Loads a Hugging Face folder of `config` (weights seeded 7) and expects the
// reference's logits on `length` tokens; returns modelhub's logits and the ids.
std::pair<at::Tensor, at::Tensor> ExpectMatchesReference(const std::string& name,
                                                         const HfConfig& config, int64_t length) {
  const std::map<std::string, at::Tensor> state = testing::MakeHfStateDict(config, 7);
  const fs::path dir = WriteHfCheckpoint(name, config, state);
  const at::Tensor ids = Ids(config.vocab_size, 2, length, 11);
  const at::Tensor expected = testing::HfReferenceLogits(config, state, ids);
  at::Tensor actual;
  for (bool mmap : {false, true}) {
    actual = ModelhubLogits(dir, ids, mmap);
    EXPECT_EQ(actual.sizes(), expected.sizes());
    if (actual.sizes() != expected.sizes()) break;
    const double max_error = (actual - expected).abs().max().item<double>();
    const double scale = expected.abs().max().item<double>();
    EXPECT_LE(max_error, 1e-4 * scale) << name << " (mmap " << mmap << ")";
    EXPECT_TRUE(at::equal(actual.argmax(-1), expected.argmax(-1))) << name << ": greedy tokens";
  }
  return {actual, ids};
}

// The largest difference between `a` and `b` relative to `b`'s largest value.
double RelativeDifference(const at::Tensor& a, const at::Tensor& b) {
  return (a - b).abs().max().item<double>() / b.abs().max().item<double>();
}

TEST(HfCheckpointTest, LlamaWithLlama3RopeScalingMatchesHuggingFace) {
  // 40 positions pass original_max_position_embeddings (32): every scaling regime.
  ExpectMatchesReference("llama", testing::TinyLlama3Config(), 40);
}

TEST(HfCheckpointTest, Qwen2WithBiasesAndTiedEmbeddingsMatchesHuggingFace) {
  ExpectMatchesReference("qwen2", testing::TinyQwen2Config(), 12);
}

TEST(HfCheckpointTest, Qwen3WithQkNormAndOwnHeadDimMatchesHuggingFace) {
  ExpectMatchesReference("qwen3", testing::TinyQwen3Config(), 12);
}

TEST(HfCheckpointTest, MistralWithSlidingWindowMatchesHuggingFace) {
  // Window 4, 12 positions: the window cuts off most of the context.
  ExpectMatchesReference("mistral", testing::TinyMistralConfig(), 12);
}

// The architectures added as spec files alone; each tiny config exercises
// every setting of its model type (see tests/testing/hf_reference.h), on
// sequences longer than its sliding window.
TEST(HfCheckpointTest, GemmaWithGeluScaledEmbeddingsAndUnitOffsetNormsMatchesHuggingFace) {
  ExpectMatchesReference("gemma", testing::TinyGemmaConfig(), 12);
}

TEST(HfCheckpointTest, Gemma2WithSandwichNormsSoftCapsAndAlternateWindowsMatchesHuggingFace) {
  const HfConfig config = testing::TinyGemma2Config();
  const auto [logits, ids] = ExpectMatchesReference("gemma2", config, 12);
  // The caps clip: without them the same weights give other logits.
  HfConfig uncapped = config;
  uncapped.attn_logit_softcapping.reset();
  uncapped.final_logit_softcapping.reset();
  const std::map<std::string, at::Tensor> state = testing::MakeHfStateDict(config, 7);
  EXPECT_GT(RelativeDifference(logits, testing::HfReferenceLogits(uncapped, state, ids)), 1e-2);
}

TEST(HfCheckpointTest, Gemma3WithLocalAndGlobalLayersMatchesHuggingFace) {
  ExpectMatchesReference("gemma3", testing::TinyGemma3Config(), 12);
}

TEST(HfCheckpointTest, Olmo2WithPostNormsAndWholeWidthQkNormsMatchesHuggingFace) {
  ExpectMatchesReference("olmo2", testing::TinyOlmo2Config(), 12);
}

TEST(HfCheckpointTest, GraniteWithItsMultipliersMatchesHuggingFace) {
  ExpectMatchesReference("granite", testing::TinyGraniteConfig(), 12);
}

TEST(HfCheckpointTest, Starcoder2WithLayerNormsBiasesAndWindowMatchesHuggingFace) {
  ExpectMatchesReference("starcoder2", testing::TinyStarcoder2Config(), 12);
}

// Mistral 7B v0.2 and v0.3 publish "sliding_window": null: full causal
// attention, as transformers reads it (they were refused before).
TEST(HfCheckpointTest, MistralWithANullSlidingWindowMatchesHuggingFace) {
  HfConfig config = testing::TinyMistralConfig();
  config.sliding_window.reset();
  const auto [logits, ids] = ExpectMatchesReference("mistral_no_window", config, 12);
  // Really no window: the same weights with v0.1's window of 4 give other logits.
  const std::map<std::string, at::Tensor> state = testing::MakeHfStateDict(config, 7);
  const at::Tensor windowed = testing::HfReferenceLogits(testing::TinyMistralConfig(), state, ids);
  EXPECT_GT(RelativeDifference(logits, windowed), 1e-2);
}

// transformers reads any rms_norm_eps for Mistral (only 1e-5 was accepted).
TEST(HfCheckpointTest, MistralWithAnyRmsNormEpsilonMatchesHuggingFace) {
  HfConfig config = testing::TinyMistralConfig();
  config.rms_norm_eps = 1e-6;
  ExpectMatchesReference("mistral_eps_1e-6", config, 12);
  // An epsilon large enough to change the logits shows that it is the one used.
  config.rms_norm_eps = 0.5;
  const auto [logits, ids] = ExpectMatchesReference("mistral_eps_0.5", config, 12);
  const std::map<std::string, at::Tensor> state = testing::MakeHfStateDict(config, 7);
  EXPECT_GT(RelativeDifference(
                logits, testing::HfReferenceLogits(testing::TinyMistralConfig(), state, ids)),
            1e-2);
}

// MistralConfig's tie_word_embeddings and head_dim (Mistral Nemo's head_dim is
// not hidden_size / heads) were refused or ignored.
TEST(HfCheckpointTest, MistralWithTiedEmbeddingsAndItsOwnHeadDimMatchesHuggingFace) {
  HfConfig config = testing::TinyMistralConfig();
  config.tie_word_embeddings = true;
  config.head_dim = 32;  // not 64 / 4
  config.sliding_window.reset();
  ExpectMatchesReference("mistral_tied_head_dim", config, 12);
}

TEST(HfCheckpointTest, ConfigJsonPicksFamilyArchAndFields) {
  const fs::path dir = FreshDir("config_only");
  WriteText(dir / "config.json", testing::ToConfigJson(testing::TinyQwen3Config()));
  HfModelConfig hf = ReadHfConfig((dir / "config.json").string());
  EXPECT_EQ(hf.family->name(), "qwen");
  EXPECT_EQ(hf.model_type, "qwen3");
  EXPECT_EQ(hf.arch, "qwen3_8b");
  const YAML::Node yaml = hf.config->ToYaml();
  EXPECT_EQ(yaml["model_dim"].as<int64_t>(), 64);
  EXPECT_EQ(yaml["head_dim"].as<int64_t>(), 32);
  EXPECT_TRUE(yaml["q_norm"].as<bool>());
  EXPECT_FALSE(yaml["qkv_proj_bias"].as<bool>());
  EXPECT_TRUE(yaml["tied_embeddings"].as<bool>());
}

// The message of the CorruptModelCheckpointError that `json` raises.
std::string ConfigError(const std::string& json) {
  return testing::ErrorOf<CorruptModelCheckpointError>(
      [&] { ParseHfConfig(json, "/x/config.json"); });
}

TEST(HfCheckpointTest, BadConfigJsonIsReportedWithTheKey) {
  const std::string prefix = "/x/config.json: corrupt model checkpoint: ";
  EXPECT_NE(ConfigError("{\"model_type\": ").find(prefix + "invalid JSON at byte"),
            std::string::npos);
  EXPECT_NE(ConfigError("{\"model_type\": \"gpt2\"}").find("model_type 'gpt2'"), std::string::npos);
  EXPECT_NE(ConfigError("{}").find("no string 'model_type'"), std::string::npos);
  EXPECT_EQ(ConfigError("{\"model_type\": \"qwen2\", \"hidden_act\": \"gelu\"}"),
            prefix +
                "config.json key 'hidden_act' is \"gelu\", but model family 'qwen' supports "
                "only silu");
  EXPECT_EQ(ConfigError("{\"model_type\": \"llama\", \"hidden_size\": \"wide\"}"),
            prefix + "config.json key 'hidden_size' must be an integer, not \"wide\"");
  EXPECT_EQ(ConfigError("{\"model_type\": \"mistral\", \"sliding_window\": \"4096\"}"),
            prefix + "config.json key 'sliding_window' must be an integer, not \"4096\"");
  EXPECT_EQ(ConfigError("{\"model_type\": \"llama\", \"num_attention_heads\": 7}"),
            prefix +
                "num_attention_heads 7 is not divisible by arch llama3_8b's "
                "num_key_value_heads 8");
  const std::string scaling = ConfigError(
      "{\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}");
  EXPECT_NE(scaling.find("'rope_scaling.rope_type' is \"yarn\""), std::string::npos) << scaling;
}

}  // namespace
}  // namespace modelhub
