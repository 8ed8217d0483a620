#include "runtime/assets/asset_store.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <filesystem>
#include <map>

#include "runtime/assets/config_merge.h"
#include "runtime/assets/yaml_values.h"
#include "runtime/core/errors.h"
#include "tests/runtime/assets/card_files.h"

namespace modelhub {
namespace {

using testing::CardDir;
using testing::ErrorOf;
using testing::ExpectMentions;

constexpr char kFixtures[] = "tests/runtime/assets/testdata/fairseq2-cards";

std::string Fixture(const std::string& file) { return std::string(kFixtures) + "/" + file; }

std::vector<std::string> Names(const std::vector<std::shared_ptr<const AssetCard>>& cards) {
  std::vector<std::string> names;
  for (const auto& card : cards) names.push_back(card->name());
  return names;
}

TEST(AssetStoreFixtureTest, EveryFairseqCardLoads) {
  AssetStore store({{"built-in", kFixtures}});
  const std::vector<std::string> names = store.card_names();
  EXPECT_EQ(names.size(), 51u);
  EXPECT_TRUE(std::is_sorted(names.begin(), names.end()));
  for (const std::string& name : names) {
    const AssetCard& card = store.card(name);
    EXPECT_EQ(card.name(), name);
    EXPECT_EQ(card.source(), "built-in");
    EXPECT_TRUE(card.has("model_family")) << name;
    card.model_config_overrides();
  }
  EXPECT_EQ(store.find_cards("model_family", "llama").size(), 25u);
  EXPECT_EQ(store.find_cards("model_family", "llama4").size(), 3u);
  EXPECT_EQ(store.find_cards("model_family", "qwen").size(), 17u);
  EXPECT_EQ(store.find_cards("model_family", "hg").size(), 4u);
  EXPECT_EQ(Names(store.find_cards("model_family", "mistral")),
            (std::vector<std::string>{"mistral_7b", "mistral_7b_instruct"}));
}

TEST(AssetStoreFixtureTest, BaseChains) {
  AssetStore store({{"built-in", kFixtures}});
  const AssetCard& card = store.card("llama3_8b_instruct");
  ASSERT_NE(card.base(), nullptr);
  EXPECT_EQ(card.base()->name(), "llama3_instruct");
  ASSERT_NE(card.base()->base(), nullptr);
  EXPECT_EQ(card.base()->base()->name(), "llama3");
  EXPECT_EQ(card.base()->base()->base(), nullptr);
  EXPECT_EQ(card.string("model_family"), "llama");
  EXPECT_EQ(card.string("model_arch"), "llama3_8b");
  EXPECT_EQ(card.string("url"), "https://ai.meta.com/llama");
  EXPECT_EQ(card.field_mark("url").ToString(), Fixture("llama.yaml") + ":70:1");
  // Leaf first: llama3_instruct's tokenizer_config_overrides hide llama3's.
  EXPECT_EQ(card.find("tokenizer_config_overrides")->card, "llama3_instruct");
  EXPECT_EQ(card.field("tokenizer_config_overrides")["use_eot"].Scalar(), "true");
  // The same base object is shared with direct lookups (cached).
  EXPECT_EQ(card.base(), &store.card("llama3_instruct"));
}

TEST(AssetStoreFixtureTest, QwenSetDirective) {
  AssetStore store({{"built-in", kFixtures}});
  const AssetCard& card = store.card("qwen25_32b_instruct");
  const AssetCardField* field = card.find("tokenizer_config");
  ASSERT_NE(field, nullptr);
  YAML::Node merged =
      MergeUnstructured(YAML::Load("{use_im_end: false, vocab: {size: 5}}"), field->value,
                        OverrideOrigin{card.name(), field->name, field->mark});
  EXPECT_EQ(merged["use_im_end"].Scalar(), "true");
  EXPECT_EQ(merged["vocab"]["size"].Scalar(), "5");
  EXPECT_FALSE(merged["_set_"].IsDefined());
}

TEST(AssetStoreTest, WalksDirectoriesRecursivelyInSortedOrderForYamlFilesOnly) {
  CardDir dir;
  dir.Write("b.yaml", "name: from_b\n");
  dir.Write("a/z.yml", "name: from_a_z\n");
  dir.Write("a/notes.txt", "not: [yaml\n");
  dir.Write("c.YAML.bak", "not: [yaml\n");
  const std::string single = dir.Write("single/cards.txt", "name: one\n---\nname: two\n");
  AssetStore store({{"test", dir.Path()}});
  EXPECT_EQ(store.card_names(), (std::vector<std::string>{"from_a_z", "from_b"}));
  AssetStore file_only({{"test", single}});
  EXPECT_EQ(file_only.card_names(), (std::vector<std::string>{"one", "two"}));
  EXPECT_EQ(file_only.card("two").mark().ToString(), single + ":3:1");
}

TEST(AssetStoreTest, EmptyDocumentsAreSkipped) {
  CardDir dir;
  const std::string file =
      dir.Write("e.yaml", "---\n---\nname: e1\n---\n# nothing here\n---\nname: e2\n---\n");
  AssetStore store({{"test", file}});
  EXPECT_EQ(store.card_names(), (std::vector<std::string>{"e1", "e2"}));
  EXPECT_EQ(store.card("e2").mark().ToString(), file + ":7:1");
}

// Cards share fields with YAML merge keys as ruamel.yaml (fairseq2) reads them.
TEST(AssetStoreTest, MergeKeysShareFields) {
  CardDir dir;
  const std::string file = dir.Write("m.yaml",
                                     "name: m1\n"
                                     "common: &common {model_family: llama, model_arch: x}\n"
                                     "<<: *common\n"
                                     "---\n"
                                     "name: m2\n"
                                     "<<: [{model_family: qwen, model_arch: qwen25_7b}]\n"
                                     "model_arch: qwen25_1.5b\n");
  AssetStore store({{"test", file}});
  EXPECT_EQ(store.card("m1").field("model_family").Scalar(), "llama");
  EXPECT_EQ(store.card("m1").field("model_arch").Scalar(), "x");
  EXPECT_EQ(store.card("m2").field("model_family").Scalar(), "qwen");
  EXPECT_EQ(store.card("m2").field("model_arch").Scalar(), "qwen25_1.5b");
  EXPECT_EQ(store.card("m2").own_field("<<"), nullptr);
}

TEST(AssetStoreTest, MissingSourceIsAssetNotFound) {
  CardDir dir;
  const std::string missing = dir.Path("nope");
  ExpectMentions(ErrorOf<AssetNotFoundError>([&] {
                   AssetStore store({{"extra", missing}});
                 }),
                 {missing, "not found"});
}

class OverlayTest : public ::testing::Test {
 protected:
  OverlayTest()
      : base_file_(dir_.Write("cards/base.yaml",
                              "name: fam\n"                     // 1
                              "model_family: toy\n"             // 2
                              "url: https://example.com/fam\n"  // 3
                              "model_config: {a: 1, b: 2}\n"    // 4
                              "---\n"                           // 5
                              "name: child\n"                   // 6
                              "base: fam\n"                     // 7
                              "model_arch: small\n"             // 8
                              "---\n"                           // 9
                              "name: other\n"                   // 10
                              "model_family: other\n"           // 11
                              "---\n"                           // 12
                              "name: switch\n"                  // 13
                              "base: fam\n")),                  // 14
        user_file_(dir_.Write("user/overlays.yaml",
                              "name: fam@user\n"                       // 1
                              "url: https://mirror.example.com/fam\n"  // 2
                              "model_config: {b: 3}\n"                 // 3
                              "---\n"                                  // 4
                              "name: child@user\n"                     // 5
                              "checkpoint: local/child.pt\n"           // 6
                              "---\n"                                  // 7
                              "name: lonely@user\n"                    // 8
                              "model_family: toy\n"                    // 9
                              "---\n"                                  // 10
                              "name: switch@user\n"                    // 11
                              "base: other\n"                          // 12
                              "---\n"                                  // 13
                              "name: fam @ cluster\n"                  // 14
                              "url: https://cluster/fam\n")),          // 15
        store_({{"built-in", dir_.Path("cards")}, {"user", dir_.Path("user")}}) {}

  CardDir dir_;
  std::string base_file_;
  std::string user_file_;
  AssetStore store_;
};

TEST_F(OverlayTest, UserOverlaysReplaceTopLevelFieldsOfCardsAndTheirBases) {
  const AssetCard& child = store_.card("child");
  EXPECT_EQ(child.string("url"), "https://mirror.example.com/fam");
  EXPECT_EQ(child.field_mark("url").ToString(), user_file_ + ":2:1");
  EXPECT_EQ(child.string("model_family"), "toy");
  // Shallow: the overlay's model_config replaces the card's whole map.
  YAML::Node config = child.field("model_config");
  EXPECT_FALSE(config["a"].IsDefined());
  EXPECT_EQ(config["b"].Scalar(), "3");
  EXPECT_EQ(child.ResolvePath("checkpoint"), dir_.Path("user/local/child.pt"));
  EXPECT_EQ(child.mark().ToString(), base_file_ + ":6:1");
  // The overlay is part of the card: same answers with the environment named.
  EXPECT_EQ(store_.card("child@user").string("url"), "https://mirror.example.com/fam");
}

TEST_F(OverlayTest, AnEmptyEnvironmentAppliesNoOverlayAndOthersTheirOwn) {
  const AssetCard& plain = store_.card("child@");
  EXPECT_EQ(plain.string("url"), "https://example.com/fam");
  EXPECT_FALSE(plain.has("checkpoint"));
  EXPECT_EQ(plain.field("model_config")["a"].Scalar(), "1");
  const AssetCard& cluster = store_.card(" child @ cluster ");
  EXPECT_EQ(cluster.string("url"), "https://cluster/fam");
  EXPECT_FALSE(cluster.has("checkpoint"));
}

TEST_F(OverlayTest, ApplyingAnOverlayLeavesTheCardDocumentAsItWas) {
  store_.card("child");  // resolves fam and child with their overlays
  AssetStore fresh({{"built-in", dir_.Path("cards")}, {"user", dir_.Path("user")}});
  for (const AssetStore* store : {&store_, &fresh}) {
    const AssetCard& plain = store->card("child@");
    EXPECT_EQ(plain.base()->string("url"), "https://example.com/fam");
    EXPECT_EQ(plain.base()->field("model_config")["a"].Scalar(), "1");
    EXPECT_EQ(plain.base()->field_mark("url").ToString(), base_file_ + ":3:1");
  }
  EXPECT_EQ(store_.card("child").string("url"), "https://mirror.example.com/fam");
}

TEST_F(OverlayTest, AnOverlayCanChangeTheBase) {
  EXPECT_EQ(store_.card("switch").base()->name(), "other");
  EXPECT_EQ(store_.card("switch").string("model_family"), "other");
  EXPECT_EQ(store_.card("switch@").base()->name(), "fam");
}

TEST_F(OverlayTest, AnOverlayAloneIsNotACard) {
  EXPECT_EQ(store_.card_names(), (std::vector<std::string>{"child", "fam", "other", "switch"}));
  EXPECT_EQ(store_.maybe_retrieve_card("lonely"), nullptr);
  EXPECT_EQ(ErrorOf<ModelNotKnownError>([&] { store_.card("lonely"); }),
            "no model is named 'lonely' (see 'modelhub list')");
  EXPECT_EQ(ErrorOf<AssetNotFoundError>([&] { store_.retrieve_card("lonely@user"); }),
            "asset 'lonely@user' is not found");
  EXPECT_EQ(ErrorOf<ModelNotKnownError>([&] { store_.card("nothing"); }),
            "no model is named 'nothing' (see 'modelhub list')");
  // A hint says why a source a user may expect is missing.
  AssetStore hinted({{"built-in", dir_.Path("cards")}, {"user", dir_.Path("user")}});
  hinted.set_unknown_name_hint("no built-in cards");
  EXPECT_EQ(ErrorOf<ModelNotKnownError>([&] { hinted.card("nothing"); }),
            "no model is named 'nothing' (see 'modelhub list'); no built-in cards");
  EXPECT_EQ(store_.maybe_retrieve_card("@user"), nullptr);
  EXPECT_EQ(Names(store_.find_cards("model_family", "toy")),
            (std::vector<std::string>{"child", "fam"}));
}

TEST(AssetStoreErrorTest, SameNameTwiceNamesBothPlaces) {
  CardDir dir;
  const std::string first = dir.Write("builtin/a.yaml", "name: x\n---\nname: y\n");
  const std::string second = dir.Write("user/b.yaml", "# again\nname: x\n");
  std::string message = ErrorOf<AssetCardError>([&] {
    AssetStore store({{"built-in", dir.Path("builtin")}, {"user", dir.Path("user")}});
  });
  ExpectMentions(message, {"asset card 'x'", second + ":2:1", "(user cards)", first + ":1:1",
                           "(built-in cards)", "defined twice"});

  // In one source, in one file, and for overlays.
  const std::string same = dir.Write("one/c.yaml", "name: z\n---\nname: z\n");
  message = ErrorOf<AssetCardError>([&] { AssetStore store({{"extra", same}}); });
  ExpectMentions(message, {"asset card 'z'", same + ":3:1", same + ":1:1", "defined twice"});
  const std::string overlays = dir.Write("two/d.yaml", "name: z@user\n---\nname: z @user\n");
  message = ErrorOf<AssetCardError>([&] { AssetStore store({{"extra", overlays}}); });
  ExpectMentions(message, {"'z@user' is defined twice", overlays + ":3:1", overlays + ":1:1"});
}

TEST(AssetStoreErrorTest, MissingBaseAndCyclesAreErrorsOfTheCardLookedUp) {
  CardDir dir;
  const std::string file = dir.Write("bases.yaml",
                                     "name: a\n"     // 1
                                     "base: nope\n"  // 2
                                     "---\n"         // 3
                                     "name: b\n"     // 4
                                     "base: a\n"     // 5
                                     "---\n"         // 6
                                     "name: x\n"     // 7
                                     "base: y\n"     // 8
                                     "---\n"         // 9
                                     "name: y\n"     // 10
                                     "base: x\n"     // 11
                                     "---\n"         // 12
                                     "name: self\n"  // 13
                                     "base: self\n"  // 14
                                     "---\n"         // 15
                                     "name: fine\n"  // 16
                                     "base: ~\n");   // 17
  AssetStore store({{"test", file}});
  ExpectMentions(ErrorOf<AssetCardError>([&] { store.card("a"); }),
                 {"asset card 'a'", file + ":2:1", "base card 'nope' of card 'a' does not exist"});
  ExpectMentions(ErrorOf<AssetCardError>([&] { store.card("b"); }),
                 {"asset card 'b'", file + ":2:1", "base card 'nope' of card 'a' does not exist"});
  ExpectMentions(ErrorOf<AssetCardError>([&] { store.card("x"); }),
                 {"asset card 'x'", file + ":11:1", "loops: x -> y -> x"});
  ExpectMentions(ErrorOf<AssetCardError>([&] { store.card("y"); }),
                 {"asset card 'y'", file + ":8:1", "loops: y -> x -> y"});
  ExpectMentions(ErrorOf<AssetCardError>([&] { store.card("self"); }),
                 {"asset card 'self'", file + ":14:1", "loops: self -> self"});
  // Broken cards leave the others usable.
  EXPECT_EQ(store.card("fine").base(), nullptr);
  EXPECT_EQ(store.card_names().size(), 6u);
}

// The AssetCardError message for a store made of one file holding `text`.
std::string LoadError(const CardDir& dir, const std::string& text, std::string* file) {
  *file = dir.Write("bad.yaml", text);
  return ErrorOf<AssetCardError>([&] { AssetStore store({{"test", *file}}); });
}

TEST(AssetStoreErrorTest, BadDocumentsNameFileLineAndExpectation) {
  CardDir dir;
  std::string file;
  std::string message = LoadError(dir, "---\n- a\n- b\n", &file);
  ExpectMentions(message, {file + ":2:1", "document 1 must be a map of card fields, got a list"});
  message = LoadError(dir, "name: ok\n---\njust text\n", &file);
  ExpectMentions(message, {file + ":3:1", "document 2", "got the string \"just text\""});
  message = LoadError(dir, "model_family: toy\n", &file);
  ExpectMentions(message, {file + ":1:1", "document 1 has no 'name' field"});
  message = LoadError(dir, "name: \"\"\nmodel_family: toy\n", &file);
  ExpectMentions(message, {file + ":1:1", "has no 'name' field"});
  message = LoadError(dir, "model_family: toy\nname: 12\n", &file);
  ExpectMentions(message, {file + ":2:7", "'name' must be a string, got the integer 12"});
  message = LoadError(dir, "name: a@b@c\n", &file);
  ExpectMentions(message, {"asset card 'a@b@c'", file + ":1:7", "one '@' at most"});
  message = LoadError(dir, "name: \" @user\"\n", &file);
  ExpectMentions(message, {file + ":1:7", "no card name before '@'"});
  message = LoadError(dir, "name: c\nbase: [x]\n", &file);
  ExpectMentions(message, {"asset card 'c'", file + ":2:1",
                           "'base' must be the name of a card (a string), got a list"});
  message = LoadError(dir, "name: c\nbase: x@user\n", &file);
  ExpectMentions(message, {"asset card 'c'", file + ":2:1", "not an overlay", "\"x@user\""});
  message = LoadError(dir, "name: c\nbase: \" \"\n", &file);
  ExpectMentions(message, {"asset card 'c'", file + ":2:1", "got an empty name"});
  message = LoadError(dir, "name: c\nmodel_family: a\nx:\n  k: 1\nmodel_family: b\n", &file);
  ExpectMentions(message, {file + ":5:1", "key 'model_family' is given twice", "first at line 2"});
  message = LoadError(dir, "name: c\nx:\n  k: 1\n  k: 2\n", &file);
  ExpectMentions(message, {file + ":4:3", "key 'k' is given twice"});
  message = LoadError(dir, "name: c\nx: [a,\n", &file);
  ExpectMentions(message, {file + ":", "not valid YAML"});
  message = LoadError(dir, "name: c\nx:\n  <<: [1]\n", &file);
  ExpectMentions(message, {file + ":3:8", "not valid YAML: a merge key (<<) takes a map"});
  // yaml-cpp 0.7's LoadAll never returns on these (found by asset_store_fuzzer).
  message = LoadError(dir, "{\"name\": \"c\"}\n, \"x\": 1\n", &file);
  ExpectMentions(message, {file + ":2:1", "not valid YAML: unexpected ','"});
  message = LoadError(dir, "name: c\n---\n[x], [y]\n", &file);
  ExpectMentions(message, {file + ":3:4", "not valid YAML: unexpected ','"});
}

// Hostile card files: each is one AssetCardError naming the file and line, in
// time and memory linear in the file, and leaves good files loadable.
TEST(AssetStoreLimitsTest, RecursiveAliasesAreRefused) {
  CardDir dir;
  std::string file;
  std::string message;
  message = LoadError(dir, "x: &x [*x]\n", &file);
  ExpectMentions(message, {file + ":1:", "an alias refers to a map or list that contains it"});
  message = LoadError(dir, "x: &x {a: *x}\n", &file);
  ExpectMentions(message, {file + ":1:", "an alias refers to a map or list that contains it"});
  message = LoadError(dir, "name: m\nmodel_config: &c {<<: *c}\n", &file);
  ExpectMentions(message, {file + ":2:", "an alias refers to a map or list that contains it"});
  message = LoadError(dir, "name: m\nx:\n  - &l\n    - [*l]\n", &file);
  ExpectMentions(message, {file + ":3:", "an alias refers to a map or list that contains it"});
  // Aliases to nodes that do not contain them are fine, also as keys.
  AssetStore store({{"test", dir.Write("good.yaml",
                                       "name: m\nk: &k key\nx: &x {a: [1, 2]}\ny: [*x, *x]\n"
                                       "z: {*k : 1}\n")}});
  const AssetCard& card = store.card("m");
  EXPECT_EQ(card.field("y")[1]["a"][1].Scalar(), "2");
  EXPECT_EQ(card.field("z")["key"].Scalar(), "1");
}

// "Billion laughs": 9 levels of 9 aliases would expand to 9^10 nodes.
TEST(AssetStoreLimitsTest, AliasExpansionIsBounded) {
  CardDir dir;
  std::string text = "name: lol\na0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n";
  for (int level = 1; level <= 9; ++level) {
    const std::string alias = "*a" + std::to_string(level - 1);
    text += "a" + std::to_string(level) + ": &a" + std::to_string(level) + " [" + alias;
    for (int i = 1; i < 9; ++i) text += ", " + alias;
    text += "]\n";
  }
  ASSERT_LT(text.size(), 600u);
  std::string file;
  std::string message;
  // a3 holds 9^4 scalars and a4 9^5: the budget of 100,000 + 2 x size runs
  // out in field a4, on line 6.
  message = LoadError(dir, text, &file);
  ExpectMentions(message,
                 {"asset card '" + file + "'", file + ":6:1", "field 'a4' expands to too many",
                  "100000 + 2 x its size", "counting what an alias (*name) repeats"});
  // Four levels (9^4 scalars) load.
  text = text.substr(0, text.find("a4:"));
  AssetStore store({{"test", dir.Write("fewer.yaml", text)}});
  EXPECT_EQ(store.card("lol").field("a3")[8][8][8][8].Scalar(), "lol");
}

TEST(AssetStoreLimitsTest, NestingDepthIsBounded) {
  CardDir dir;
  std::string file;
  std::string message;
  auto nested = [](size_t depth) {
    return "name: d\nx: " + std::string(depth, '[') + std::string(depth, ']') + "\n";
  };
  // Level 1 is the document's map: 99 lists below it are the most.
  AssetStore store({{"test", dir.Write("ok.yaml", nested(kMaxCardNesting - 1))}});
  EXPECT_TRUE(store.card("d").field("x").IsSequence());
  message = LoadError(dir, nested(kMaxCardNesting), &file);
  ExpectMentions(message, {file + ":2:103", "maps and lists nest more than 100 levels deep"});
  // yaml-cpp's parser stops far deeper nesting itself; it is one error too.
  message = LoadError(dir, nested(100000), &file);
  ExpectMentions(message, {file + ":", "maps and lists nest more than 100 levels deep"});
  message = LoadError(dir, "name: d\nx: " + std::string(100000, '{') + "\n", &file);
  ExpectMentions(message, {file + ":", "maps and lists nest more than 100 levels deep"});
  std::string block = "name: d\nx:\n";
  for (size_t level = 1; level <= kMaxCardNesting; ++level) {
    block += std::string(level, ' ') + "- \n";
  }
  message = LoadError(dir, block, &file);
  ExpectMentions(message, {file + ":102:101", "maps and lists nest more than 100 levels deep"});
  std::string one_line = "name: d\nx:\n";
  for (int level = 0; level < 100000; ++level) one_line += "- ";
  message = LoadError(dir, one_line + "end\n", &file);
  ExpectMentions(message, {file + ":", "maps and lists nest more than 100 levels deep"});
}

TEST(AssetStoreLimitsTest, FilesLargerThan1MiBAreRefusedBeforeParsing) {
  CardDir dir;
  std::string text = "name: big\n# ";
  text += std::string(kMaxCardFileBytes - text.size() - 1, 'x') + "\n";
  ASSERT_EQ(text.size(), kMaxCardFileBytes);
  AssetStore store({{"test", dir.Write("limit.yaml", text)}});
  EXPECT_EQ(store.card_names(), std::vector<std::string>{"big"});
  std::string file;
  std::string message;
  text.insert(0, "#\n");  // one line more: 2 bytes over
  message = LoadError(dir, text, &file);
  ExpectMentions(message, {"asset card '" + file + "'", file + ":1:1",
                           "the card file is larger than 1048576 bytes (1 MiB)"});
}

TEST(AssetStoreLimitsTest, LongScalarsAreReadWithoutRecursion) {
  // std::regex recursed once per character of a scalar typed as YAML 1.2.
  CardDir dir;
  std::string file;
  const std::string digits(1000000, '1');
  const std::string message = LoadError(dir, "name: " + digits + "\n", &file);
  ExpectMentions(message, {file + ":1:7", "'name' must be a string, got the integer 1111"});
  EXPECT_EQ(message.find(std::string(100, '1')), std::string::npos);  // shortened
  const std::string half = digits.substr(0, 500000);
  AssetStore store({{"test", dir.Write("long.yaml", "name: l\nx: " + half + ".5e3\ny: " +
                                                        std::string(500000, 'y') + "\n")}});
  EXPECT_EQ(store.card("l").field("x").Scalar().size(), half.size() + 4);
}

TEST(AssetStoreLimitsTest, TagsBeyondYaml12CoreAreRefusedAsRuamelSafeLoaderDoes) {
  CardDir dir;
  std::string file;
  std::string message;
  ExpectMentions(
      LoadError(dir, "name: t\nx: !!python/object:os.system {}\n", &file),
      {file + ":2:4", "the tag !!python/object:os.system is not supported", "YAML 1.2 core tags"});
  message = LoadError(dir, "name: t\nx: !!python/name:os.system ''\n", &file);
  ExpectMentions(message, {file + ":2:4", "the tag !!python/name:os.system is not supported"});
  message = LoadError(dir, "name: t\nx: !local 1\n", &file);
  ExpectMentions(message, {file + ":2:4", "the tag !local is not supported"});
  message = LoadError(dir, "name: t\nx: !!int abc\n", &file);
  ExpectMentions(message, {file + ":2:4", "the text \"abc\" is not a valid !!int"});
  message = LoadError(dir, "name: t\nx: !!map [1]\n", &file);
  ExpectMentions(message, {file + ":2:4", "the tag !!map is not supported on a list"});
  message = LoadError(dir, "!!python/object:x\nname: t\n", &file);
  ExpectMentions(message, {file + ":", "the tag !!python/object:x is not supported"});
  AssetStore store({{"test", dir.Write("good.yaml",
                                       "name: t\ns: !!str 12\ni: !!int \"7\"\nf: !!float 1\n"
                                       "m: !!map {a: 1}\nq: ! x\n")}});
  EXPECT_TRUE(IsYamlString(store.card("t").field("s")));
  EXPECT_EQ(KindOfYaml(store.card("t").field("i")), YamlValueKind::kInt);
}

TEST(AssetStoreLimitsTest, MapKeysMustBeScalars) {
  CardDir dir;
  std::string file;
  std::string message;
  message = LoadError(dir, "name: k\nx:\n  ? [a, b]\n  : 1\n", &file);
  ExpectMentions(message,
                 {file + ":3:", "a map key must be a string or another scalar, got a list"});
}

// 20,000 cards, each the base of the next: bounded, linear, no recursion.
TEST(AssetStoreLimitsTest, BaseChainsAreBounded) {
  CardDir dir;
  std::string text = "name: c0\nmodel_family: toy\n";
  for (int i = 1; i < 20000; ++i) {
    text += "---\nname: c" + std::to_string(i) + "\nbase: c" + std::to_string(i - 1) + "\n";
  }
  const std::string file = dir.Write("chain.yaml", text);
  AssetStore store({{"test", file}});
  EXPECT_EQ(store.card_names().size(), 20000u);
  // c19999's chain is refused at the base field of the card 101 links down.
  ExpectMentions(ErrorOf<AssetCardError>([&] { store.card("c19999"); }),
                 {"asset card 'c19999'", file + ":" + std::to_string(3 * 19899 + 2) + ":1",
                  "the base chain of card 'c19999' holds more than 100 cards below it",
                  "card 'c19899' names base 'c19898'"});
  // 100 bases are fine, and so are the cards they resolved; 101 are not, even
  // when the lower part of the chain was resolved before.
  EXPECT_EQ(store.card("c100").string("model_family"), "toy");
  EXPECT_EQ(store.card("c50").base()->name(), "c49");
  ExpectMentions(
      ErrorOf<AssetCardError>([&] { store.card("c101"); }),
      {"asset card 'c101'", "holds more than 100 cards below it", "card 'c1' names base 'c0'"});
  ExpectMentions(ErrorOf<AssetCardError>([&] { store.card("c150"); }),
                 {"asset card 'c150'", "holds more than 100 cards below it"});
  int bases = 0;
  for (const AssetCard* card = store.card("c100").base(); card != nullptr; card = card->base()) {
    ++bases;
  }
  EXPECT_EQ(bases, 100);
}

class DefaultSourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    for (const char* name : kVariables) {
      const char* value = std::getenv(name);
      if (value != nullptr) saved_[name] = value;
      unsetenv(name);
    }
  }
  void TearDown() override {
    for (const char* name : kVariables) {
      auto it = saved_.find(name);
      if (it != saved_.end()) {
        setenv(name, it->second.c_str(), 1);
      } else {
        unsetenv(name);
      }
    }
  }

  // The label and path of each default source, for comparing.
  static std::vector<std::string> Describe(const std::vector<AssetSource>& sources) {
    std::vector<std::string> out;
    for (const AssetSource& source : sources) out.push_back(source.label + "=" + source.path);
    return out;
  }

  static std::vector<std::string> SystemDefault() {
    std::error_code error;
    if (std::filesystem::exists("/etc/modelhub/assets", error)) {
      return {"system=/etc/modelhub/assets"};
    }
    return {};
  }

  static constexpr const char* kVariables[] = {"MODELHUB_ASSET_DIR", "MODELHUB_USER_ASSET_DIR",
                                               "XDG_CONFIG_HOME", "HOME"};
  std::map<std::string, std::string> saved_;
  CardDir dir_;
};

TEST_F(DefaultSourcesTest, OrderAndEnvironmentVariables) {
  dir_.Write("system/s.yaml", "name: from_system\n");
  dir_.Write("user/u.yaml", "name: from_user\n");
  const std::string extra = dir_.Write("extra.yaml", "name: from_extra\n");
  setenv("MODELHUB_ASSET_DIR", dir_.Path("system").c_str(), 1);
  setenv("MODELHUB_USER_ASSET_DIR", dir_.Path("user").c_str(), 1);
  EXPECT_EQ(Describe(AssetStore::DefaultSources(kFixtures, {extra})),
            (std::vector<std::string>{std::string("built-in=") + kFixtures,
                                      "system=" + dir_.Path("system"), "user=" + dir_.Path("user"),
                                      "extra=" + extra}));
  AssetStore store = AssetStore::Default(kFixtures, {extra});
  EXPECT_EQ(store.card_names().size(), 54u);
  EXPECT_EQ(store.card("from_system").source(), "system");
  EXPECT_EQ(store.card("from_user").source(), "user");
  EXPECT_EQ(store.card("from_extra").source(), "extra");
  EXPECT_EQ(store.card("qwen25_7b").source(), "built-in");
}

TEST_F(DefaultSourcesTest, MissingDirectoriesFallBackOrAreSkipped) {
  // A missing $MODELHUB_ASSET_DIR falls back to /etc/modelhub/assets, skipped
  // when missing too; likewise for the user directory.
  setenv("MODELHUB_ASSET_DIR", dir_.Path("missing").c_str(), 1);
  setenv("MODELHUB_USER_ASSET_DIR", dir_.Path("missing").c_str(), 1);
  setenv("XDG_CONFIG_HOME", dir_.Path("xdg").c_str(), 1);
  EXPECT_EQ(Describe(AssetStore::DefaultSources("", {})), SystemDefault());

  dir_.Write("xdg/modelhub/assets/x.yaml", "name: x\n");
  std::vector<std::string> expected = SystemDefault();
  expected.push_back("user=" + dir_.Path("xdg/modelhub/assets"));
  EXPECT_EQ(Describe(AssetStore::DefaultSources("", {})), expected);

  unsetenv("XDG_CONFIG_HOME");
  setenv("HOME", dir_.Path("home").c_str(), 1);
  EXPECT_EQ(Describe(AssetStore::DefaultSources("", {})), SystemDefault());
  dir_.Write("home/.config/modelhub/assets/h.yaml", "name: h\n");
  expected = SystemDefault();
  expected.push_back("user=" + dir_.Path("home/.config/modelhub/assets"));
  EXPECT_EQ(Describe(AssetStore::DefaultSources("", {})), expected);
}

TEST_F(DefaultSourcesTest, MissingExtraPathIsAnError) {
  setenv("HOME", dir_.Path("home").c_str(), 1);
  const std::string missing = dir_.Path("missing.yaml");
  ExpectMentions(ErrorOf<AssetNotFoundError>([&] { AssetStore::Default("", {missing}); }),
                 {"asset '" + missing + "' is not found"});
}

}  // namespace
}  // namespace modelhub
