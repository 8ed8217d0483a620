// Saving models as Hugging Face folders: the files written, reloading to
// identical logits (one file, many shards, another dtype, another RoPE
// layout), the Hugging Face models' logits from the exported files, and
// refusals and failures that leave nothing at the destination.

#include "runtime/hub/checkpoint_saver.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>
#include <sys/resource.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "families/llama/llama.h"
#include "runtime/core/errors.h"
#include "runtime/formats/safetensors.h"
#include "runtime/hub/hf_config.h"
#include "runtime/hub/model_loader.h"
#include "runtime/mapping/rope_layout.h"
#include "tests/families/interleaved_toy/interleaved_toy.h"
#include "tests/testing/error_of.h"
#include "tests/testing/hf_reference.h"
#include "tests/testing/tiny_model.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// Only the built-in cards, not the machine's.
const bool kBuiltinCardsOnly = [] {
  testing::IsolateFromMachine();
  return true;
}();

// A path under the test's temporary folder that does not exist yet.
fs::path Destination(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / name;
  fs::remove_all(dir);
  return dir;
}

// The names in folder `dir`, sorted.
std::set<std::string> Names(const fs::path& dir) {
  std::set<std::string> names;
  for (const auto& entry : fs::directory_iterator(dir)) names.insert(entry.path().filename());
  return names;
}

// Whether a temporary sibling of `dir` (`<dir>.tmp.*`) is left.
bool TempLeft(const fs::path& dir) {
  for (const std::string& name : Names(dir.parent_path())) {
    if (name.rfind(dir.filename().string() + ".tmp.", 0) == 0) return true;
  }
  return false;
}

Json ReadJson(const fs::path& path) { return Json::parse(std::ifstream(path)); }

LoadOptions NoProgress() {
  LoadOptions options;
  options.progress = false;
  return options;
}

struct Tiny {
  LlamaModelHub hub = get_llama_model_hub();
  LLaMAConfig config = hub.get_model_config("tiny");
  std::shared_ptr<DecoderModel> model;

  explicit Tiny(c10::ScalarType dtype = c10::kFloat)
      : model(hub.load_model("tiny", ModelPlacement{std::nullopt, dtype}, NoProgress())) {}

  std::shared_ptr<DecoderModel> Reload(const fs::path& dir,
                                       c10::ScalarType dtype = c10::kFloat) const {
    return hub.load_custom_model(dir.string(), config, ModelPlacement{std::nullopt, dtype},
                                 NoProgress());
  }
};

SaveOptions Quiet(uint64_t max_shard_bytes = SaveOptions().max_shard_bytes) {
  SaveOptions options;
  options.max_shard_bytes = max_shard_bytes;
  options.progress = false;
  return options;
}

TEST(CheckpointSaverTest, TinySavesAsOneFileAndReloadsToIdenticalLogits) {
  const Tiny tiny;
  const fs::path dir = Destination("tiny_one_file");
  tiny.hub.save_checkpoint(*tiny.model, tiny.config, dir.string(), Quiet());
  EXPECT_EQ(Names(dir), (std::set<std::string>{"config.json", "model.safetensors"}));
  EXPECT_FALSE(TempLeft(dir));

  const TensorFile file = OpenSafetensors((dir / "model.safetensors").string());
  EXPECT_EQ(file.metadata(), (std::map<std::string, std::string>{{"format", "pt"}}));
  EXPECT_EQ(file.entries().size(), tiny.model->named_parameters().size());
  EXPECT_NE(file.Find("model.layers.3.mlp.down_proj.weight"), nullptr);
  EXPECT_EQ(file.Find("lm_head.weight"), nullptr);  // tied to the embeddings

  const at::Tensor expected = testing::FixedLogits(*tiny.model);
  EXPECT_TRUE(at::equal(testing::FixedLogits(*tiny.Reload(dir)), expected));
  // config.json alone says what the model is.
  const ModelCardConfig read = ResolveCheckpointConfig(dir.string(), "", "");
  EXPECT_EQ(read.family->name(), "llama");
  LoadOptions quiet;
  quiet.progress = false;
  EXPECT_TRUE(at::equal(
      testing::FixedLogits(*LoadCheckpoint(*read.family, *read.config, dir.string(), {}, quiet)),
      expected));
}

TEST(CheckpointSaverTest, ShardsFillInParameterOrderUpToTheLimit) {
  const Tiny tiny;
  const fs::path dir = Destination("tiny_shards");
  // The 4 MiB embedding table passes the limit alone: it gets a shard of its own.
  constexpr uint64_t kLimit = 3'000'000;
  SaveCheckpoint(tiny.hub.family(), TypedConfig<LLaMAConfig>(tiny.config), *tiny.model,
                 dir.string(), Quiet(kLimit));

  const Json index = ReadJson(dir / "model.safetensors.index.json");
  std::set<std::string> files;
  for (const auto& [tensor, file] : index["weight_map"].items()) files.insert(file);
  const size_t count = files.size();
  ASSERT_GE(count, 3u);
  std::set<std::string> expected_names = {"config.json", "model.safetensors.index.json"};
  for (size_t i = 1; i <= count; ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", i, count);
    expected_names.insert(name);
  }
  EXPECT_EQ(Names(dir), expected_names);

  // Every tensor is in exactly one file, the one the index names, in
  // parameter order; each shard stays under the limit unless it holds one tensor.
  std::vector<std::string> stored;
  uint64_t total = 0;
  for (size_t i = 1; i <= count; ++i) {
    char name[64];
    std::snprintf(name, sizeof(name), "model-%05zu-of-%05zu.safetensors", i, count);
    const TensorFile file = OpenSafetensors((dir / name).string());
    uint64_t bytes = 0;
    for (const TensorEntry& entry : file.entries()) {
      EXPECT_EQ(index["weight_map"][entry.name], name) << entry.name;
      stored.push_back(entry.name);
      bytes += entry.nbytes();
    }
    EXPECT_TRUE(bytes <= kLimit || file.entries().size() == 1) << name;
    total += bytes;
  }
  EXPECT_EQ(stored.size(), index["weight_map"].size());
  EXPECT_EQ(std::set<std::string>(stored.begin(), stored.end()).size(), stored.size());
  EXPECT_EQ(stored.front(), "model.embed_tokens.weight");
  EXPECT_EQ(stored.back(), "model.norm.weight");
  EXPECT_FALSE(index["weight_map"].contains("lm_head.weight"));
  EXPECT_EQ(index["metadata"]["total_size"], total);
  EXPECT_EQ(total, 4065536u * 4);

  EXPECT_TRUE(
      at::equal(testing::FixedLogits(*tiny.Reload(dir)), testing::FixedLogits(*tiny.model)));
}

TEST(CheckpointSaverTest, DtypeConvertsOnWrite) {
  const Tiny tiny;
  const fs::path dir = Destination("tiny_bf16");
  SaveOptions options = Quiet();
  options.dtype = c10::kBFloat16;
  SaveCheckpoint(tiny.hub.family(), TypedConfig<LLaMAConfig>(tiny.config), *tiny.model,
                 dir.string(), options);
  EXPECT_EQ(ReadJson(dir / "config.json")["torch_dtype"], "bfloat16");
  const TensorFile file = OpenSafetensors((dir / "model.safetensors").string());
  for (const TensorEntry& entry : file.entries()) {
    EXPECT_EQ(entry.dtype, TensorDtype::kBF16) << entry.name;
  }
  // As if the original had been loaded in bfloat16.
  EXPECT_TRUE(at::equal(testing::FixedLogits(*tiny.Reload(dir, c10::kBFloat16)),
                        testing::FixedLogits(*Tiny(c10::kBFloat16).model)));
}

TEST(CheckpointSaverTest, QkRowsAreStoredInTheFormatsRopeLayout) {
  const InterleavedToyModelHub hub = get_interleaved_toy_model_hub();
  const InterleavedToyConfig config = hub.get_arch_config("interleaved_toy_small");
  const std::shared_ptr<DecoderModel> model = hub.create_new_model(config);
  {
    at::NoGradGuard no_grad;  // biases start at 0 and norms at 1: no layout shows in them
    at::manual_seed(3);
    for (at::Tensor& parameter : model->parameters()) parameter.normal_();
  }
  const fs::path dir = Destination("interleaved");
  hub.save_checkpoint(*model, config, dir.string(), Quiet());

  const TensorFile file = OpenSafetensors((dir / "model.safetensors").string());
  const auto parameters = model->named_parameters();
  const int64_t head_dim = model->blueprint().HeadDim();
  for (const char* name :
       {"q_proj.weight", "q_proj.bias", "k_proj.weight", "q_norm.weight", "k_norm.weight"}) {
    const at::Tensor parameter = parameters[std::string("decoder.layers.1.self_attn.") + name];
    const at::Tensor stored =
        file.Read(*file.Find(std::string("model.layers.1.self_attn.") + name));
    EXPECT_TRUE(at::equal(stored, ConvertRopeLayout(parameter, head_dim, RopeLayout::kInterleaved,
                                                    RopeLayout::kRotateHalf)))
        << name;
    EXPECT_FALSE(at::equal(stored, parameter)) << name;
  }
  EXPECT_TRUE(at::equal(file.Read(*file.Find("model.layers.1.self_attn.v_proj.weight")),
                        parameters["decoder.layers.1.self_attn.v_proj.weight"]));
  EXPECT_TRUE(at::equal(file.Read(*file.Find("model.layers.1.self_attn.o_proj.bias")),
                        parameters["decoder.layers.1.self_attn.output_proj.bias"]));
  EXPECT_TRUE(at::equal(
      testing::FixedLogits(*hub.load_custom_model(dir.string(), config, {}, NoProgress())),
      testing::FixedLogits(*model)));
}

// An exported config.json as the independent Hugging Face reference reads it
// (absent keys take transformers' defaults).
testing::HfConfig ReferenceConfig(const Json& json) {
  testing::HfConfig config;
  config.model_type = json["model_type"];
  const std::string& type = config.model_type;
  const bool gemma = type.rfind("gemma", 0) == 0;
  config.hidden_size = json["hidden_size"];
  config.intermediate_size = json["intermediate_size"];
  config.num_hidden_layers = json["num_hidden_layers"];
  config.num_attention_heads = json["num_attention_heads"];
  config.num_key_value_heads = json["num_key_value_heads"];
  if (json.contains("head_dim")) config.head_dim = json["head_dim"].get<int64_t>();
  config.vocab_size = json["vocab_size"];
  config.max_position_embeddings = json["max_position_embeddings"];
  config.rms_norm_eps = json[type == "starcoder2" ? "norm_epsilon" : "rms_norm_eps"];
  config.rope_theta = json["rope_theta"];
  config.tie_word_embeddings = json["tie_word_embeddings"];
  config.hidden_act =
      json[type == "gemma2" || type == "gemma3_text" ? "hidden_activation" : "hidden_act"];
  if (json.value("sliding_window", Json()).is_number()) {
    config.sliding_window = json["sliding_window"].get<int64_t>();
  }
  if (const Json scaling = json.value("rope_scaling", Json()); scaling.is_object()) {
    if (scaling.value("rope_type", "") == "linear") {
      config.linear_rope_factor = scaling["factor"].get<double>();
    } else if (scaling.value("type", "") == "longrope") {
      config.longrope =
          testing::HfConfig::LongRopeScaling{scaling["short_factor"], scaling["long_factor"],
                                             json["original_max_position_embeddings"]};
    } else {
      config.rope_scaling = testing::HfConfig::Llama3Scaling{
          scaling["factor"], scaling["low_freq_factor"], scaling["high_freq_factor"],
          scaling["original_max_position_embeddings"]};
    }
  }
  config.attention_bias = json.value(type == "starcoder2" ? "use_bias" : "attention_bias", false);
  config.partial_rotary_factor = json.value("partial_rotary_factor", 1.0);
  auto optional = [&](const char* key, std::optional<double> absent) -> std::optional<double> {
    if (!json.contains(key)) return absent;
    return json[key].is_null() ? std::nullopt : std::optional(json[key].get<double>());
  };
  if (gemma && type != "gemma") {  // Gemma2Config's defaults for absent keys
    config.query_pre_attn_scalar = optional("query_pre_attn_scalar", 256.0);
    config.attn_logit_softcapping =
        optional("attn_logit_softcapping", type == "gemma2" ? std::optional(50.0) : std::nullopt);
    config.final_logit_softcapping =
        optional("final_logit_softcapping", type == "gemma2" ? std::optional(30.0) : std::nullopt);
  }
  if (type == "gemma3_text") {
    config.sliding_window_pattern = json.value("sliding_window_pattern", int64_t{6});
    config.rope_local_base_freq = json.value("rope_local_base_freq", 10000.0);
  }
  if (type == "granite") {
    config.embedding_multiplier = json.value("embedding_multiplier", 1.0);
    config.residual_multiplier = json.value("residual_multiplier", 1.0);
    config.attention_multiplier = json.value("attention_multiplier", 1.0);
    config.logits_scaling = json.value("logits_scaling", 1.0);
  }
  return config;
}

TEST(CheckpointSaverTest, ExportsComputeWhatHuggingFaceComputesFromThem) {
  for (const testing::HfConfig& source :
       {testing::TinyLlama3Config(), testing::TinyQwen2Config(), testing::TinyQwen3Config(),
        testing::TinyMistralConfig(), testing::TinyGemmaConfig(), testing::TinyGemma2Config(),
        testing::TinyGemma3Config(), testing::TinyOlmo2Config(), testing::TinyGraniteConfig(),
        testing::TinyStarcoder2Config(), testing::TinyPhi3Config(),
        testing::TinyPhi3PlainConfig()}) {
    const HfModelConfig model_config = ParseHfConfig(testing::ToConfigJson(source), "source");
    at::manual_seed(5);
    const std::shared_ptr<DecoderModel> model =
        model_config.family->CreateNewModel(*model_config.config, {});
    const fs::path dir = Destination("reference_" + source.model_type);
    SaveCheckpoint(*model_config.family, *model_config.config, *model, dir.string(), Quiet());

    std::map<std::string, at::Tensor> state;
    const TensorFile file = OpenSafetensors((dir / "model.safetensors").string());
    for (const TensorEntry& entry : file.entries()) state[entry.name] = file.Read(entry);
    const at::Tensor ids = at::arange(12, at::kLong).unsqueeze(0) * 7 % source.vocab_size;
    const at::Tensor expected =
        testing::HfReferenceLogits(ReferenceConfig(ReadJson(dir / "config.json")), state, ids);
    c10::InferenceMode inference;
    const at::Tensor actual = model->forward(ids);
    EXPECT_LE((actual - expected).abs().max().item<double>(),
              1e-4 * expected.abs().max().item<double>())
        << source.model_type;
  }
}

// The message of the CheckpointSaveError that saving `model` to `dir` throws.
std::string Refusal(const ModelFamily& family, const AnyConfig& config, const DecoderModel& model,
                    const fs::path& dir) {
  return testing::ErrorOf<CheckpointSaveError>([&] {
    try {
      SaveCheckpoint(family, config, model, dir.string(), Quiet());
    } catch (const CheckpointSaveError& e) {
      EXPECT_EQ(e.path(), dir.string());
      throw;
    }
  });
}

TEST(CheckpointSaverTest, ATakenDestinationIsRefused) {
  const Tiny tiny;
  const TypedConfig<LLaMAConfig> config(tiny.config);
  const fs::path dir = Destination("taken");
  fs::create_directories(dir);
  std::ofstream(dir / "notes.txt") << "mine";
  EXPECT_EQ(Refusal(tiny.hub.family(), config, *tiny.model, dir),
            "cannot save a checkpoint to " + dir.string() + ": it is a folder that is not empty");
  EXPECT_EQ(Names(dir), std::set<std::string>{"notes.txt"});

  const fs::path file = Destination("a_file");
  std::ofstream(file) << "mine";
  EXPECT_NE(Refusal(tiny.hub.family(), config, *tiny.model, file).find("is not a folder"),
            std::string::npos);
  EXPECT_FALSE(TempLeft(file));

  // An empty folder is free, also named with a trailing slash.
  const fs::path empty = Destination("empty");
  fs::create_directories(empty);
  SaveCheckpoint(tiny.hub.family(), config, *tiny.model, empty.string() + "/", Quiet());
  EXPECT_EQ(Names(empty).size(), 2u);
}

// A family registered nowhere, with no key maps.
class FamilyWithoutKeyMaps : public ModelFamily {
 public:
  FamilyWithoutKeyMaps() : ModelFamily("bare", "bare.yaml", {}, {}) {}
  std::vector<std::string> arch_names() const override { return {}; }
  std::optional<std::string> ResolveArch(std::string_view) const override { return {}; }
  std::unique_ptr<AnyConfig> MaybeGetArchConfig(std::string_view) const override { return nullptr; }
  std::optional<int64_t> PublishedParameterCount(std::string_view) const override { return {}; }
};

TEST(CheckpointSaverTest, ModelsThatCannotBeSavedAreRefusedBeforeWriting) {
  const Tiny tiny;
  const TypedConfig<LLaMAConfig> config(tiny.config);
  const fs::path dir = Destination("refused");

  const std::shared_ptr<DecoderModel> meta =
      tiny.hub.create_new_model(tiny.config, ModelPlacement::Meta());
  EXPECT_NE(Refusal(tiny.hub.family(), config, *meta, dir).find("on the meta device"),
            std::string::npos);
  EXPECT_NE(Refusal(FamilyWithoutKeyMaps(), config, *tiny.model, dir)
                .find("model family 'bare' has no 'hf' key map"),
            std::string::npos);
  const TypedConfig<LLaMAConfig> preset(tiny.hub.get_arch_config("llama3_2_1b"));
  EXPECT_EQ(Refusal(tiny.hub.family(), preset, *tiny.model, dir),
            "cannot save a checkpoint to " + dir.string() +
                ": the model was not built from this config (model_dim: 2048 vs 256)");
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(TempLeft(dir));
}

TEST(CheckpointSaverTest, FailuresWhileWritingLeaveNothingBehind) {
  const Tiny tiny;
  const TypedConfig<LLaMAConfig> config(tiny.config);

  // The parent cannot be created: a file stands in its way. This is found
  // before anything is written, by CheckSaveDestination too.
  const fs::path blocker = Destination("blocker");
  std::ofstream(blocker) << "a file";
  const std::string blocked = Refusal(tiny.hub.family(), config, *tiny.model, blocker / "out");
  EXPECT_EQ(blocked, "cannot save a checkpoint to " + (blocker / "out").string() + ": " +
                         blocker.string() + " is not a folder");
  EXPECT_TRUE(fs::is_regular_file(blocker));
  EXPECT_EQ(
      testing::ErrorOf<CheckpointSaveError>(
          [&] { CheckSaveDestination((blocker / "a" / "b").string()); }),
      blocked.substr(0, blocked.find("/out:")) + "/a/b: " + blocker.string() + " is not a folder");

  // Files may not grow past 1 MB: config.json is written, the first shard fails.
  const fs::path dir = Destination("too_big");
  rlimit original{};
  ASSERT_EQ(getrlimit(RLIMIT_FSIZE, &original), 0);
  rlimit limited = original;
  limited.rlim_cur = 1'000'000;
  std::signal(SIGXFSZ, SIG_IGN);  // fail the write (EFBIG) instead of killing the process
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &limited), 0);
  const std::string message = Refusal(tiny.hub.family(), config, *tiny.model, dir);
  ASSERT_EQ(setrlimit(RLIMIT_FSIZE, &original), 0);
  EXPECT_NE(message.find("File too large"), std::string::npos) << message;
  EXPECT_EQ(message.rfind("cannot save a checkpoint to " + dir.string() + ": cannot write " +
                              dir.string() + ".tmp.",
                          0),
            0u)
      << message;
  EXPECT_FALSE(fs::exists(dir));
  EXPECT_FALSE(TempLeft(dir));
}

}  // namespace
}  // namespace modelhub
