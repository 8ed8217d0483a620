#include <gtest/gtest.h>

#include <map>
#include <string>

#include "runtime/blueprint/decoder_parameters.h"
#include "runtime/core/errors.h"
#include "tests/testing/error_of.h"
#include "tests/testing/small_blueprint.h"

namespace modelhub {
namespace {

using testing::ErrorOf;
using testing::SmallBlueprint;

TEST(DecoderShardsTest, OneRankHoldsEverythingWhole) {
  const DecoderBlueprint b = SmallBlueprint();
  for (const auto& [name, shard] : DecoderParameterShards(b, {0, 1})) {
    EXPECT_EQ(shard.dim, -1) << name;
    EXPECT_EQ(shard.shape, DecoderParameterShapes(b).at(name)) << name;
  }
}

TEST(DecoderShardsTest, TwoRanksSplitByMegatronsLayout) {
  DecoderBlueprint b = SmallBlueprint();  // 4 heads of 8, 2 KV heads, FFN 48, vocab 50
  b.vocab_size = 52;
  const auto shards = DecoderParameterShards(b, {1, 2});
  const auto expect = [&](const std::string& name, std::vector<int64_t> shape, int dim,
                          int64_t start) {
    const ParameterShard& shard = shards.at(name);
    EXPECT_EQ(shard.shape, shape) << name;
    EXPECT_EQ(shard.dim, dim) << name;
    if (dim >= 0) {
      EXPECT_EQ(shard.start, start) << name;
      EXPECT_EQ(shard.length, shape[dim]) << name;
    }
  };
  expect("decoder_frontend.embed.weight", {26, 32}, 0, 26);
  expect("decoder.layers.0.self_attn.q_proj.weight", {16, 32}, 0, 16);
  expect("decoder.layers.0.self_attn.k_proj.weight", {8, 32}, 0, 8);
  expect("decoder.layers.1.self_attn.output_proj.weight", {32, 16}, 1, 16);
  expect("decoder.layers.0.ffn.gate_proj.weight", {24, 32}, 0, 24);
  expect("decoder.layers.0.ffn.output_proj.weight", {32, 24}, 1, 24);
  expect("decoder.layers.0.ffn_layer_norm.weight", {32}, -1, 0);
  expect("final_proj.weight", {26, 32}, 0, 26);
}

TEST(DecoderShardsTest, RanksShareKvHeadsWhenFewerThanRanks) {
  DecoderBlueprint b = SmallBlueprint();
  b.vocab_size = 52;
  b.ffn.inner_dim = 48;
  // 2 KV heads over 4 ranks: ranks 0, 1 hold head 0; ranks 2, 3 head 1.
  for (int64_t rank = 0; rank < 4; ++rank) {
    const DecoderShardSizes sizes = ShardSizesOf(b, {rank, 4});
    EXPECT_EQ(sizes.num_heads, 1);
    EXPECT_EQ(sizes.num_kv_heads, 1);
    EXPECT_EQ(sizes.first_kv_head, rank / 2);
    const std::map<std::string, ParameterShard> shards = DecoderParameterShards(b, {rank, 4});
    const ParameterShard& k = shards.at("decoder.layers.0.self_attn.k_proj.weight");
    EXPECT_EQ(k.start, rank / 2 * 8);
    EXPECT_EQ(k.length, 8);
  }
}

TEST(DecoderShardsTest, SizesThatDoNotSplitAreNamedWithTheDivisor) {
  DecoderBlueprint b = SmallBlueprint();
  EXPECT_EQ(ErrorOf<ConfigError>([&] {
              ShardSizesOf(b, {0, 3});
            }),
            "test decoder field 'attention.num_heads': num_heads 4 cannot be split over 3 "
            "tensor-parallel ranks: it is not divisible by 3");
  EXPECT_NE(ErrorOf<ConfigError>([&] {
              ShardSizesOf(b, {0, 4});
            })
                .find("vocab_size 50 cannot be split over 4 tensor-parallel ranks: it is not "
                      "divisible by 4"),
            std::string::npos);
  b.vocab_size = 48;
  b.attention.num_heads = 6;
  b.attention.num_kv_heads = 3;
  b.model_dim = 48;
  EXPECT_NE(ErrorOf<ConfigError>([&] {
              ShardSizesOf(b, {0, 2});
            })
                .find("num_kv_heads 3 cannot be split over 2 tensor-parallel ranks: it is not "
                      "divisible by 2"),
            std::string::npos);
  b.attention.num_heads = 12;
  b.ffn.inner_dim = 36;
  EXPECT_NE(ErrorOf<ConfigError>([&] {
              ShardSizesOf(b, {0, 4});
            })
                .find("num_kv_heads 3 cannot be split over 4 tensor-parallel ranks: fewer KV "
                      "heads than ranks are shared only when they divide 4"),
            std::string::npos);
}

}  // namespace
}  // namespace modelhub
