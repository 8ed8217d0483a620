#include "runtime/config/yaml_fields.h"

#include <gtest/gtest.h>

#include <cmath>

#include "runtime/core/errors.h"

namespace modelhub {
namespace {

YamlContext Context() { return YamlContext{"TestConfig", "test.yaml", ""}; }

// The message of the ConfigError `read` throws, or "" if it throws none.
template <typename Function>
std::string ErrorOf(Function read) {
  try {
    read();
  } catch (const ConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(YamlFieldReaderTest, ReadsPresentFieldsAndLeavesTheRest) {
  YAML::Node node = YAML::Load("a: 3\nb: 2.5\nc: yes\nd: ~\ne: [1, 2]\nf: text");
  int64_t a = 0, untouched = 7;
  double b = 0;
  bool c = false;
  std::optional<int64_t> d = 5;
  std::array<double, 2> e{};
  std::string f;
  YamlFieldReader reader(node, Context());
  reader.Read("a", &a);
  reader.Read("b", &b);
  reader.Read("c", &c);
  reader.Read("d", &d);
  reader.Read("e", &e);
  reader.Read("f", &f);
  reader.Read("absent", &untouched);
  reader.Finish();
  EXPECT_EQ(a, 3);
  EXPECT_EQ(b, 2.5);
  EXPECT_TRUE(c);
  EXPECT_FALSE(d.has_value());
  EXPECT_EQ(e[1], 2.0);
  EXPECT_EQ(f, "text");
  EXPECT_EQ(untouched, 7);
}

TEST(YamlFieldReaderTest, WrongTypesNameTheFieldAndPosition) {
  int64_t i = 0;
  double x = 0;
  bool flag = false;
  auto read_int = [&](const char* text) {
    return ErrorOf([&] {
      YamlFieldReader reader(YAML::Load(text), Context());
      reader.Read("n", &i);
    });
  };
  EXPECT_EQ(read_int("n: 1.5"),
            "test.yaml:1:4: TestConfig field 'n': expected an integer, got '1.5'");
  EXPECT_EQ(read_int("n: \"12\""),
            "test.yaml:1:4: TestConfig field 'n': expected an integer, got the string \"12\"");
  EXPECT_NE(read_int("n: +-5"), "");
  EXPECT_EQ(read_int("n: +5"), "");
  EXPECT_EQ(i, 5);
  EXPECT_EQ(read_int("n: [1]"),
            "test.yaml:1:4: TestConfig field 'n': expected an integer, got a list");
  EXPECT_EQ(read_int("n: ~"), "test.yaml:1:4: TestConfig field 'n': expected an integer, got null");
  EXPECT_NE(ErrorOf([&] {
              YamlFieldReader reader(YAML::Load("x: nan_value"), Context());
              reader.Read("x", &x);
            }),
            "");
  EXPECT_NE(ErrorOf([&] {
              YamlFieldReader reader(YAML::Load("flag: 1"), Context());
              reader.Read("flag", &flag);
            }),
            "");
  EXPECT_EQ(ErrorOf([] { YamlFieldReader reader(YAML::Load("- 1"), Context()); }),
            "test.yaml:1:1: TestConfig: expected a map of fields, got a list");
}

TEST(YamlFieldReaderTest, UnknownAndDuplicateKeysAreErrors) {
  int64_t model_dim = 0;
  EXPECT_EQ(ErrorOf([&] {
              YamlFieldReader reader(YAML::Load("model_dim: 1\nmodel_dims: 2"), Context());
              reader.Read("model_dim", &model_dim);
              reader.Read("num_layers", &model_dim);
              reader.Finish();
            }),
            "test.yaml:2:1: TestConfig field 'model_dims': unknown field (did you mean "
            "model_dim?)");
  EXPECT_EQ(ErrorOf([&] {
              YamlFieldReader reader(YAML::Load("colour: red"), Context());
              reader.Read("model_dim", &model_dim);
              reader.Finish();
            }),
            "test.yaml:1:1: TestConfig field 'colour': unknown field (known fields: model_dim)");
  EXPECT_EQ(ErrorOf([&] { YamlFieldReader reader(YAML::Load("a: 1\na: 2"), Context()); }),
            "test.yaml:2:1: TestConfig field 'a': field given twice");
}

TEST(YamlFieldReaderTest, NestedPathsAppearInMessages) {
  YamlContext nested = Context().Nested("rope_scale");
  double factor = 0;
  EXPECT_EQ(ErrorOf([&] {
              YamlFieldReader reader(YAML::Load("factor: big"), nested);
              reader.Read("factor", &factor);
            }),
            "test.yaml:1:9: TestConfig field 'rope_scale.factor': expected a number, got 'big'");
}

TEST(FormatYamlFloatTest, ShortestRoundTripThatLooksLikeAFloat) {
  EXPECT_EQ(FormatYamlFloat(1e6), "1000000.0");
  EXPECT_EQ(FormatYamlFloat(10000), "10000.0");
  EXPECT_EQ(FormatYamlFloat(1e-6), "1e-06");
  EXPECT_EQ(FormatYamlFloat(0.1), "0.1");
  EXPECT_EQ(FormatYamlFloat(2.0 / 3.0), "0.6666666666666666");
  for (double value : {2.0 / 3.0, 1e-6, 123456.789, 1e300, -0.5}) {
    EXPECT_EQ(std::strtod(FormatYamlFloat(value).c_str(), nullptr), value);
  }
}

TEST(WriteYamlFieldTest, WritesEveryTypeSoThatItReadsBack) {
  YAML::Node map(YAML::NodeType::Map);
  WriteYamlField(map, "i", int64_t{42});
  WriteYamlField(map, "x", 0.25);
  WriteYamlField(map, "b", true);
  WriteYamlField(map, "s", std::string("true"));
  WriteYamlField(map, "o", std::optional<int64_t>());
  WriteYamlField(map, "a", std::array<double, 2>{1.0, 4.0});
  const std::string text = EmitYaml(map);
  EXPECT_EQ(text, "i: 42\nx: 0.25\nb: true\ns: \"true\"\no: ~\na: [1.0, 4.0]\n");
  EXPECT_EQ(EmitYamlFlow(map), "{i: 42, x: 0.25, b: true, s: \"true\", o: ~, a: [1.0, 4.0]}");
  YAML::Node back = YAML::Load(text);
  int64_t i = 0;
  std::string s;
  std::optional<int64_t> o = 1;
  YamlFieldReader reader(back, Context());
  reader.Read("i", &i);
  reader.Read("s", &s);
  reader.Read("o", &o);
  EXPECT_EQ(i, 42);
  EXPECT_EQ(s, "true");
  EXPECT_FALSE(o.has_value());
}

}  // namespace
}  // namespace modelhub
