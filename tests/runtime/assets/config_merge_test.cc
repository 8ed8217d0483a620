#include "runtime/assets/config_merge.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include "runtime/assets/yaml_values.h"
#include "runtime/core/errors.h"
#include "tests/runtime/assets/card_files.h"

namespace modelhub {
namespace {

using testing::ErrorOf;
using testing::ExpectMentions;

// Overrides written in cards/x.yaml under `model_config:` at line 3.
OverrideOrigin Origin() { return OverrideOrigin{"x", "model_config", {"cards/x.yaml", 3, 1}}; }

std::string Flow(const YAML::Node& node) {
  YAML::Emitter out;
  out << YAML::Flow << node;
  return out.c_str();
}

std::string Merge(const std::string& target, const std::string& overrides) {
  return Flow(MergeUnstructured(YAML::Load(target), YAML::Load(overrides), Origin()));
}

TEST(MergeUnstructuredTest, MergesMapsRecursivelyAndReplacesTheRest) {
  EXPECT_EQ(Merge("{a: 1, b: {c: 2, d: 3}, e: [1, 2]}", "{b: {c: 5}, e: [9], f: x}"),
            "{a: 1, b: {c: 5, d: 3}, e: [9], f: x}");
  EXPECT_EQ(Merge("{a: 1, b: 2}", "{a: ~}"), "{a: ~, b: 2}");
  EXPECT_EQ(Merge("{a: {b: 1}}", "{a: 5}"), "{a: 5}");
  EXPECT_EQ(Merge("{a: {b: 1}}", "{a: {}}"), "{a: {b: 1}}");
}

TEST(MergeUnstructuredTest, MapOverANonMapMergesOverAnEmptyMap) {
  EXPECT_EQ(Merge("{a: 1}", "{a: {x: 1, _del_: [y], _set_: {z: 2}}}"), "{a: {x: 1, z: 2}}");
  EXPECT_EQ(Merge("[1, 2]", "{x: 1}"), "{x: 1}");
  EXPECT_EQ(Merge("~", "{x: {y: 1}}"), "{x: {y: 1}}");
}

TEST(MergeUnstructuredTest, NonMapOverridesReplaceEverything) {
  EXPECT_EQ(Merge("{a: 1}", "[1, 2]"), "[1, 2]");
  EXPECT_EQ(Merge("{a: 1}", "text"), "text");
}

TEST(MergeUnstructuredTest, DelRemovesKeysAndIgnoresAbsentOnes) {
  EXPECT_EQ(Merge("{a: 1, b: {c: 2, d: 3}, e: 4}", "{_del_: [a, missing], b: {_del_: [d]}}"),
            "{b: {c: 2}, e: 4}");
  // Deleted first, then set again by the same override: the new value, unmerged.
  EXPECT_EQ(Merge("{a: {x: 1}, b: 2}", "{_del_: [a], a: {y: 2}}"), "{b: 2, a: {y: 2}}");
  EXPECT_EQ(Merge("{a: 1}", "{_del_: ~}"), "{a: 1}");
}

TEST(MergeUnstructuredTest, SetReplacesWithoutMerging) {
  EXPECT_EQ(Merge("{b: {c: 2, d: 3}, e: 1}", "{_set_: {b: {c: 9}}}"), "{b: {c: 9}, e: 1}");
  // _set_ is applied last and its values are taken as they are.
  EXPECT_EQ(Merge("{b: {c: 2}}", "{b: {d: 1}, _set_: {b: {_del_: [c]}}}"), "{b: {_del_: [c]}}");
  EXPECT_EQ(Merge("{b: 1}", "{_set_: ~}"), "{b: 1}");
}

TEST(MergeUnstructuredTest, KeepsTheTargetsKeyOrderAndAppendsNewKeys) {
  EXPECT_EQ(Merge("{z: 1, a: 2}", "{new: 3, z: 4}"), "{z: 4, a: 2, new: 3}");
}

TEST(MergeUnstructuredTest, ResultSharesNoNodeWithItsInputs) {
  YAML::Node target = YAML::Load("{a: {b: 1}, l: [1]}");
  YAML::Node overrides = YAML::Load("{c: {d: 2}, _set_: {e: {f: 3}}}");
  YAML::Node result = MergeUnstructured(target, overrides, Origin());
  result["a"]["b"] = 10;
  result["l"].push_back(2);
  result["c"]["d"] = 20;
  result["e"]["f"] = 30;
  EXPECT_EQ(Flow(target), "{a: {b: 1}, l: [1]}");
  EXPECT_EQ(Flow(overrides), "{c: {d: 2}, _set_: {e: {f: 3}}}");
}

TEST(MergeUnstructuredTest, BadDirectivesNameCardFileLineAndWhatWasExpected) {
  const std::string overrides =
      "attention:\n"
      "  _del_: {a: 1}\n";
  std::string message = ErrorOf<AssetCardError>(
      [&] { MergeUnstructured(YAML::Load("{}"), YAML::Load(overrides), Origin()); });
  ExpectMentions(message, {"asset card 'x'", "cards/x.yaml:2:10",
                           "field 'model_config.attention._del_' must be a list of the keys to "
                           "delete, got a map"});

  message = ErrorOf<AssetCardError>(
      [&] { MergeUnstructured(YAML::Load("{}"), YAML::Load("_del_: [a, 3]"), Origin()); });
  ExpectMentions(message, {"asset card 'x'", "cards/x.yaml:1:12",
                           "item 1 of field 'model_config._del_' must be a key (a string), got "
                           "the integer 3"});

  message = ErrorOf<AssetCardError>(
      [&] { MergeUnstructured(YAML::Load("{}"), YAML::Load("\n_set_: [1]"), Origin()); });
  ExpectMentions(message, {"asset card 'x'", "cards/x.yaml:2:8",
                           "field 'model_config._set_' must be a map of keys to values, got a "
                           "list"});

  message = ErrorOf<AssetCardError>(
      [&] { MergeUnstructured(YAML::Load("{}"), YAML::Load("_set_: {1: a}"), Origin()); });
  ExpectMentions(message, {"cards/x.yaml:1:9",
                           "keys of field 'model_config._set_' must be "
                           "strings, got the integer 1"});

  // A node without a position (built in code) falls back to the field's.
  YAML::Node built(YAML::NodeType::Map);
  built["_del_"] = "a";
  message = ErrorOf<AssetCardError>([&] { MergeUnstructured(YAML::Load("{}"), built, Origin()); });
  ExpectMentions(message, {"asset card 'x'", "cards/x.yaml:3:1", "got the string \"a\""});
}

class EnvTest : public ::testing::Test {
 protected:
  void SetUp() override {
    setenv("MODELHUB_TEST_DIM", "4096", 1);
    setenv("MODELHUB_TEST_EMPTY", "", 1);
    unsetenv("MODELHUB_TEST_UNSET");
  }
  void TearDown() override {
    unsetenv("MODELHUB_TEST_DIM");
    unsetenv("MODELHUB_TEST_EMPTY");
  }
};

TEST_F(EnvTest, ExpandsVariablesAndDefaults) {
  YAML::Node node = YAML::Load(
      "dim: ${env:MODELHUB_TEST_DIM}\n"
      "path: ${env:MODELHUB_TEST_UNSET:/data}/x-${env:MODELHUB_TEST_DIM:1}\n"
      "empty: \"[${env:MODELHUB_TEST_EMPTY:fallback}]\"\n"
      "no_default_text: \"${env:MODELHUB_TEST_UNSET:}\"\n"
      "list: [\"${env:MODELHUB_TEST_DIM}\", 3]\n"
      "${env:MODELHUB_TEST_DIM}: key\n"
      "kept: \"${env:1BAD} ${env:MODELHUB_TEST_DIM ${env:} $${env:MODELHUB_TEST_DIM}\"\n");
  YAML::Node expanded = ExpandEnvVars(node, Origin());
  EXPECT_EQ(expanded["dim"].Scalar(), "4096");
  EXPECT_EQ(KindOfYaml(expanded["dim"]), YamlValueKind::kString);  // as fairseq2's str
  EXPECT_EQ(expanded["path"].Scalar(), "/data/x-4096");
  EXPECT_EQ(expanded["empty"].Scalar(), "[]");  // set but empty is not unset
  EXPECT_EQ(KindOfYaml(expanded["empty"]), YamlValueKind::kString);
  EXPECT_EQ(expanded["no_default_text"].Scalar(), "");
  EXPECT_EQ(expanded["list"][0].Scalar(), "4096");
  EXPECT_EQ(expanded["${env:MODELHUB_TEST_DIM}"].Scalar(), "key");  // keys are not expanded
  EXPECT_EQ(expanded["kept"].Scalar(), "${env:1BAD} ${env:MODELHUB_TEST_DIM ${env:} $4096");
  EXPECT_EQ(node["dim"].Scalar(), "${env:MODELHUB_TEST_DIM}");  // the input is unchanged
}

TEST_F(EnvTest, UnsetVariableWithoutDefaultIsAnError) {
  const std::string text =
      "dim: 1\n"
      "rope:\n"
      "  path: \"a/${env:MODELHUB_TEST_UNSET}\"\n";
  const std::string message =
      ErrorOf<AssetCardError>([&] { ExpandEnvVars(YAML::Load(text), Origin()); });
  ExpectMentions(message, {"asset card 'x'", "cards/x.yaml:3:9", "MODELHUB_TEST_UNSET",
                           "field 'model_config.rope.path'", "not set and has no default"});
}

TEST_F(EnvTest, ApplyConfigOverridesMergesRootFirstThenExpands) {
  YAML::Node preset = YAML::Load("{dim: 8, layers: 2, rope: {theta: 10000.0, scale: 1.0}}");
  std::vector<ConfigOverride> overrides = {
      {YAML::Load("{layers: 4, rope: {theta: 500000.0}}"),
       {"base", "model_config", {"base.yaml", 5, 1}}},
      {YAML::Node(YAML::NodeType::Null), {"middle", "model_config", {"middle.yaml", 1, 1}}},
      {YAML::Load("dim: ${env:MODELHUB_TEST_DIM}\nrope:\n  _del_: [scale, '${env:NOPE}']\n"),
       {"leaf", "model_config", {"leaf.yaml", 7, 1}}},
  };
  YAML::Node result = ApplyConfigOverrides(preset, overrides);
  EXPECT_EQ(Flow(result), "{dim: 4096, layers: 4, rope: {theta: 500000.0}}");
  EXPECT_EQ(Flow(preset), "{dim: 8, layers: 2, rope: {theta: 10000.0, scale: 1.0}}");
  EXPECT_EQ(Flow(ApplyConfigOverrides(preset, {})), Flow(preset));
}

TEST_F(EnvTest, ApplyConfigOverridesPointsAtTheLineUsingAnUnsetVariable) {
  std::vector<ConfigOverride> overrides = {
      {YAML::Load("dim: 1\n_set_:\n  path: ${env:MODELHUB_TEST_UNSET}\n"),
       {"leaf", "model_config_overrides", {"cards/leaf.yaml", 9, 1}}},
  };
  const std::string message =
      ErrorOf<AssetCardError>([&] { ApplyConfigOverrides(YAML::Load("{}"), overrides); });
  ExpectMentions(message, {"asset card 'leaf'", "cards/leaf.yaml:3:9", "MODELHUB_TEST_UNSET",
                           "model_config_overrides._set_.path"});
}

}  // namespace
}  // namespace modelhub
