// Loading torch.save checkpoints through the same path as safetensors: every
// layout of the tiny model's weights that make_tiny_torch_checkpoints.py writes
// with PyTorch itself (Hugging Face .bin files, sharded or not, bf16, a fairseq2
// wrapper, Meta's per-rank files) gives exactly the logits of the safetensors
// original; hostile and broken layouts are refused.

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <string>
#include <vector>

#include "runtime/assets/asset_store.h"
#include "runtime/core/errors.h"
#include "runtime/hub/checkpoint_loader.h"
#include "runtime/hub/model_loader.h"
#include "tests/testing/tiny_model.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kFixtures[] = "tests/runtime/hub/tiny_torch";

class Environment : public ::testing::Environment {
 public:
  void SetUp() override { testing::IsolateFromMachine(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new Environment);

std::string Fixture(const std::string& name) {
  return fs::absolute(fs::path(kFixtures) / name).string();
}

class TorchCheckpointLoadTest : public ::testing::Test {
 protected:
  void SetUp() override { tiny_ = ResolveModelCard(DefaultAssetStore().card("tiny")); }

  std::shared_ptr<DecoderModel> Load(const std::string& path, const ModelPlacement& placement = {},
                                     bool restrict = true, LoadStats* stats = nullptr) {
    LoadOptions options;
    options.progress = false;
    options.restrict = restrict;
    return LoadCheckpoint(*tiny_.family, *tiny_.config, path, placement, options, stats);
  }

  std::string Original() const { return (fs::path(BuiltinCardsDir()) / "tiny").string(); }

  ModelCardConfig tiny_;
};

TEST_F(TorchCheckpointLoadTest, EveryLayoutGivesTheLogitsOfTheSafetensorsOriginal) {
  const at::Tensor expected = testing::FixedLogits(*Load(Original()));
  for (const char* path :
       {"hf_bin", "hf_bin/pytorch_model.bin", "hf_bin_sharded",
        "hf_bin_sharded/pytorch_model.bin.index.json", "fairseq2", "fairseq2/model.pt", "meta"}) {
    SCOPED_TRACE(path);
    LoadStats stats;
    const at::Tensor logits = testing::FixedLogits(*Load(Fixture(path), {}, true, &stats));
    EXPECT_TRUE(at::equal(logits, expected));
    const std::string name = path;
    EXPECT_EQ(stats.format, name.rfind("meta", 0) == 0       ? "meta"
                            : name.rfind("fairseq2", 0) == 0 ? "native"
                                                             : "hf");
  }
}

TEST_F(TorchCheckpointLoadTest, Bf16FilesMatchTheOriginalConvertedToBf16) {
  ModelPlacement bf16;
  bf16.dtype = at::kBFloat16;
  EXPECT_TRUE(at::equal(testing::FixedLogits(*Load(Fixture("hf_bf16"), bf16)),
                        testing::FixedLogits(*Load(Original(), bf16))));
  // bf16 weights into a float32 model: converted while loading.
  at::Tensor widened = testing::FixedLogits(*Load(Fixture("hf_bf16")));
  EXPECT_EQ(widened.scalar_type(), at::kFloat);
  EXPECT_TRUE(at::allclose(widened, testing::FixedLogits(*Load(Original())), 0.05, 0.05));
}

TEST_F(TorchCheckpointLoadTest, MetaRankFilesStreamAsTheMergedTensors) {
  CheckpointStream original(*tiny_.family, *tiny_.config, Original());
  CheckpointStream merged(*tiny_.family, *tiny_.config, Fixture("meta"));
  ASSERT_EQ(merged.size(), original.size());
  std::map<std::string, at::Tensor> expected;
  std::string name;
  at::Tensor tensor;
  while (original.Next(&name, &tensor)) expected[name] = tensor;
  while (merged.Next(&name, &tensor)) {
    ASSERT_EQ(expected.count(name), 1u) << name;
    EXPECT_TRUE(at::equal(tensor, expected[name])) << name;
  }
}

TEST_F(TorchCheckpointLoadTest, MetadataObjectsNeedRestrictFalse) {
  try {
    Load(Fixture("namespace"));
    FAIL() << "an argparse.Namespace was accepted under restrict";
  } catch (const CorruptModelCheckpointError& e) {
    EXPECT_THAT(e.what(), HasSubstr("argparse"));
  }
  EXPECT_TRUE(at::equal(testing::FixedLogits(*Load(Fixture("namespace"), {}, false)),
                        testing::FixedLogits(*Load(Original()))));

  // A card's `restrict: false` relaxes it for that card.
  const fs::path dir = testing::FreshDir("restrict-cards");
  std::ofstream(dir / "cards.yaml")
      << "name: tiny_unrestricted\nbase: tiny\ncheckpoint: " << Fixture("namespace")
      << "\nrestrict: false\n"
      << "---\nname: tiny_restricted\nbase: tiny\ncheckpoint: " << Fixture("namespace") << "\n";
  AssetStore store({AssetSource{"built-in", BuiltinCardsDir()}, AssetSource{"test", dir.string()}});
  LoadOptions quiet;
  quiet.progress = false;
  EXPECT_NO_THROW(LoadModelFromCard(store.card("tiny_unrestricted"), {}, quiet));
  EXPECT_THROW(LoadModelFromCard(store.card("tiny_restricted"), {}, quiet),
               CorruptModelCheckpointError);
}

TEST_F(TorchCheckpointLoadTest, LegacyFilesAreRefusedWithAWayOut) {
  try {
    Load(Fixture("legacy/model.pt"));
    FAIL() << "the legacy format was accepted";
  } catch (const CorruptModelCheckpointError& e) {
    EXPECT_THAT(e.what(), HasSubstr("legacy"));
    EXPECT_THAT(e.what(), HasSubstr("model.pt"));
  }
}

TEST_F(TorchCheckpointLoadTest, BrokenMetaRankSetsNameTheProblem) {
  const fs::path gap = testing::FreshDir("meta-gap");
  fs::copy_file(Fixture("meta/consolidated.00.pth"), gap / "consolidated.00.pth");
  fs::copy_file(Fixture("meta/consolidated.01.pth"), gap / "consolidated.02.pth");
  try {
    Load(gap.string());
    FAIL() << "a gap in the rank files was accepted";
  } catch (const CorruptModelCheckpointError& e) {
    EXPECT_THAT(e.what(), HasSubstr("rank 1 is missing"));
  }

  // A rank file from another checkpoint: its names differ.
  const fs::path mixed = testing::FreshDir("meta-mixed");
  fs::copy_file(Fixture("meta/consolidated.00.pth"), mixed / "consolidated.00.pth");
  fs::copy_file(Fixture("hf_bin/pytorch_model.bin"), mixed / "consolidated.01.pth");
  try {
    Load(mixed.string());
    FAIL() << "mismatched rank files were accepted";
  } catch (const CorruptModelCheckpointError& e) {
    EXPECT_THAT(e.what(), HasSubstr("consolidated.01.pth"));
  }

  // One rank alone does not fit the model: the shapes say so (the embedding
  // table, checked first, holds half of model_dim), before anything is allocated.
  try {
    Load(Fixture("meta/consolidated.00.pth"));
    FAIL() << "one rank of two loaded as the whole model";
  } catch (const CorruptModelCheckpointError& e) {
    EXPECT_THAT(e.what(), HasSubstr("has the wrong shape"));
    EXPECT_THAT(e.what(), HasSubstr("model_dim"));
  }
}

}  // namespace
}  // namespace modelhub
