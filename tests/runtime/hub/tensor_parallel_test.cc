// Tensor parallelism end to end: every family's small models (each preset
// shape, each checkpoint format: q/k norms, biases, tied embeddings, grouped
// KV heads fewer than ranks) and the tiny model's torch.save layouts (Meta's
// two rank files, bfloat16 weights) loaded over 2 and 4 ranks give the
// logits and tokens of one process, each rank reading only its shards.

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "runtime/assets/asset_store.h"
#include "runtime/distributed/process_group_gang.h"
#include "runtime/formats/safetensors.h"
#include "runtime/hub/checkpoint_loader.h"
#include "runtime/hub/model_family_registry.h"
#include "runtime/hub/model_loader.h"
#include "runtime/models/generate.h"
#include "tests/runtime/distributed/rank_runner.h"
#include "tests/testing/small_models.h"
#include "tests/testing/tiny_model.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using testing::BlueprintConfig;

class Environment : public ::testing::Environment {
 public:
  void SetUp() override { testing::IsolateFromMachine(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new Environment);

// A checkpoint to load over ranks.
struct Case {
  std::string what;
  const ModelFamily* family = nullptr;
  std::shared_ptr<const AnyConfig> config;
  std::string path;
  c10::ScalarType dtype = c10::kFloat;
};

// Every case, in the same order in every process; the small models'
// checkpoints are written when `write` (by the test, before it starts ranks).
std::vector<Case> Cases(bool write) {
  std::vector<Case> cases;
  const fs::path root = fs::path(std::getenv("TEST_TMPDIR")) / "tensor_parallel";
  int seed = 0;
  for (const ModelFamily* family : ListModelFamilies()) {
    std::vector<DecoderBlueprint> shapes;
    for (const std::string& arch : family->arch_names()) {
      const DecoderBlueprint blueprint =
          testing::Shrunk(family->GetArchConfig(arch)->ToBlueprint());
      bool seen = false;
      for (const DecoderBlueprint& shape : shapes)
        seen |= DescribeDifference(shape, blueprint).empty();
      if (seen) continue;
      shapes.push_back(blueprint);
      auto config = std::make_shared<BlueprintConfig>(blueprint);
      std::shared_ptr<DecoderModel> model;
      if (write) {
        model = family->CreateNewModel(*config, {});
        at::NoGradGuard no_grad;
        at::manual_seed(++seed);
        for (at::Tensor& parameter : model->parameters()) parameter.normal_();
      }
      for (const KeyMap& map : family->key_maps()) {
        const std::string what = family->name() + " " + arch + " as '" + map.format() + "'";
        const fs::path dir = root / (family->name() + "_" + arch + "_" + map.format());
        if (write) {
          fs::create_directories(dir);
          WriteSafetensors((dir / "model.safetensors").string(),
                           testing::Exported(*model, map, what));
        }
        cases.push_back({what, family, config, dir.string()});
      }
    }
  }
  ModelCardConfig tiny = ResolveModelCard(DefaultAssetStore().card("tiny"));
  std::shared_ptr<const AnyConfig> config(std::move(tiny.config));
  const std::string torch_files = fs::absolute("tests/runtime/hub/tiny_torch").string();
  cases.push_back(
      {"tiny (safetensors)", tiny.family, config, (fs::path(BuiltinCardsDir()) / "tiny").string()});
  cases.push_back({"tiny as bfloat16", tiny.family, config,
                   (fs::path(BuiltinCardsDir()) / "tiny").string(), c10::kBFloat16});
  cases.push_back(
      {"tiny torch.save", tiny.family, config, torch_files + "/hf_bin/pytorch_model.bin"});
  cases.push_back({"tiny torch.save bf16 weights", tiny.family, config,
                   torch_files + "/hf_bf16/pytorch_model.bin"});
  cases.push_back({"tiny Meta, 2 rank files", tiny.family, config, torch_files + "/meta"});
  return cases;
}

std::shared_ptr<DecoderModel> Load(const Case& c, const Gangs& gangs, LoadStats* stats) {
  ModelPlacement placement;
  placement.dtype = c.dtype;
  placement.gangs = gangs;
  LoadOptions options;
  options.progress = false;
  return LoadCheckpoint(*c.family, *c.config, c.path, placement, options, stats);
}

// In each rank: every case loaded over the ranks and alone agrees.
void CheckEveryCase() {
  GangOptions options;
  options.timeout = std::chrono::seconds(120);
  const Gangs gangs = SetupGangsFromEnvironment(options);
  Gang& tp = *gangs.tp;
  ASSERT_GT(tp.size(), 1);
  for (const Case& c : Cases(false)) {
    SCOPED_TRACE(c.what);
    LoadStats alone_stats, stats;
    const std::shared_ptr<DecoderModel> alone = Load(c, Gangs::Single(), &alone_stats);
    const std::shared_ptr<DecoderModel> sharded = Load(c, gangs, &stats);
    EXPECT_LT(sharded->num_parameters(), alone->num_parameters());

    const at::Tensor expected = testing::FixedLogits(*alone).to(at::kFloat);
    const at::Tensor logits = testing::FixedLogits(*sharded).to(at::kFloat);
    ASSERT_EQ(logits.sizes(), expected.sizes());
    // Sums in another order: equal to 1e-5 of the logits' scale in float32
    // (2e-2 in bfloat16, a few of its rounding steps), and the same ranking.
    const double scale = expected.abs().max().item<double>();
    const double tolerance = (c.dtype == c10::kFloat ? 1e-5 : 2e-2) * std::max(scale, 1.0);
    EXPECT_LE((logits - expected).abs().max().item<double>(), tolerance) << "scale " << scale;
    EXPECT_TRUE(logits.argmax(-1).equal(expected.argmax(-1)));

    // Real reads: each rank's, summed, stay within 1.15x of the checkpoint,
    // beyond the KV heads that ranks sharing one read once each.
    const at::Tensor read = tp.AllGather(
        at::full({1}, static_cast<int64_t>(stats.bytes), at::TensorOptions().dtype(at::kLong)), 0);
    EXPECT_EQ(stats.checkpoint_bytes, alone_stats.bytes);
    EXPECT_LT(stats.bytes, stats.checkpoint_bytes);
    const int64_t kv_heads = alone->blueprint().attention.num_kv_heads;
    const double copies = tp.size() > kv_heads ? tp.size() / kv_heads - 1 : 0;
    int64_t kv_numel = 0;
    for (const auto& item : alone->named_parameters()) {
      if (item.key().find("k_proj.") != std::string::npos ||
          item.key().find("v_proj.") != std::string::npos) {
        kv_numel += item.value().numel();
      }
    }
    const double checkpoint = static_cast<double>(stats.checkpoint_bytes);
    const double element = checkpoint / static_cast<double>(alone->num_parameters());
    EXPECT_LE(static_cast<double>(read.sum().item<int64_t>()),
              1.15 * (checkpoint + copies * static_cast<double>(kv_numel) * element))
        << "bytes read per rank: " << read << " of " << checkpoint << "; KV copies " << copies;

    if (c.what == "tiny (safetensors)") {
      const std::vector<int64_t> prompt = {5, 6, 7};
      EXPECT_EQ(GenerateGreedy(*sharded, prompt, 8), GenerateGreedy(*alone, prompt, 8));
      SamplingOptions sampling;
      sampling.temperature = 0.9;
      sampling.top_p = 0.95;
      sampling.seed = 7;
      EXPECT_EQ(Generate(*sharded, prompt, 8, sampling), Generate(*alone, prompt, 8, sampling));
    }
  }
}

void ExpectLogitsOfOneProcessOver(int ranks) {
  if (testing::InRank()) {
    CheckEveryCase();
    return;
  }
  EXPECT_GT(Cases(true).size(), 5u);
  const testing::RankResults results = testing::RunAsRanks(ranks);
  for (const RankExit& exit : results.exits) EXPECT_EQ(exit.status, 0) << results.AllLogs();
}

TEST(TensorParallelTest, TwoRanksGiveTheLogitsOfOneProcess) { ExpectLogitsOfOneProcessOver(2); }

TEST(TensorParallelTest, FourRanksGiveTheLogitsOfOneProcessSharingKvHeads) {
  ExpectLogitsOfOneProcessOver(4);
}

}  // namespace
}  // namespace modelhub
