#include "runtime/assets/asset_card.h"

#include <gtest/gtest.h>

#include "runtime/assets/asset_store.h"
#include "runtime/config/yaml_fields.h"
#include "runtime/core/errors.h"
#include "tests/runtime/assets/card_files.h"

namespace modelhub {
namespace {

using testing::CardDir;
using testing::ErrorOf;
using testing::ExpectMentions;

constexpr char kFixtures[] = "tests/runtime/assets/testdata/fairseq2-cards";

class AssetCardTest : public ::testing::Test {
 protected:
  AssetCardTest()
      : base_file_(dir_.Write("a/base.yaml",
                              "name: base\n"
                              "model_family: toy\n"
                              "checkpoint: models/base.pt\n"
                              "restrict: true\n"
                              "weights: {a: 1}\n"
                              "checkpoint_path: \"sub/../model.pt\"\n")),
        leaf_file_(dir_.Write("b/leaf.yaml",
                              "# the leaf\n"
                              "name: leaf\n"
                              "base: base\n"
                              "model_arch: small\n"
                              "flag: yes\n"
                              "number: 12\n"
                              "nothing: ~\n")),
        store_({{"test", dir_.Path()}}) {}

  CardDir dir_;
  std::string base_file_;
  std::string leaf_file_;
  AssetStore store_;
};

TEST_F(AssetCardTest, LooksFieldsUpLeafFirstThroughTheBaseChain) {
  const AssetCard& leaf = store_.card("leaf");
  EXPECT_EQ(leaf.name(), "leaf");
  EXPECT_EQ(leaf.mark().ToString(), leaf_file_ + ":2:1");
  ASSERT_NE(leaf.base(), nullptr);
  EXPECT_EQ(leaf.base()->name(), "base");
  EXPECT_EQ(leaf.base()->base(), nullptr);

  EXPECT_TRUE(leaf.has("model_family"));
  EXPECT_TRUE(leaf.has("nothing"));  // null counts as present
  EXPECT_FALSE(leaf.has("absent"));
  EXPECT_FALSE(leaf.has("name"));  // the name is not a field, as in fairseq2
  EXPECT_EQ(leaf.own_field("model_family"), nullptr);
  EXPECT_EQ(leaf.find("model_family")->card, "base");
  EXPECT_EQ(leaf.field_mark("model_family").ToString(), base_file_ + ":2:1");
  EXPECT_EQ(leaf.field_mark("model_arch").ToString(), leaf_file_ + ":4:1");
  EXPECT_EQ(leaf.string("model_family"), "toy");
  EXPECT_EQ(leaf.maybe_string("model_arch"), "small");
  EXPECT_EQ(leaf.maybe_string("absent"), std::nullopt);
  EXPECT_EQ(leaf.field("weights")["a"].Scalar(), "1");
  EXPECT_EQ(leaf.maybe_bool("restrict"), true);
  EXPECT_EQ(leaf.maybe_bool("absent"), std::nullopt);

  std::vector<std::string> own;
  for (const AssetCardField& field : leaf.own_fields()) own.push_back(field.name);
  EXPECT_EQ(own, (std::vector<std::string>{"base", "model_arch", "flag", "number", "nothing"}));
}

TEST_F(AssetCardTest, TypeErrorsNameCardFileLineAndExpectation) {
  const AssetCard& leaf = store_.card("leaf");
  ExpectMentions(ErrorOf<AssetCardError>([&] { leaf.string("weights"); }),
                 {"asset card 'leaf'", base_file_ + ":5:1",
                  "field 'weights' (from base card 'base') must be a string, got a map"});
  ExpectMentions(ErrorOf<AssetCardError>([&] { leaf.maybe_string("number"); }),
                 {"asset card 'leaf'", leaf_file_ + ":6:1",
                  "field 'number' must be a string, got the integer 12"});
  ExpectMentions(ErrorOf<AssetCardError>([&] { leaf.string("nothing"); }),
                 {leaf_file_ + ":7:1", "field 'nothing' must be a string, got null"});
  ExpectMentions(ErrorOf<AssetCardError>([&] { leaf.maybe_bool("flag"); }),
                 {"asset card 'leaf'", leaf_file_ + ":5:1",
                  "field 'flag' must be true or false, got the string \"yes\""});
  ExpectMentions(ErrorOf<AssetCardError>([&] { leaf.string("absent"); }),
                 {"asset card 'leaf'", leaf_file_ + ":2:1", "has no field 'absent'",
                  "neither has any of its bases"});
  ExpectMentions(ErrorOf<AssetCardError>([&] { leaf.field("absent"); }),
                 {"asset card 'leaf'", leaf_file_ + ":2:1", "has no field 'absent'"});
  ExpectMentions(ErrorOf<AssetCardError>([&] { leaf.ResolvePath("absent"); }),
                 {"asset card 'leaf'", "has no field 'absent'"});
}

TEST_F(AssetCardTest, RelativePathsAreRelativeToTheFileDefiningTheField) {
  const AssetCard& leaf = store_.card("leaf");
  EXPECT_EQ(leaf.ResolvePath("checkpoint"), dir_.Path("a/models/base.pt"));
  EXPECT_EQ(leaf.checkpoint_path(), "model.pt");

  // An overlay's fields are relative to the overlay's own file.
  dir_.Write("c/leaf_user.yaml", "name: leaf@user\ncheckpoint: ../ckpt/leaf.pt\n");
  AssetStore with_overlay({{"test", dir_.Path()}});
  EXPECT_EQ(with_overlay.card("leaf").ResolvePath("checkpoint"), dir_.Path("ckpt/leaf.pt"));
  EXPECT_EQ(with_overlay.card("leaf@").ResolvePath("checkpoint"), dir_.Path("a/models/base.pt"));
}

TEST(AssetCardPathTest, UrisPathsAndCheckpointPaths) {
  CardDir dir;
  const std::string file = dir.Write("uris.yaml",
                                     "name: remote_hg\n"                        // 1
                                     "checkpoint: hg://qwen/qwen2.5-7b\n"       // 2
                                     "---\n"                                    // 3
                                     "name: file_uri\n"                         // 4
                                     "checkpoint: file:///opt/x%20y/m.pt\n"     // 5
                                     "---\n"                                    // 6
                                     "name: localhost_uri\n"                    // 7
                                     "checkpoint: file://localhost/opt/m.pt\n"  // 8
                                     "---\n"                                    // 9
                                     "name: host_uri\n"                         // 10
                                     "checkpoint: file://server/opt/m.pt\n"     // 11
                                     "---\n"                                    // 12
                                     "name: absolute\n"                         // 13
                                     "checkpoint: /opt/models/../m.pt\n"        // 14
                                     "checkpoint_path: a/./b/\n"                // 15
                                     "---\n"                                    // 16
                                     "name: empty\n"                            // 17
                                     "checkpoint: \"\"\n"                       // 18
                                     "checkpoint_path: \"a/..\"\n"              // 19
                                     "---\n"                                    // 20
                                     "name: escaping\n"                         // 21
                                     "checkpoint_path: ../x\n"                  // 22
                                     "---\n"                                    // 23
                                     "name: escaping_later\n"                   // 24
                                     "checkpoint_path: a/../../x\n"             // 25
                                     "---\n"                                    // 26
                                     "name: absolute_path\n"                    // 27
                                     "checkpoint_path: /etc/passwd\n"           // 28
                                     "---\n"                                    // 29
                                     "name: listed\n"                           // 30
                                     "checkpoint: [a]\n"                        // 31
                                     "checkpoint_path: [a]\n"                   // 32
                                     "---\n"                                    // 33
                                     "name: folder\n"                           // 34
                                     "checkpoint: models/m//\n"                 // 35
                                     "---\n"                                    // 36
                                     "name: folder_uri\n"                       // 37
                                     "checkpoint: file:///opt/m/\n"             // 38
                                     "checkpoint_path: sub/\n");                // 39
  AssetStore store({{"test", file}});
  EXPECT_EQ(store.card("remote_hg").ResolvePath("checkpoint"), "hg://qwen/qwen2.5-7b");
  EXPECT_EQ(store.card("remote_hg").checkpoint_path(), std::nullopt);
  EXPECT_EQ(store.card("file_uri").ResolvePath("checkpoint"), "/opt/x y/m.pt");
  EXPECT_EQ(store.card("localhost_uri").ResolvePath("checkpoint"), "/opt/m.pt");
  EXPECT_EQ(store.card("absolute").ResolvePath("checkpoint"), "/opt/m.pt");
  // fairseq2 reads paths with Python's Path(), which drops a trailing slash.
  EXPECT_EQ(store.card("absolute").checkpoint_path(), "a/b");
  EXPECT_EQ(store.card("folder").ResolvePath("checkpoint"), dir.Path("models/m"));
  EXPECT_EQ(store.card("folder_uri").ResolvePath("checkpoint"), "/opt/m");
  EXPECT_EQ(store.card("folder_uri").checkpoint_path(), "sub");
  EXPECT_EQ(store.card("empty").checkpoint_path(), ".");

  ExpectMentions(ErrorOf<AssetCardError>([&] { store.card("host_uri").ResolvePath("checkpoint"); }),
                 {"asset card 'host_uri'", file + ":11:1", "file:///path"});
  ExpectMentions(ErrorOf<AssetCardError>([&] { store.card("empty").ResolvePath("checkpoint"); }),
                 {"asset card 'empty'", file + ":18:1", "got an empty string"});
  ExpectMentions(ErrorOf<AssetCardError>([&] { store.card("listed").ResolvePath("checkpoint"); }),
                 {"asset card 'listed'", file + ":31:1", "must be a URI or a path", "got a list"});
  ExpectMentions(ErrorOf<AssetCardError>([&] { store.card("escaping").checkpoint_path(); }),
                 {"asset card 'escaping'", file + ":22:1", "field 'checkpoint_path'",
                  "must stay inside the downloaded checkpoint", "\"../x\""});
  ExpectMentions(ErrorOf<AssetCardError>([&] { store.card("escaping_later").checkpoint_path(); }),
                 {"asset card 'escaping_later'", file + ":25:1", "climbs out"});
  ExpectMentions(
      ErrorOf<AssetCardError>([&] { store.card("absolute_path").checkpoint_path(); }),
      {"asset card 'absolute_path'", file + ":28:1", "must be a relative path", "\"/etc/passwd\""});
  ExpectMentions(ErrorOf<AssetCardError>([&] { store.card("listed").checkpoint_path(); }),
                 {"asset card 'listed'", file + ":32:1", "got a list"});
}

TEST(IsRemoteUriTest, SchemesOtherThanFile) {
  EXPECT_TRUE(IsRemoteUri("hg://qwen/qwen2.5-7b"));
  EXPECT_TRUE(IsRemoteUri("https://files.example.com/m.tar"));
  EXPECT_TRUE(IsRemoteUri("http://x"));
  EXPECT_TRUE(IsRemoteUri("s3+x.y-z://bucket/key"));
  EXPECT_FALSE(IsRemoteUri("file:///opt/m.pt"));
  EXPECT_FALSE(IsRemoteUri("FILE:///opt/m.pt"));
  EXPECT_FALSE(IsRemoteUri("/opt/m.pt"));
  EXPECT_FALSE(IsRemoteUri("models/m.pt"));
  EXPECT_FALSE(IsRemoteUri("1x://y"));
  EXPECT_FALSE(IsRemoteUri(":x"));
}

TEST(ModelConfigOverridesTest, RootFirstAndOnlyTheFirstFieldNameFound) {
  CardDir dir;
  const std::string file = dir.Write("configs.yaml",
                                     "name: m_root\n"             // 1
                                     "model_config: {dim: 1}\n"   // 2
                                     "---\n"                      // 3
                                     "name: m_mid\n"              // 4
                                     "base: m_root\n"             // 5
                                     "model_config: ~\n"          // 6
                                     "---\n"                      // 7
                                     "name: m_leaf\n"             // 8
                                     "base: m_mid\n"              // 9
                                     "model_config:\n"            // 10
                                     "  layers: 2\n"              // 11
                                     "---\n"                      // 12
                                     "name: o_leaf\n"             // 13
                                     "base: m_leaf\n"             // 14
                                     "model_config_override:\n"   // 15
                                     "  dim: 3\n"                 // 16
                                     "---\n"                      // 17
                                     "name: oo_leaf\n"            // 18
                                     "base: o_leaf\n"             // 19
                                     "model_config_overrides:\n"  // 20
                                     "  dim: 4\n"                 // 21
                                     "---\n"                      // 22
                                     "name: plain\n"              // 23
                                     "model_family: toy\n");      // 24
  AssetStore store({{"test", file}});

  std::vector<ConfigOverride> overrides = store.card("m_leaf").model_config_overrides();
  ASSERT_EQ(overrides.size(), 2u);
  EXPECT_EQ(overrides[0].origin.card, "m_root");
  EXPECT_EQ(overrides[0].origin.field, "model_config");
  EXPECT_EQ(overrides[0].origin.mark.ToString(), file + ":2:1");
  EXPECT_EQ(overrides[1].origin.card, "m_leaf");
  EXPECT_EQ(overrides[1].origin.mark.ToString(), file + ":10:1");
  YAML::Node config = ApplyConfigOverrides(YAML::Load("{dim: 8, layers: 1, vocab: 5}"), overrides);
  EXPECT_EQ(config["dim"].Scalar(), "1");
  EXPECT_EQ(config["layers"].Scalar(), "2");
  EXPECT_EQ(config["vocab"].Scalar(), "5");

  // model_config_override wins over the chain's model_config, which is ignored.
  overrides = store.card("o_leaf").model_config_overrides();
  ASSERT_EQ(overrides.size(), 1u);
  EXPECT_EQ(overrides[0].origin.field, "model_config_override");
  EXPECT_EQ(overrides[0].value["dim"].Scalar(), "3");

  overrides = store.card("oo_leaf").model_config_overrides();
  ASSERT_EQ(overrides.size(), 1u);
  EXPECT_EQ(overrides[0].origin.field, "model_config_overrides");
  EXPECT_EQ(overrides[0].origin.card, "oo_leaf");

  EXPECT_TRUE(store.card("plain").model_config_overrides().empty());

  // Reading and applying overrides leaves the cards as they were (yaml-cpp nodes
  // are shared handles: an assignment anywhere would rebind the card's own node).
  store.card("m_leaf").model_config_overrides();
  EXPECT_EQ(store.card("m_root").field("model_config")["dim"].Scalar(), "1");
  EXPECT_EQ(store.card("m_leaf").field("model_config")["layers"].Scalar(), "2");
  EXPECT_FALSE(store.card("m_leaf").field("model_config")["dim"].IsDefined());
}

// A card's overrides as fairseq2 structures them into a config: numbers in
// quotes, also after ${env:...}, read into numeric fields (ScalarRule::kFairseq2);
// `yes` is a string, not a boolean.
TEST(ModelConfigOverridesTest, MergedOverridesReadAsFairseq2StructuresThem) {
  CardDir dir;
  const std::string file = dir.Write("quoted.yaml",
                                     "name: quoted\n"
                                     "model_config:\n"
                                     "  num_layers: \"${env:MODELHUB_TEST_UNSET_N:3}\"\n"
                                     "  rope_theta: \"3.0\"\n"
                                     "  frequency_factors: [\"3.0\", \"4\"]\n"
                                     "  tied: yes\n");
  AssetStore store({{"test", file}});
  const YAML::Node merged = ApplyConfigOverrides(
      YAML::Load("{num_layers: 1, rope_theta: 1.0, frequency_factors: [1.0, 1.0], tied: false}"),
      store.card("quoted").model_config_overrides());
  const YamlContext context{"card 'quoted' model_config", file, "", ScalarRule::kFairseq2};
  int64_t num_layers = 0;
  double rope_theta = 0;
  std::array<double, 2> factors{};
  YamlFieldReader reader(merged, context);
  reader.Read("num_layers", &num_layers);
  reader.Read("rope_theta", &rope_theta);
  reader.Read("frequency_factors", &factors);
  EXPECT_EQ(num_layers, 3);
  EXPECT_EQ(rope_theta, 3.0);
  EXPECT_EQ(factors, (std::array<double, 2>{3.0, 4.0}));
  bool tied = false;
  // Merged nodes are copies without positions; the model loader points at the
  // card's line (FindOverrideMark).
  EXPECT_EQ(testing::ErrorOf<ConfigError>([&] { reader.Read("tied", &tied); }),
            "card 'quoted' model_config field 'tied': expected true or false, got 'yes'");
}

TEST(AssetCardFixtureTest, FairseqCards) {
  AssetStore store({{"built-in", kFixtures}});
  const AssetCard& mistral = store.card("mistral_7b");
  EXPECT_EQ(mistral.ResolvePath("checkpoint"),
            "https://files.mistral-7b-v0-1.mistral.ai/mistral-7B-v0.1.tar");
  EXPECT_TRUE(IsRemoteUri(mistral.ResolvePath("checkpoint")));
  EXPECT_EQ(mistral.checkpoint_path(), "mistral-7B-v0.1/consolidated.00.pth");
  EXPECT_EQ(mistral.string("model_arch"), "7b");
  EXPECT_EQ(mistral.base(), nullptr);

  const AssetCard& llama = store.card("llama3_8b_instruct");
  EXPECT_FALSE(llama.has("checkpoint"));  // gated
  EXPECT_EQ(llama.maybe_string("url"), "https://ai.meta.com/llama");
  EXPECT_EQ(llama.maybe_bool("use_v2_tokenizer"), true);
  EXPECT_TRUE(llama.model_config_overrides().empty());

  std::vector<ConfigOverride> overrides = store.card("qwen25_7b_instruct").model_config_overrides();
  ASSERT_EQ(overrides.size(), 1u);
  EXPECT_EQ(overrides[0].origin.field, "model_config");
  EXPECT_EQ(overrides[0].value["max_seq_len"].Scalar(), "32768");
  EXPECT_EQ(overrides[0].origin.mark.ToString(), std::string(kFixtures) + "/qwen.yaml:19:1");
}

}  // namespace
}  // namespace modelhub
