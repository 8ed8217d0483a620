#include "runtime/mapping/key_map.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "runtime/core/errors.h"
#include "runtime/mapping/key_pattern.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

using ::modelhub::testing::ErrorOf;

const KeyRule kRules[] = {
    {"model.embed_tokens.weight", "decoder_frontend.embed.weight", RopeProjection::kNone},
    {"model.layers.{i}.self_attn.{proj}.{p}", "decoder.layers.{i}.self_attn.{proj}.{p}",
     RopeProjection::kNone},
    {"model.layers.{i}.self_attn.o_proj.weight", "decoder.layers.{i}.self_attn.output_proj.weight",
     RopeProjection::kNone},
    {"layers.{i}.attention.wq.weight", "decoder.layers.{i}.self_attn.q_proj.weight",
     RopeProjection::kQuery},
    {"{a}.swap.{b}", "{b}.swapped.{a}", RopeProjection::kNone},
    {"rope.freqs", nullptr, RopeProjection::kNone},
};

KeyMap Map() { return KeyMap("test", RopeLayout::kRotateHalf, kRules, std::size(kRules)); }

TEST(KeyMapTest, MapsLiteralAndCapturedSegments) {
  KeyMap map = Map();
  EXPECT_EQ(map.format(), "test");
  EXPECT_EQ(map.layout(), RopeLayout::kRotateHalf);
  EXPECT_EQ(map.Map("model.embed_tokens.weight")->name, "decoder_frontend.embed.weight");
  EXPECT_EQ(map.Map("model.layers.11.self_attn.k_proj.bias")->name,
            "decoder.layers.11.self_attn.k_proj.bias");
  EXPECT_EQ(map.Map("x.swap.y")->name, "y.swapped.x");
  std::optional<MappedKey> q = map.Map("layers.3.attention.wq.weight");
  ASSERT_TRUE(q.has_value());
  EXPECT_EQ(q->name, "decoder.layers.3.self_attn.q_proj.weight");
  EXPECT_EQ(q->rope, RopeProjection::kQuery);
}

TEST(KeyMapTest, LiteralSegmentsWinOverCaptures) {
  EXPECT_EQ(Map().Map("model.layers.0.self_attn.o_proj.weight")->name,
            "decoder.layers.0.self_attn.output_proj.weight");
}

TEST(KeyMapTest, DroppedAndUnknownKeys) {
  KeyMap map = Map();
  std::optional<MappedKey> dropped = map.Map("rope.freqs");
  ASSERT_TRUE(dropped.has_value());
  EXPECT_TRUE(dropped->dropped);
  EXPECT_FALSE(map.Map("model.embed_tokens").has_value());
  EXPECT_FALSE(map.Map("model.embed_tokens.weight.extra").has_value());
  EXPECT_FALSE(map.Map("lm_head.weight").has_value());
  EXPECT_FALSE(map.Map("").has_value());
}

TEST(KeyMapTest, UnmapInvertsEveryRuleThatIsNotDropped) {
  KeyMap map = Map();
  EXPECT_EQ(map.Unmap("decoder_frontend.embed.weight"), "model.embed_tokens.weight");
  EXPECT_EQ(map.Unmap("decoder.layers.7.self_attn.output_proj.weight"),
            "model.layers.7.self_attn.o_proj.weight");
  EXPECT_EQ(map.Unmap("decoder.layers.2.self_attn.v_proj.bias"),
            "model.layers.2.self_attn.v_proj.bias");
  EXPECT_EQ(map.Unmap("y.swapped.x"), "x.swap.y");
  EXPECT_FALSE(map.Unmap("final_proj.weight").has_value());
  for (const char* key :
       {"model.embed_tokens.weight", "model.layers.4.self_attn.o_proj.weight", "a.swap.b"}) {
    EXPECT_EQ(map.Unmap(map.Map(key)->name), key);
  }
}

TEST(KeyMapTest, BadRulesAreConfigErrorsNamingTheRule) {
  const KeyRule bad_pattern[] = {{"a.{b", "c", RopeProjection::kNone}};
  EXPECT_EQ(ErrorOf<ConfigError>([&] { KeyMap("x", RopeLayout::kRotateHalf, bad_pattern, 1); }),
            "checkpoint key map 'x': rule 'a.{b' -> 'c': a capture must fill a whole segment, as "
            "in '{layer}' (source pattern offset 2)");
  const KeyRule unknown_capture[] = {{"a.{b}", "c.{d}", RopeProjection::kNone}};
  EXPECT_EQ(ErrorOf<ConfigError>([&] { KeyMap("x", RopeLayout::kRotateHalf, unknown_capture, 1); }),
            "checkpoint key map 'x': rule 'a.{b}' -> 'c.{d}': capture '{d}' is not captured by the "
            "source pattern");
  const KeyRule twice[] = {{"a.{b}", "c.{b}", RopeProjection::kNone},
                           {"a.{c}", "d.{c}", RopeProjection::kNone}};
  EXPECT_EQ(ErrorOf<ConfigError>([&] { KeyMap("x", RopeLayout::kRotateHalf, twice, 2); }),
            "checkpoint key map 'x': rule 'a.{c}' -> 'd.{c}': its source pattern matches the same "
            "names as rule 'a.{b}'");
}

TEST(KeyPatternTest, ReportsTheOffsetOfEachProblem) {
  EXPECT_EQ(ParseKeyPattern("a..b").error_offset, 2u);
  EXPECT_EQ(ParseKeyPattern("a.x{i}").error,
            "a capture must fill a whole segment, as in '{layer}'");
  EXPECT_EQ(ParseKeyPattern("a.{1x}").error, "capture name '1x' is not an identifier");
  EXPECT_EQ(ParseKeyPattern("a.b c").error_offset, 3u);
  EXPECT_EQ(ParseKeyPattern("{i}.{i}").error, "capture '{i}' appears twice");
  ParsedKeyPattern ok = ParseKeyPattern("model.layers.{i}.w");
  ASSERT_TRUE(ok.error.empty());
  ASSERT_EQ(ok.segments.size(), 4u);
  EXPECT_TRUE(ok.segments[2].capture);
  EXPECT_EQ(ok.segments[2].text, "i");
}

const KeyRule kFusedRules[] = {
    {"layers.{i}.qkv.weight", "decoder.layers.{i}.q_proj.weight", RopeProjection::kNone, 0},
    {"layers.{i}.qkv.weight", "decoder.layers.{i}.k_proj.weight", RopeProjection::kNone, 0},
    {"layers.{i}.qkv.weight", "decoder.layers.{i}.v_proj.weight", RopeProjection::kNone, 0},
    {"layers.{i}.o.weight", "decoder.layers.{i}.output_proj.weight", RopeProjection::kNone},
};

TEST(KeyMapTest, AFusedRuleMapsOneKeyToItsPartsInOrder) {
  const KeyMap map("hf", RopeLayout::kRotateHalf, kFusedRules, std::size(kFusedRules));
  const std::optional<MappedKey> qkv = map.Map("layers.5.qkv.weight");
  ASSERT_TRUE(qkv.has_value());
  EXPECT_FALSE(qkv->dropped);
  EXPECT_EQ(qkv->split_dim, 0);
  EXPECT_EQ(qkv->name, "decoder.layers.5.q_proj.weight");
  std::vector<std::string> parts;
  for (const MappedKey& part : TargetsOf(*qkv)) parts.push_back(part.name);
  EXPECT_EQ(parts, (std::vector<std::string>{"decoder.layers.5.q_proj.weight",
                                             "decoder.layers.5.k_proj.weight",
                                             "decoder.layers.5.v_proj.weight"}));
  // A one-to-one rule is its own only target.
  const std::optional<MappedKey> o = map.Map("layers.5.o.weight");
  ASSERT_TRUE(o.has_value());
  EXPECT_EQ(o->split_dim, -1);
  ASSERT_EQ(TargetsOf(*o).size(), 1u);
  EXPECT_EQ(TargetsOf(*o)[0].name, "decoder.layers.5.output_proj.weight");
  // Every part is stored under the fused key.
  for (const char* part : {"q_proj", "k_proj", "v_proj"}) {
    EXPECT_EQ(map.Unmap(std::string("decoder.layers.2.") + part + ".weight"),
              "layers.2.qkv.weight");
  }
}

TEST(KeyMapTest, FusedRulesAreCheckedWhole) {
  const KeyRule two_dims[] = {{"a.{i}", "b.{i}", RopeProjection::kNone, 0},
                              {"a.{i}", "c.{i}", RopeProjection::kNone, 1}};
  EXPECT_EQ(ErrorOf<ConfigError>([&] { KeyMap("x", RopeLayout::kRotateHalf, two_dims, 2); }),
            "checkpoint key map 'x': rule 'a.{i}' -> 'c.{i}': the parts of a fused tensor split "
            "along one dimension, not 0 and 1");
  const KeyRule dropped[] = {{"a.{i}", nullptr, RopeProjection::kNone, 0}};
  EXPECT_EQ(ErrorOf<ConfigError>([&] { KeyMap("x", RopeLayout::kRotateHalf, dropped, 1); }),
            "checkpoint key map 'x': rule 'a.{i}' -> '(dropped)': a part of a fused tensor cannot "
            "be dropped");
  // The same source twice without a split dimension is still two rules for one name.
  const KeyRule not_fused[] = {{"a.{i}", "b.{i}", RopeProjection::kNone, 0},
                               {"a.{i}", "c.{i}", RopeProjection::kNone}};
  EXPECT_EQ(ErrorOf<ConfigError>([&] { KeyMap("x", RopeLayout::kRotateHalf, not_fused, 2); }),
            "checkpoint key map 'x': rule 'a.{i}' -> 'c.{i}': its source pattern matches the same "
            "names as rule 'a.{i}'");
}

}  // namespace
}  // namespace modelhub
