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

// ruamel.yaml's YAML 1.2 resolver patterns, one case per branch.
TEST(KindOfYamlTest, ResolverPatternsBranchByBranch) {
  for (const char* text : {"0b101", "-0b1_0", "0o17", "017", "+12_000", "0x_fF", "-0"}) {
    EXPECT_EQ(KindOf(text), YamlValueKind::kInt) << text;
  }
  for (const char* text :
       {"1.", "-1.5e-3", "1_0.0_1", "2e5", "+2E+5", ".5", "-.5e+3", "-.inf", "+.Inf", ".NAN"}) {
    EXPECT_EQ(KindOf(text), YamlValueKind::kFloat) << text;
  }
  for (const char* text : {"2001-12-14t21:59:43.10-05:00", "2001-12-14 21:59:43.10 -5",
                           "2001-12-15T02:59:43.1Z", "2001-1-1 1:02:03", "2002-12-14"}) {
    EXPECT_EQ(KindOf(text), YamlValueKind::kTimestamp) << text;
  }
  for (const char* text : {"0b2", "0x", "1e", ".5e3", "-.nan", "e5", "1.2.3", "2001-1-1",
                           "2001-12-14 21:59", "2001-12-14T1:02:03X", "12:30", "_1", "+", "0o"}) {
    EXPECT_EQ(KindOf(text), YamlValueKind::kString) << text;
  }
}

TEST(KindOfYamlTest, LongScalarsNeedNoRecursion) {
  const std::string digits(1000000, '7');
  EXPECT_EQ(KindOfYaml(YAML::Node(digits)), YamlValueKind::kInt);
  EXPECT_EQ(KindOfYaml(YAML::Node(digits + ".5")), YamlValueKind::kFloat);
  EXPECT_EQ(KindOfYaml(YAML::Node(digits + "x")), YamlValueKind::kString);
  EXPECT_EQ(DescribeYamlValue(YAML::Node(digits)),
            "the integer " + std::string(64, '7') + "... (1000000 bytes)");
}

TEST(CheckYamlTagTest, OnlyTheYaml12CoreTagsOnTheirOwnKindOfNode) {
  auto check = [](const std::string& text) { return CheckYamlTag(YAML::Load(text)); };
  for (const char* text : {"x", "'x'", "! x", "!!str 1", "!!int 0x1F", "!!int '7'", "!!float 1",
                           "!!float 1.5", "!!bool true", "!!null ~", "!!timestamp 2024-01-01",
                           "!!seq [1]", "!!map {a: 1}", "[1]", "{a: 1}"}) {
    EXPECT_EQ(check(text), "") << text;
  }
  EXPECT_EQ(check("!!python/object:os.system {}"),
            "the tag !!python/object:os.system is not supported (cards may use only the YAML 1.2 "
            "core tags !!str, !!int, !!float, !!bool, !!null, !!timestamp, !!seq and !!map)");
  EXPECT_EQ(check("!thing x").rfind("the tag !thing is not supported (", 0), 0u);
  EXPECT_EQ(check("!!binary aGVsbG8=").rfind("the tag !!binary is not supported (", 0), 0u);
  EXPECT_EQ(check("!!int abc"), "the text \"abc\" is not a valid !!int");
  EXPECT_EQ(check("!!bool yes"), "the text \"yes\" is not a valid !!bool");
  EXPECT_EQ(check("!!seq {a: 1}"), "the tag !!seq is not supported on a map");
  EXPECT_EQ(check("!!int [1]"), "the tag !!int is not supported on a list");
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

// The line and column (1-based) and message of the ParserException
// LoadYamlDocuments throws for `text`; fails the test when it throws none.
std::string ParseError(const std::string& text) {
  try {
    LoadYamlDocuments(text);
  } catch (const YAML::ParserException& e) {
    return std::to_string(e.mark.line + 1) + ":" + std::to_string(e.mark.column + 1) + ": " + e.msg;
  }
  ADD_FAILURE() << "no ParserException for: " << text;
  return "";
}

TEST(LoadYamlDocumentsTest, ReadsEveryDocumentAsLoadAllDoes) {
  std::vector<YAML::Node> documents = LoadYamlDocuments("a: 1\n---\n[2]\n---\n...\n");
  ASSERT_EQ(documents.size(), 3u);
  EXPECT_EQ(documents[0]["a"].Scalar(), "1");
  EXPECT_EQ(documents[1][0].Scalar(), "2");
  EXPECT_TRUE(documents[2].IsNull());
  EXPECT_TRUE(LoadYamlDocuments("").empty());
  EXPECT_EQ(LoadYamlDocuments("# only a comment\n").size(), 0u);
  EXPECT_EQ(ParseError("x: [a,\n"), "2:1: end of sequence flow not found");
}

// Each ',' here makes yaml-cpp 0.7's LoadAll append empty documents forever.
TEST(LoadYamlDocumentsTest, AStuckParserIsAnErrorNotAnEndlessLoop) {
  EXPECT_EQ(ParseError(","), "1:1: unexpected ',' after the end of a node");
  EXPECT_EQ(ParseError("{a: 1}\n, b: 2\n"), "2:1: unexpected ',' after the end of a node");
  EXPECT_EQ(ParseError("name: x\n---\n[1], [2]\n"), "3:4: unexpected ',' after the end of a node");
  // A closing bracket too many is yaml-cpp's own error.
  EXPECT_EQ(ParseError("[1]\n]\n"), "2:1: illegal flow end");
}

// `text` with its merge keys resolved, as flow YAML.
std::string Merged(const std::string& text) {
  YAML::Node node = YAML::Load(text);
  ResolveYamlMergeKeys(node);
  YAML::Emitter out;
  out << YAML::Flow << CopyYaml(node);  // a copy, so shared nodes are not shown as aliases
  return out.c_str();
}

// The cases of the YAML merge-key spec (yaml.org/type/merge.html), read as
// ruamel.yaml reads them.
TEST(ResolveYamlMergeKeysTest, MergesAsRuamelDoes) {
  const std::string anchors = "[&CENTER {x: 1, y: 2}, &LEFT {x: 0, y: 2}, &BIG {r: 10}, ";
  const std::string shown = "[{x: 1, y: 2}, {x: 0, y: 2}, {r: 10}, ";
  EXPECT_EQ(Merged(anchors + "{<<: *CENTER, r: 10}]"), shown + "{x: 1, y: 2, r: 10}]");
  EXPECT_EQ(Merged(anchors + "{<<: [*CENTER, *BIG]}]"), shown + "{r: 10, x: 1, y: 2}]");
  EXPECT_EQ(Merged(anchors + "{<<: [*BIG, *LEFT], x: 1}]"), shown + "{x: 1, y: 2, r: 10}]");
  // An earlier map overrides a later one; the map's own entries override both.
  EXPECT_EQ(Merged("[&A {k: a, only_a: 1}, &B {k: b, only_b: 2}, {<<: [*A, *B]}, "
                   "{<<: [*A, *B], k: own}]"),
            "[{k: a, only_a: 1}, {k: b, only_b: 2}, {k: a, only_b: 2, only_a: 1}, "
            "{k: own, only_b: 2, only_a: 1}]");
  // A merged map's own merge keys are resolved first; a quoted "<<" is a key.
  EXPECT_EQ(Merged("{a: &a {x: 1}, b: &b {<<: *a, y: 2}, c: {<<: *b, z: 3}, d: {\"<<\": *a}}"),
            "{a: {x: 1}, b: {x: 1, y: 2}, c: {x: 1, y: 2, z: 3}, d: {<<: {x: 1}}}");
  // Nothing without a merge key changes.
  EXPECT_EQ(Merged("{a: [1, {b: 2}], c: ~}"), "{a: [1, {b: 2}], c: ~}");
}

TEST(ResolveYamlMergeKeysTest, EntriesKeepTheirPositions) {
  YAML::Node node = YAML::Load("base: &b\n  x: 1\nleaf:\n  <<: *b\n  y: 2\n");
  ResolveYamlMergeKeys(node);
  EXPECT_EQ(node["leaf"]["x"].Mark().line, 1);  // where `x: 1` was written
  EXPECT_EQ(node["leaf"]["y"].Mark().line, 4);
  EXPECT_FALSE(node["leaf"]["<<"].IsDefined());
  EXPECT_EQ(node["base"].size(), 1u);  // the merged map is unchanged
}

TEST(ResolveYamlMergeKeysTest, OnlyMapsMerge) {
  for (const char* text : {"a: {<<: 1}\n", "a: {<<: [{x: 1}, 2]}\n", "a: {<<: ~}\n"}) {
    YAML::Node node = YAML::Load(text);
    try {
      ResolveYamlMergeKeys(node);
      ADD_FAILURE() << "no error for " << text;
    } catch (const YAML::ParserException& e) {
      EXPECT_NE(e.msg.find("a merge key (<<) takes a map or a list of maps, got "),
                std::string::npos)
          << e.msg;
      EXPECT_EQ(e.mark.line, 0);
    }
  }
}

}  // namespace
}  // namespace modelhub
