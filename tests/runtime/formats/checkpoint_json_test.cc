#include "runtime/formats/checkpoint_json.h"

#include <gtest/gtest.h>

#include "runtime/core/errors.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

using testing::ErrorOf;

TEST(ParseCheckpointJsonTest, ParsesJson) {
  const nlohmann::json json = ParseCheckpointJson(R"({"a": [1, 2.5, "x"]})", "x.json");
  EXPECT_EQ(json["a"][0], 1);
  EXPECT_EQ(json["a"][2], "x");
}

TEST(ParseCheckpointJsonTest, EveryBadTextIsACorruptCheckpointNamingTheFile) {
  const std::string cut = ErrorOf<CorruptModelCheckpointError>(
      [] { ParseCheckpointJson(R"({"a": [1,)", "dir/index.json"); });
  EXPECT_EQ(cut.rfind("dir/index.json: corrupt model checkpoint: invalid JSON at byte 10: ", 0), 0u)
      << cut;
  // nlohmann reports a number beyond a double as out_of_range, not parse_error.
  const std::string huge = ErrorOf<CorruptModelCheckpointError>(
      [] { ParseCheckpointJson(R"({"a": 1e999})", "config.json"); });
  EXPECT_NE(
      huge.find(
          "config.json: corrupt model checkpoint: invalid JSON: [json.exception.out_of_range"),
      std::string::npos)
      << huge;
}

}  // namespace
}  // namespace modelhub
