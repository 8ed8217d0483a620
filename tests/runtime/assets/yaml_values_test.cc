#include "runtime/assets/yaml_values.h"

#include <gtest/gtest.h>

namespace modelhub {
namespace {

YamlValueKind KindOf(const std::string& text) { return KindOfYaml(YAML::Load(text)); }

TEST(KindOfYamlTest, PlainScalarsResolveAsYaml12) {
  EXPECT_EQ(KindOf("7b"), YamlValueKind::kString);
  EXPECT_EQ(KindOf("qwen3_0.6b"), YamlValueKind::kString);
  EXPECT_EQ(KindOf("hg://qwen/qwen2.5-7b"), YamlValueKind::kString);
  EXPECT_EQ(KindOf("yes"), YamlValueKind::kString);  // a boolean only in YAML 1.1
  EXPECT_EQ(KindOf("off"), YamlValueKind::kString);
  EXPECT_EQ(KindOf("_1"), YamlValueKind::kString);
  EXPECT_EQ(KindOf("true"), YamlValueKind::kBool);
  EXPECT_EQ(KindOf("FALSE"), YamlValueKind::kBool);
  EXPECT_EQ(KindOf("12"), YamlValueKind::kInt);
  EXPECT_EQ(KindOf("-0x1F"), YamlValueKind::kInt);
  EXPECT_EQ(KindOf("0o17"), YamlValueKind::kInt);
  EXPECT_EQ(KindOf("1.5"), YamlValueKind::kFloat);
  EXPECT_EQ(KindOf("1e6"), YamlValueKind::kFloat);  // a string in YAML 1.1
  EXPECT_EQ(KindOf(".inf"), YamlValueKind::kFloat);
  EXPECT_EQ(KindOf("2024-01-31"), YamlValueKind::kTimestamp);
  EXPECT_EQ(KindOf("~"), YamlValueKind::kNull);
  EXPECT_EQ(KindOf("null"), YamlValueKind::kNull);
  EXPECT_EQ(KindOf(""), YamlValueKind::kNull);
  EXPECT_EQ(KindOf("[1]"), YamlValueKind::kList);
  EXPECT_EQ(KindOf("{a: 1}"), YamlValueKind::kMap);
  EXPECT_EQ(KindOfYaml(YAML::Node()), YamlValueKind::kNull);
}

TEST(KindOfYamlTest, QuotesAndTagsMakeStrings) {
  EXPECT_EQ(KindOf("\"12\""), YamlValueKind::kString);
  EXPECT_EQ(KindOf("'true'"), YamlValueKind::kString);
  EXPECT_EQ(KindOf("!!str 12"), YamlValueKind::kString);
  EXPECT_EQ(KindOf("!!int \"12\""), YamlValueKind::kInt);
  EXPECT_TRUE(IsYamlString(YAML::Load("\"\"")));
  EXPECT_FALSE(IsYamlString(YAML::Load("3")));
}

TEST(YamlBooleanTest, OnlyYaml12Booleans) {
  EXPECT_EQ(YamlBoolean(YAML::Load("true")), true);
  EXPECT_EQ(YamlBoolean(YAML::Load("False")), false);
  EXPECT_EQ(YamlBoolean(YAML::Load("yes")), std::nullopt);
  EXPECT_EQ(YamlBoolean(YAML::Load("\"true\"")), std::nullopt);
  EXPECT_EQ(YamlBoolean(YAML::Load("1")), std::nullopt);
}

TEST(DescribeYamlValueTest, NamesTheKind) {
  EXPECT_EQ(DescribeYamlValue(YAML::Load("{a: 1}")), "a map");
  EXPECT_EQ(DescribeYamlValue(YAML::Load("[1]")), "a list");
  EXPECT_EQ(DescribeYamlValue(YAML::Load("~")), "null");
  EXPECT_EQ(DescribeYamlValue(YAML::Load("true")), "the boolean true");
  EXPECT_EQ(DescribeYamlValue(YAML::Load("12")), "the integer 12");
  EXPECT_EQ(DescribeYamlValue(YAML::Load("1.5")), "the float 1.5");
  EXPECT_EQ(DescribeYamlValue(YAML::Load("2024-01-31")), "the timestamp 2024-01-31");
  EXPECT_EQ(DescribeYamlValue(YAML::Load("'12'")), "the string \"12\"");
}

TEST(CopyYamlTest, CopiesShareNothing) {
  YAML::Node original = YAML::Load("a: &x {b: 1}\nc: *x\nd: [1, \"2\"]\ne: ~\n");
  YAML::Node copy = CopyYaml(original);
  EXPECT_EQ(YAML::Dump(copy), "a: {b: 1}\nc: {b: 1}\nd: [1, 2]\ne: ~");
  EXPECT_EQ(copy["d"][1].Tag(), "!");
  copy["a"]["b"] = 5;
  copy["d"].push_back(3);
  copy["f"] = "new";
  EXPECT_EQ(original["a"]["b"].Scalar(), "1");
  EXPECT_EQ(original["c"]["b"].Scalar(), "1");
  EXPECT_EQ(copy["c"]["b"].Scalar(), "1");  // the alias became its own copy
  EXPECT_EQ(original["d"].size(), 2u);
  EXPECT_FALSE(original["f"].IsDefined());
  EXPECT_TRUE(copy["e"].IsNull());
  EXPECT_TRUE(copy["a"].Mark().is_null());
}

}  // namespace
}  // namespace modelhub
