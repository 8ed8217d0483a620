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

#include "runtime/checkpoint/safetensors.h"
#include "runtime/core/errors.h"
#include "runtime/hub/checkpoint_loader.h"
#include "runtime/hub/hf_config.h"
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

void ExpectMatchesReference(const std::string& name, const HfConfig& config, int64_t length) {
  const std::map<std::string, at::Tensor> state = testing::MakeHfStateDict(config, 7);
  const fs::path dir = WriteHfCheckpoint(name, config, state);
  const at::Tensor ids = Ids(config.vocab_size, 2, length, 11);
  const at::Tensor expected = testing::HfReferenceLogits(config, state, ids);
  for (bool mmap : {false, true}) {
    const at::Tensor actual = ModelhubLogits(dir, ids, mmap);
    ASSERT_EQ(actual.sizes(), expected.sizes());
    const double max_error = (actual - expected).abs().max().item<double>();
    const double scale = expected.abs().max().item<double>();
    EXPECT_LE(max_error, 1e-4 * scale) << name << " (mmap " << mmap << ")";
  }
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
  try {
    ParseHfConfig(json, "/x/config.json");
  } catch (const CorruptModelCheckpointError& e) {
    EXPECT_EQ(e.path(), "/x/config.json");
    return e.what();
  }
  return "(no error)";
}

TEST(HfCheckpointTest, BadConfigJsonIsReportedWithTheKey) {
  EXPECT_NE(ConfigError("{\"model_type\": ").find("invalid JSON at byte"), std::string::npos);
  EXPECT_NE(ConfigError("{\"model_type\": \"gpt2\"}").find("model_type 'gpt2'"), std::string::npos);
  EXPECT_NE(ConfigError("{}").find("no string 'model_type'"), std::string::npos);
  const std::string eps = ConfigError("{\"model_type\": \"qwen2\", \"rms_norm_eps\": 1e-5}");
  EXPECT_NE(eps.find("'rms_norm_eps' is 1e-05"), std::string::npos) << eps;
  const std::string type = ConfigError("{\"model_type\": \"llama\", \"hidden_size\": \"wide\"}");
  EXPECT_NE(type.find("config.json key 'hidden_size' does not fit LLaMAConfig.model_dim"),
            std::string::npos)
      << type;
  const std::string window = ConfigError("{\"model_type\": \"mistral\", \"sliding_window\": null}");
  EXPECT_NE(window.find("'sliding_window'"), std::string::npos) << window;
  const std::string invalid =
      ConfigError("{\"model_type\": \"llama\", \"num_attention_heads\": 7}");
  EXPECT_NE(invalid.find("invalid LLaMAConfig"), std::string::npos) << invalid;
  const std::string scaling = ConfigError(
      "{\"model_type\": \"llama\", \"rope_scaling\": {\"rope_type\": \"yarn\", \"factor\": 4}}");
  EXPECT_NE(scaling.find("'rope_scaling.rope_type' is \"yarn\""), std::string::npos) << scaling;
}

}  // namespace
}  // namespace modelhub
