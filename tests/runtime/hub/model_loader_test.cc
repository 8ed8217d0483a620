// Models by name: built-in and fairseq2 cards resolved to family, arch and
// config; the tiny card loaded; checkpoint and card errors.

#include "runtime/hub/model_loader.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>

#include "absl/strings/str_cat.h"
#include "families/llama/llama.h"
#include "families/qwen/qwen.h"
#include "runtime/core/errors.h"
#include "runtime/formats/checkpoint_files.h"
#include "runtime/formats/checkpoint_reader.h"
#include "runtime/formats/safetensors.h"
#include "runtime/hub/hf_config.h"
#include "runtime/mapping/rope_layout.h"
#include "tests/testing/error_of.h"
#include "tests/testing/tiny_model.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;

constexpr char kFairseq2Cards[] = "tests/runtime/assets/testdata/fairseq2-cards";

// Keeps the machine's own card folders out of the default store.
class Environment : public ::testing::Environment {
 public:
  void SetUp() override { testing::IsolateFromMachine(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new Environment);

std::string TinyDir() { return (fs::path(BuiltinCardsDir()) / "tiny").string(); }

AssetStore StoreOf(const std::string& card_text) {
  const fs::path dir = testing::FreshDir("cards");
  std::ofstream(dir / "cards.yaml") << card_text;
  return AssetStore({AssetSource{"test", dir.string()}});
}

LoadOptions Quiet() {
  LoadOptions options;
  options.progress = false;
  return options;
}

TEST(ModelLoaderTest, EveryBuiltInModelCardResolves) {
  ASSERT_FALSE(BuiltinCardsDir().empty());
  AssetStore store({AssetSource{"built-in", BuiltinCardsDir()}});
  std::map<std::string, int> per_family;
  for (const std::string& name : store.card_names()) {
    const AssetCard& card = store.card(name);
    if (!card.has("model_arch")) continue;  // a base card
    ModelCardConfig resolved = ResolveModelCard(card);
    ++per_family[resolved.family->name()];
    if (name == "tiny") {
      EXPECT_EQ(CardCheckpointPath(card), TinyDir());
    } else if (resolved.family->name() == "llama" && name != "r1_distilled_llama3_1_8b_instruct") {
      EXPECT_THROW(CardCheckpointPath(card), ModelGatedError) << name;
    } else if (name != "tiny") {
      EXPECT_THROW(CardCheckpointPath(card), AssetDownloadError) << name;
    }
  }
  EXPECT_EQ(per_family["qwen"], 25);
  EXPECT_EQ(per_family["mistral"], 2);
  EXPECT_GE(per_family["llama"], 20);
  EXPECT_EQ(per_family["gemma"], 4);
  EXPECT_EQ(per_family["gemma2"], 6);
  EXPECT_EQ(per_family["gemma3"], 2);
  EXPECT_EQ(per_family["olmo2"], 4);
  EXPECT_EQ(per_family["granite"], 8);
  EXPECT_EQ(per_family["starcoder2"], 3);
  EXPECT_EQ(per_family["phi3"], 5);
}

TEST(ModelLoaderTest, Fairseq2CardFilesResolveUnchanged) {
  AssetStore store({AssetSource{"fairseq2", kFairseq2Cards}});
  int resolved_cards = 0;
  for (const std::string& name : store.card_names()) {
    const AssetCard& card = store.card(name);
    const std::string family = card.maybe_string("model_family").value_or("");
    if (!card.has("model_arch")) continue;
    if (family == "hg" || family == "llama4") {
      // Families modelhub does not have (Hugging Face passthrough, Llama 4 MoE).
      EXPECT_THROW(ResolveModelCard(card), ModelFamilyNotKnownError) << name;
      continue;
    }
    ModelCardConfig resolved = ResolveModelCard(card);
    EXPECT_EQ(resolved.family->name(), family) << name;
    EXPECT_TRUE(resolved.family->ResolveArch(card.string("model_arch"))) << name;
    ++resolved_cards;
    if (family == "llama" && !card.has("checkpoint")) {
      try {
        CardCheckpointPath(card);
        ADD_FAILURE() << name << " is not gated";
      } catch (const ModelGatedError& e) {
        EXPECT_EQ(e.name(), name);
        EXPECT_EQ(e.url(), "https://ai.meta.com/llama");
      }
    }
  }
  EXPECT_GE(resolved_cards, 40);
  // Card overrides apply: qwen25_7b_instruct sets max_seq_len over qwen25_7b.
  ModelCardConfig instruct = ResolveModelCard(store.card("qwen25_7b_instruct"));
  EXPECT_EQ(instruct.config->ToYaml()["max_seq_len"].as<int64_t>(), 32768);
  EXPECT_EQ(ResolveModelCard(store.card("mistral_7b")).arch, "7b");
  try {
    CardCheckpointPath(store.card("mistral_7b"));
    ADD_FAILURE() << "mistral_7b's checkpoint is remote";
  } catch (const AssetDownloadError& e) {
    EXPECT_EQ(e.uri(), "https://files.mistral-7b-v0-1.mistral.ai/mistral-7B-v0.1.tar");
  }
}

TEST(ModelLoaderTest, Fairseq2CardsBesideTheBuiltInOnesCollide) {
  EXPECT_THROW(AssetStore({AssetSource{"built-in", BuiltinCardsDir()},
                           AssetSource{"fairseq2", kFairseq2Cards}}),
               AssetCardError);
}

TEST(ModelLoaderTest, TinyLoadsByNameAndFromItsFolderAlike) {
  std::shared_ptr<DecoderModel> by_name = load_model("tiny", {}, Quiet());
  ModelCardConfig from_json = ResolveCheckpointConfig(TinyDir(), "", "");
  EXPECT_EQ(from_json.family->name(), "llama");
  ModelCardConfig from_card = ResolveModelCard(DefaultAssetStore().card("tiny"));
  // The same model (config.json spells out head_dim, which the card derives).
  EXPECT_EQ(DescribeDifference(from_json.config->ToBlueprint(), from_card.config->ToBlueprint()),
            "");
  std::shared_ptr<DecoderModel> by_path =
      LoadCheckpoint(*from_json.family, *from_json.config, TinyDir(), {}, Quiet());
  EXPECT_TRUE(at::equal(testing::FixedLogits(*by_name), testing::FixedLogits(*by_path)));

  LlamaModelHub hub = get_llama_model_hub();
  const LLaMAConfig config = hub.get_model_config("tiny");
  EXPECT_EQ(config.model_dim, 256);
  std::shared_ptr<DecoderModel> typed =
      hub.load_model("tiny", ModelPlacement{std::nullopt, at::kBFloat16});
  EXPECT_EQ(typed->options().dtype, at::kBFloat16);
  EXPECT_TRUE(at::allclose(testing::FixedLogits(*typed).to(at::kFloat),
                           testing::FixedLogits(*by_name), 0.05, 0.05));
  bool listed = false;
  for (const auto& card : hub.iter_cards()) listed = listed || card->name() == "tiny";
  EXPECT_TRUE(listed);
  EXPECT_THROW(get_qwen_model_hub().load_model("tiny"), AssetCardError);
  EXPECT_THROW(hub.load_model("tinyy"), ModelNotKnownError);
}

// Copies the tiny checkpoint's tensors under Meta's names, with q/k rows in
// Meta's interleaved RoPE layout, into one file.
fs::path WriteTinyAsMeta() {
  const ModelFamily& family = GetModelFamily("llama");
  const KeyMap& hf = *family.FindKeyMap("hf");
  const KeyMap& meta = *family.FindKeyMap("meta");
  CheckpointReader reader(FindCheckpointFiles(TinyDir()), ReadStrategy::kPread);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const CheckpointTensor& tensor : reader.tensors()) {
    const std::string name = hf.Map(tensor.name)->name;
    at::Tensor value = tensor.parts.front().file->Read(tensor.entry());
    if (name.find("q_proj") != std::string::npos || name.find("k_proj") != std::string::npos) {
      value = ConvertRopeLayout(value, 32, RopeLayout::kRotateHalf, RopeLayout::kInterleaved);
    }
    tensors.emplace_back(*meta.Unmap(name), value);
  }
  const fs::path file = testing::FreshDir("meta") / "consolidated.safetensors";
  WriteSafetensors(file.string(), tensors);
  return file;
}

TEST(ModelLoaderTest, MetaNamesAndInterleavedRopeLoadToTheSameModel) {
  ModelCardConfig tiny = ResolveModelCard(DefaultAssetStore().card("tiny"));
  const fs::path meta = WriteTinyAsMeta();
  LoadStats stats;
  std::shared_ptr<DecoderModel> from_meta =
      LoadCheckpoint(*tiny.family, *tiny.config, meta.string(), {}, Quiet(), &stats);
  EXPECT_EQ(stats.format, "meta");
  std::shared_ptr<DecoderModel> from_hf = load_model("tiny", {}, Quiet());
  EXPECT_TRUE(
      at::allclose(testing::FixedLogits(*from_meta), testing::FixedLogits(*from_hf), 1e-5, 1e-5));

  // iter_checkpoint: the model's names, rows in the model's layout.
  CheckpointStream stream(*tiny.family, *tiny.config, meta.string());
  auto parameters = from_hf->named_parameters();
  EXPECT_EQ(stream.size(), parameters.size());
  std::string name;
  at::Tensor tensor;
  size_t count = 0;
  while (stream.Next(&name, &tensor)) {
    ++count;
    ASSERT_NE(parameters.find(name), nullptr) << name;
    EXPECT_TRUE(at::equal(tensor, *parameters.find(name))) << name;
  }
  EXPECT_EQ(count, parameters.size());
}

// A copy of the tiny checkpoint folder to break.
fs::path TinyCopy(const std::string& name) {
  const fs::path dir = testing::FreshDir(name);
  for (const fs::directory_entry& entry : fs::directory_iterator(TinyDir())) {
    fs::copy_file(entry.path(), dir / entry.path().filename());
    fs::permissions(dir / entry.path().filename(), fs::perms::owner_write, fs::perm_options::add);
  }
  return dir;
}

// Loads the checkpoint folder `dir` as the CLI does: config.json's config,
// config.json's keys named in messages.
std::string LoadError(const fs::path& dir) {
  return testing::ErrorOf<CorruptModelCheckpointError>([&] {
    ModelCardConfig config = ResolveCheckpointConfig(dir.string(), "", "");
    LoadOptions options = Quiet();
    options.config_origin = config.origin;
    LoadCheckpoint(*config.family, *config.config, dir.string(), {}, options);
  });
}

// Replaces the first `from` in the config.json of `dir` with `to`.
void EditConfigJson(const fs::path& dir, const std::string& from, const std::string& to) {
  std::ifstream in(dir / "config.json");
  std::string json((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  const size_t at = json.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  json.replace(at, from.size(), to);
  std::ofstream(dir / "config.json") << json;
}

TEST(ModelLoaderTest, BrokenCheckpointsNameWhatIsWrong) {
  fs::path dir = TinyCopy("missing_shard");
  fs::remove(dir / "model-00002-of-00002.safetensors");
  EXPECT_NE(LoadError(dir).find("shard 'model-00002-of-00002.safetensors' named by the index is "
                                "missing"),
            std::string::npos)
      << LoadError(dir);

  dir = TinyCopy("truncated");
  const fs::path shard = dir / "model-00001-of-00002.safetensors";
  fs::resize_file(shard, fs::file_size(shard) - 100);
  EXPECT_NE(LoadError(dir).find("truncated"), std::string::npos) << LoadError(dir);

  dir = TinyCopy("fewer_layers");
  EditConfigJson(dir, "\"num_hidden_layers\": 4", "\"num_hidden_layers\": 3");
  EXPECT_EQ(LoadError(dir), absl::StrCat(dir.string(),
                                         ": corrupt model checkpoint: does not fit the model: it "
                                         "has tensors for 4 layers, but config.json key "
                                         "'num_hidden_layers' (",
                                         (dir / "config.json").string(), ") is 3"));

  dir = TinyCopy("wider_vocab");
  EditConfigJson(dir, "\"vocab_size\": 4096", "\"vocab_size\": 4000");
  EXPECT_EQ(LoadError(dir), absl::StrCat(dir.string(),
                                         ": corrupt model checkpoint: does not fit the model: its "
                                         "embedding table 'model.embed_tokens.weight' has the "
                                         "wrong shape: it is [4096, 256] (vocab_size 4096), but "
                                         "config.json key 'vocab_size' (",
                                         (dir / "config.json").string(), ") is 4000"));

  // Other sizes: the tensors of the wrong shape, listed.
  dir = TinyCopy("wider_ffn");
  EditConfigJson(dir, "\"intermediate_size\": 768", "\"intermediate_size\": 1000000000");
  const std::string misshaped = LoadError(dir);
  EXPECT_NE(misshaped.find("12 tensor(s) of the wrong shape: model.layers.0.mlp.gate_proj.weight "
                           "is [768, 256], the model's decoder.layers.0.ffn.gate_proj.weight is "
                           "[1000000000, 256]"),
            std::string::npos)
      << misshaped;
}

// Sizes from a small config.json that the checkpoint contradicts are refused
// from the checkpoint's headers, before any parameter is allocated: a model
// of these sizes would need terabytes, so this test could not pass otherwise.
TEST(ModelLoaderTest, HugeSizesInConfigJsonAreRefusedBeforeAllocating) {
  fs::path dir = TinyCopy("million_layers");
  EditConfigJson(dir, "\"num_hidden_layers\": 4", "\"num_hidden_layers\": 1000000");
  EXPECT_EQ(LoadError(dir), absl::StrCat(dir.string(),
                                         ": corrupt model checkpoint: does not fit the model: it "
                                         "has tensors for 4 layers, but config.json key "
                                         "'num_hidden_layers' (",
                                         (dir / "config.json").string(), ") is 1000000"));

  dir = TinyCopy("wide");
  EditConfigJson(dir, "\"hidden_size\": 256", "\"hidden_size\": 2147483648");
  EditConfigJson(dir, "\"head_dim\": 32", "\"head_dim\": 268435456");
  EXPECT_EQ(LoadError(dir), absl::StrCat(dir.string(),
                                         ": corrupt model checkpoint: does not fit the model: its "
                                         "embedding table 'model.embed_tokens.weight' has the "
                                         "wrong shape: it is [4096, 256] (model_dim 256), but "
                                         "config.json key 'hidden_size' (",
                                         (dir / "config.json").string(), ") is 2147483648"));

  // Streaming checks the same way, and allocates nothing either.
  ModelCardConfig config = ResolveCheckpointConfig(dir.string(), "", "");
  const std::string streamed = testing::ErrorOf<CorruptModelCheckpointError>(
      [&] { CheckpointStream(*config.family, *config.config, dir.string()); });
  EXPECT_NE(streamed.find("its embedding table 'model.embed_tokens.weight' has the wrong shape: "
                          "it is [4096, 256] (model_dim 256), but the config's model_dim is "
                          "2147483648"),
            std::string::npos)
      << streamed;
}

// The same sizes from a card's model_config name the card's file and line.
TEST(ModelLoaderTest, HugeSizesInACardNameTheCardAndLine) {
  AssetStore store =
      StoreOf(absl::StrCat("name: x\nmodel_family: llama\nmodel_arch: "
                           "llama3_2_1b\ncheckpoint: ",
                           TinyDir(),
                           "\nmodel_config:\n  model_dim: 256\n  num_attn_heads: 8\n"
                           "  num_key_value_heads: 2\n  vocab_size: 4096\n"
                           "  num_layers: 2147483648\n"));
  const std::string error = testing::ErrorOf<CorruptModelCheckpointError>(
      [&] { LoadModelFromCard(store.card("x"), {}, Quiet()); });
  EXPECT_NE(error.find("does not fit the model: it has tensors for 4 layers, but card 'x' ("),
            std::string::npos)
      << error;
  EXPECT_NE(error.find(") model_config key 'num_layers' ("), std::string::npos) << error;
  EXPECT_NE(error.find("cards.yaml:10:3) is 2147483648"), std::string::npos) << error;

  // Where the card does not set it, the arch preset is named.
  AssetStore preset = StoreOf(absl::StrCat(
      "name: y\nmodel_family: llama\nmodel_arch: llama3_2_1b\ncheckpoint: ", TinyDir(), "\n"));
  const std::string from_preset = testing::ErrorOf<CorruptModelCheckpointError>(
      [&] { LoadModelFromCard(preset.card("y"), {}, Quiet()); });
  EXPECT_NE(from_preset.find("it has tensors for 4 layers, but the num_layers of arch "
                             "'llama3_2_1b' of card 'y' ("),
            std::string::npos)
      << from_preset;
}

TEST(ModelLoaderTest, MissingTensorsAreListed) {
  CheckpointReader reader(FindCheckpointFiles(TinyDir()), ReadStrategy::kPread);
  std::vector<std::pair<std::string, at::Tensor>> tensors;
  for (const CheckpointTensor& tensor : reader.tensors()) {
    if (tensor.name.find("layers.1.mlp") == std::string::npos) {
      tensors.emplace_back(tensor.name, tensor.parts.front().file->Read(tensor.entry()));
    }
  }
  const fs::path dir = testing::FreshDir("missing_tensors");
  WriteSafetensors((dir / "model.safetensors").string(), tensors);
  fs::copy_file(fs::path(TinyDir()) / "config.json", dir / "config.json");
  const std::string error = LoadError(dir);
  EXPECT_NE(error.find("3 parameter(s) missing: decoder.layers.1.ffn.gate_proj.weight, "
                       "decoder.layers.1.ffn.inner_proj.weight, "
                       "decoder.layers.1.ffn.output_proj.weight"),
            std::string::npos)
      << error;
}

template <typename E>
std::string CardError(const std::string& cards, const std::string& name) {
  AssetStore store = StoreOf(cards);
  return testing::ErrorOf<E>([&] { ResolveModelCard(store.card(name)); });
}

TEST(ModelLoaderTest, BadCardsAreReportedWithTheCardAndLine) {
  const std::string unknown_field = CardError<ConfigError>(
      "name: x\nmodel_family: llama\nmodel_arch: llama3_8b\nmodel_config:\n  model_dims: 8\n", "x");
  EXPECT_NE(unknown_field.find("card 'x' model_config"), std::string::npos) << unknown_field;
  EXPECT_NE(unknown_field.find("cards.yaml:5:3"), std::string::npos) << unknown_field;
  EXPECT_NE(unknown_field.find("model_dims"), std::string::npos) << unknown_field;
  const std::string family = CardError<ModelFamilyNotKnownError>(
      "name: x\nmodel_family: lama\nmodel_arch: llama3_8b\n", "x");
  EXPECT_NE(family.find("lama"), std::string::npos) << family;
  const std::string arch = CardError<ModelArchitectureNotKnownError>(
      "name: x\nmodel_family: llama\nmodel_arch: llama3_9b\n", "x");
  EXPECT_NE(arch.find("llama3_9b"), std::string::npos) << arch;
  const std::string no_arch =
      CardError<AssetCardError>("# a comment\nname: x\nmodel_family: llama\n", "x");
  EXPECT_NE(no_arch.find("cards.yaml:2:1) has no model_arch"), std::string::npos) << no_arch;
}

TEST(ModelLoaderTest, OverridesMergeSetDeleteAndReadTheEnvironment) {
  setenv("MODELHUB_TEST_LAYERS", "3", 1);
  AssetStore store = StoreOf(R"(name: base
model_family: llama
model_arch: llama3_8b
model_config:
  num_layers: ${env:MODELHUB_TEST_LAYERS}
  rope_scale: {factor: 2.0}
---
name: leaf
base: base
model_config:
  vocab_size: ${env:MODELHUB_TEST_UNSET:1000}
  rope_scale:
    _set_: {factor: 4.0}
  _del_: [rope_theta]
)");
  const YAML::Node config = ResolveModelCard(store.card("leaf")).config->ToYaml();
  EXPECT_EQ(config["num_layers"].as<int64_t>(), 3);
  EXPECT_EQ(config["vocab_size"].as<int64_t>(), 1000);
  EXPECT_EQ(config["rope_scale"]["factor"].as<double>(), 4.0);
  // _del_ resets a field to the config's default, as fairseq2's structuring does.
  EXPECT_EQ(config["rope_theta"].as<double>(), 10000.0);
  EXPECT_EQ(config["model_dim"].as<int64_t>(), 4096);
}

// fairseq2 structures quoted numbers into numeric fields (its structure() calls
// int() and float()), so cards written for it load here alike; booleans are
// YAML 1.2's, in model_config as in every other field.
TEST(ModelLoaderTest, OverridesReadQuotedNumbersAsFairseq2Does) {
  setenv("MODELHUB_TEST_QUOTED_LAYERS", "5", 1);
  AssetStore store = StoreOf(R"(name: quoted
model_family: llama
model_arch: llama3_8b
model_config:
  num_layers: "2"
  rope_theta: "3.0"
  max_seq_len: "${env:MODELHUB_TEST_QUOTED_LAYERS}"
---
name: yes_is_a_string
model_family: llama
model_arch: llama3_8b
model_config:
  tied_embeddings: yes
)");
  const YAML::Node config = ResolveModelCard(store.card("quoted")).config->ToYaml();
  EXPECT_EQ(config["num_layers"].as<int64_t>(), 2);
  EXPECT_EQ(config["rope_theta"].as<double>(), 3.0);
  EXPECT_EQ(config["max_seq_len"].as<int64_t>(), 5);
  const std::string yes =
      testing::ErrorOf<ConfigError>([&] { ResolveModelCard(store.card("yes_is_a_string")); });
  EXPECT_NE(yes.find("tied_embeddings"), std::string::npos) << yes;
  EXPECT_NE(yes.find("cards.yaml:13:"), std::string::npos) << yes;
}

// fairseq2's interpolation gives a string: a number field structures it, a bool
// field refuses it.
TEST(ModelLoaderTest, AnEnvironmentVariableIsAStringEvenWhenItReadsAsABool) {
  setenv("MODELHUB_TEST_TRUE", "true", 1);
  AssetStore store = StoreOf(R"(name: env_bool
model_family: llama
model_arch: llama3_8b
model_config:
  tied_embeddings: ${env:MODELHUB_TEST_TRUE}
)");
  const std::string message =
      testing::ErrorOf<ConfigError>([&] { ResolveModelCard(store.card("env_bool")); });
  EXPECT_NE(
      message.find("field 'tied_embeddings': expected true or false, got the string \"true\""),
      std::string::npos)
      << message;
}

}  // namespace
}  // namespace modelhub
