#include "runtime/core/closest_names.h"

#include <gtest/gtest.h>

namespace modelhub {
namespace {

TEST(ClosestNamesTest, RanksByEditDistanceAndDropsFarNames) {
  std::vector<std::string> known = {"qwen25_7b", "qwen25_72b", "qwen3_8b", "llama3_8b"};
  EXPECT_EQ(ClosestNames("qwen25_7", known), (std::vector<std::string>{"qwen25_7b", "qwen25_72b"}));
  EXPECT_EQ(ClosestNames("qwen3_8B", known, 1), (std::vector<std::string>{"qwen3_8b"}));
  EXPECT_TRUE(ClosestNames("mixtral", known).empty());
}

}  // namespace
}  // namespace modelhub
