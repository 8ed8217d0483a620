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
#include "runtime/models/generate.h"
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

// Phi-3: fused qkv_proj / gate_up_proj split on load, half of each head
// rotated, LongRoPE (original length 6) and a window of 5: 5 tokens stay
// within the short factors, 12 switch the whole call to the long ones.
TEST(HfCheckpointTest, Phi3WithFusedTensorsPartialRotaryLongRopeAndWindowMatchesHuggingFace) {
  const HfConfig config = testing::TinyPhi3Config();
  ExpectMatchesReference("phi3_short", config, 5);
  const auto [logits, ids] = ExpectMatchesReference("phi3_long", config, 12);
  // The long factors matter: with the short ones throughout, other logits.
  HfConfig short_only = config;
  short_only.longrope->long_factor = short_only.longrope->short_factor;
  const std::map<std::string, at::Tensor> state = testing::MakeHfStateDict(config, 7);
  EXPECT_GT(RelativeDifference(logits, testing::HfReferenceLogits(short_only, state, ids)), 1e-3);
}

// Phi-3 mini 4K's layout (no LongRoPE, every feature rotated) with Phi-4 mini's tied head.
TEST(HfCheckpointTest, Phi3WithoutScalingAndWithATiedHeadMatchesHuggingFace) {
  ExpectMatchesReference("phi3_plain", testing::TinyPhi3PlainConfig(), 12);
}

// Streaming a fused checkpoint gives each part its rows: q, k, v in that order
// in qkv_proj (heads * head_dim, then kv_heads * head_dim twice), gate then up
// in gate_up_proj.
TEST(HfCheckpointTest, Phi3FusedTensorsStreamAsTheirParts) {
  const HfConfig config = testing::TinyPhi3Config();
  const std::map<std::string, at::Tensor> state = testing::MakeHfStateDict(config, 7);
  const fs::path dir = WriteHfCheckpoint("phi3_stream", config, state);
  HfModelConfig hf = ReadHfConfig((dir / "config.json").string());
  CheckpointStream stream(*hf.family, *hf.config, dir.string());
  std::map<std::string, at::Tensor> read;
  std::string name;
  at::Tensor tensor;
  while (stream.Next(&name, &tensor)) read[name] = tensor;
  const at::Tensor qkv = state.at("model.layers.1.self_attn.qkv_proj.weight");
  const at::Tensor gate_up = state.at("model.layers.1.mlp.gate_up_proj.weight");
  const std::string layer = "decoder.layers.1.";
  EXPECT_TRUE(at::equal(read.at(layer + "self_attn.q_proj.weight"), qkv.slice(0, 0, 64)));
  EXPECT_TRUE(at::equal(read.at(layer + "self_attn.k_proj.weight"), qkv.slice(0, 64, 96)));
  EXPECT_TRUE(at::equal(read.at(layer + "self_attn.v_proj.weight"), qkv.slice(0, 96, 128)));
  EXPECT_TRUE(at::equal(read.at(layer + "ffn.gate_proj.weight"), gate_up.slice(0, 0, 96)));
  EXPECT_TRUE(at::equal(read.at(layer + "ffn.inner_proj.weight"), gate_up.slice(0, 96, 192)));
  EXPECT_EQ(read.size(), stream.size());
}

// Generation that crosses LongRoPE's original length recomputes the sequence
// with the long factors, as transformers does: each token equals the
// reference's greedy choice over the whole sequence so far. The cache filled
// with the short factors is stale at the crossing.
TEST(HfCheckpointTest, Phi3GenerationAcrossTheOriginalLengthRecomputesTheSequence) {
  const HfConfig config = testing::TinyPhi3Config();
  const std::map<std::string, at::Tensor> state = testing::MakeHfStateDict(config, 7);
  const fs::path dir = WriteHfCheckpoint("phi3_generate", config, state);
  HfModelConfig hf = ReadHfConfig((dir / "config.json").string());
  LoadOptions options;
  options.progress = false;
  std::shared_ptr<DecoderModel> model =
      LoadCheckpoint(*hf.family, *hf.config, dir.string(), ModelPlacement{}, options);
  const std::vector<int64_t> prompt = {3, 17, 42, 99};
  const std::vector<int64_t> generated = GenerateGreedy(*model, prompt, 8);
  ASSERT_EQ(generated.size(), 8u);
  std::vector<int64_t> tokens = prompt;
  for (int64_t token : generated) {
    const at::Tensor ids = at::tensor(tokens, at::kLong).unsqueeze(0);
    const at::Tensor logits = testing::HfReferenceLogits(config, state, ids);
    EXPECT_EQ(token, logits[0][-1].argmax().item<int64_t>()) << "after " << tokens.size();
    tokens.push_back(token);
  }
  // Decoding position 6 onto a cache of 6 short-factor positions is not the
  // reference's answer there (which rotates every position with the long factors).
  c10::InferenceMode inference;
  KvCache cache = model->NewKvCache();
  const at::Tensor all = at::tensor(tokens, at::kLong).unsqueeze(0);
  model->forward(all.slice(1, 0, 6), {}, &cache);
  const at::Tensor stale = model->forward(all.slice(1, 6, 7), {}, &cache);
  const at::Tensor expected = testing::HfReferenceLogits(config, state, all.slice(1, 0, 7));
  EXPECT_GT(RelativeDifference(stale[0][0], expected[0][6]), 1e-3);
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
