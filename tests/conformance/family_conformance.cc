// The suite every model family runs: modelhub_family (codegen/family.bzl) adds
// a `<name>_conformance_test` linking the family and this library, so a new
// family is tested by adding its spec and BUILD line, with no test edit. It
// checks whatever families are linked:
//   - every preset is valid, and its model (on the meta device) has the
//     parameter count of the decoder's parameter list, of an independent
//     formula, and of the spec's published `params:`;
//   - every preset's config survives YAML and config.json round trips;
//   - a small random model of each preset's shape, exported in each of the
//     family's checkpoint formats, loads back with identical logits, every
//     parameter having exactly one source key.

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <memory>
#include <set>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "runtime/blueprint/decoder_parameters.h"
#include "runtime/config/yaml_fields.h"
#include "runtime/formats/safetensors.h"
#include "runtime/hub/checkpoint_loader.h"
#include "runtime/hub/hf_config.h"
#include "runtime/hub/model_family_registry.h"
#include "runtime/mapping/rope_layout.h"
#include "tests/testing/reference_counts.h"
#include "tests/testing/small_models.h"
#include "tests/testing/tiny_model.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using testing::BlueprintConfig;
using testing::Exported;
using testing::Shrunk;

std::vector<const ModelFamily*> Families() {
  std::vector<const ModelFamily*> families = ListModelFamilies();
  EXPECT_FALSE(families.empty()) << "no model family is linked";
  return families;
}

ModelPlacement Meta() {
  ModelPlacement meta;
  meta.meta = true;
  return meta;
}

TEST(FamilyConformanceTest, EveryPresetHasItsParameterCount) {
  for (const ModelFamily* family : Families()) {
    EXPECT_FALSE(family->arch_names().empty()) << family->name();
    for (const std::string& arch : family->arch_names()) {
      const std::string what = family->name() + " " + arch;
      const std::unique_ptr<AnyConfig> config = family->GetArchConfig(arch);
      config->Validate();
      const DecoderBlueprint blueprint = config->ToBlueprint();
      const int64_t count = family->CreateNewModel(*config, Meta())->num_parameters();
      EXPECT_EQ(count, DecoderParameterCount(blueprint)) << what;
      EXPECT_EQ(count, testing::ReferenceParameterCount(blueprint)) << what;
      if (std::optional<int64_t> published = family->PublishedParameterCount(arch)) {
        EXPECT_EQ(count, *published) << what << ": the spec's params";
      }
    }
  }
}

TEST(FamilyConformanceTest, EveryPresetRoundTripsThroughYaml) {
  for (const ModelFamily* family : Families()) {
    for (const std::string& arch : family->arch_names()) {
      const std::unique_ptr<AnyConfig> preset = family->GetArchConfig(arch);
      const std::string text = EmitYaml(preset->ToYaml());
      std::unique_ptr<AnyConfig> parsed = preset->NewDefault();
      parsed->Merge(YAML::Load(text), YamlContext{"round trip", "", ""});
      EXPECT_EQ(EmitYaml(parsed->ToYaml()), text) << family->name() << " " << arch;
    }
  }
}

TEST(FamilyConformanceTest, ConfigJsonWrittenThenReadGivesTheSameModel) {
  for (const ModelFamily* family : Families()) {
    if (family->hf_config().model_types.empty()) continue;  // the spec reads no config.json
    for (const std::string& arch : family->arch_names()) {
      const DecoderBlueprint blueprint = family->GetArchConfig(arch)->ToBlueprint();
      const HfModelConfig read =
          ParseHfConfig(FormatHfConfig(*family, blueprint, c10::kFloat, "/out"), "/out");
      EXPECT_EQ(read.family, family) << arch;
      EXPECT_EQ(DescribeDifference(blueprint, read.config->ToBlueprint()), "")
          << family->name() << " " << arch;
    }
  }
}

TEST(FamilyConformanceTest, SmallModelsExportedInEachFormatLoadBackIdentical) {
  int loads = 0;
  for (const ModelFamily* family : Families()) {
    std::vector<DecoderBlueprint> shapes;  // each distinct small blueprint once
    for (const std::string& arch : family->arch_names()) {
      const DecoderBlueprint blueprint = Shrunk(family->GetArchConfig(arch)->ToBlueprint());
      if (std::any_of(shapes.begin(), shapes.end(), [&](const DecoderBlueprint& seen) {
            return DescribeDifference(seen, blueprint).empty();
          })) {
        continue;
      }
      shapes.push_back(blueprint);
      const BlueprintConfig config(blueprint);
      const std::shared_ptr<DecoderModel> model = family->CreateNewModel(config, {});
      {
        at::NoGradGuard no_grad;  // biases start at 0 and norms at 1: no layout shows in them
        at::manual_seed(static_cast<uint64_t>(shapes.size()));
        for (at::Tensor& parameter : model->parameters()) parameter.normal_();
      }
      const at::Tensor expected = testing::FixedLogits(*model);
      for (const KeyMap& map : family->key_maps()) {
        const std::string what = family->name() + " " + arch + " as '" + map.format() + "'";
        const fs::path dir = testing::FreshDir(family->name() + "_" + map.format());
        WriteSafetensors((dir / "model.safetensors").string(), Exported(*model, map, what));
        LoadOptions options;
        options.progress = false;
        LoadStats stats;
        const std::shared_ptr<DecoderModel> loaded =
            LoadCheckpoint(*family, config, dir.string(), {}, options, &stats);
        EXPECT_EQ(stats.format, map.format()) << what;
        EXPECT_TRUE(at::equal(testing::FixedLogits(*loaded), expected)) << what;
        ++loads;
      }
    }
  }
  EXPECT_GT(loads, 0);
}

}  // namespace
}  // namespace modelhub
