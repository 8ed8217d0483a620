#include "runtime/config/yaml_fields.h"

#include <gtest/gtest.h>

#include <cmath>

#include "runtime/core/errors.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

YamlContext Context() { return YamlContext{"TestConfig", "test.yaml", ""}; }

YamlContext CardContext() {
  return YamlContext{"TestConfig", "card.yaml", "", ScalarRule::kFairseq2};
}

template <typename Function>
std::string ErrorOf(Function read) {
  return testing::ErrorOf<ConfigError>(read);
}

TEST(YamlFieldReaderTest, ReadsPresentFieldsAndLeavesTheRest) {
  YAML::Node node = YAML::Load("a: 3\nb: 2.5\nc: true\nd: ~\ne: [1, 2]\nf: text");
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
  EXPECT_EQ(read_int("n: +-5"),
            "test.yaml:1:4: TestConfig field 'n': expected an integer, got '+-5'");
  YamlFieldReader plus(YAML::Load("n: +5"), Context());
  plus.Read("n", &i);
  EXPECT_EQ(i, 5);
  EXPECT_EQ(read_int("n: [1]"),
            "test.yaml:1:4: TestConfig field 'n': expected an integer, got a list");
  EXPECT_EQ(read_int("n: ~"), "test.yaml:1:4: TestConfig field 'n': expected an integer, got null");
  EXPECT_EQ(ErrorOf([&] {
              YamlFieldReader reader(YAML::Load("x: nan_value"), Context());
              reader.Read("x", &x);
            }),
            "test.yaml:1:4: TestConfig field 'x': expected a number, got 'nan_value'");
  EXPECT_EQ(ErrorOf([&] {
              YamlFieldReader reader(YAML::Load("flag: 1"), Context());
              reader.Read("flag", &flag);
            }),
            "test.yaml:1:7: TestConfig field 'flag': expected true or false, got '1'");
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

// fairseq2's StandardValueConverter.structure() over card overrides: its own
// test_structure_works reads {"f1": "2", "f5": ["3.0", "4"]} into int and
// tuple[float, int] fields.
TEST(YamlFieldReaderTest, CardRuleReadsNumbersWrittenAsStringsAsFairseq2Does) {
  YAML::Node node = YAML::Load(
      "num_layers: \"2\"\nrope_theta: \"3.0\"\nfactors: [\"3.0\", \"4\"]\nhex: 0x1F\n"
      "under: 1_000\nspaced: \" 7 \"\nwhole: 2.0\nexp: \"1e-6\"\nopt: \"5\"\n");
  int64_t num_layers = 0, hex = 0, under = 0, spaced = 0, whole = 0;
  double rope_theta = 0, exp = 0;
  std::array<double, 2> factors{};
  std::optional<int64_t> opt;
  YamlFieldReader reader(node, CardContext());
  reader.Read("num_layers", &num_layers);
  reader.Read("rope_theta", &rope_theta);
  reader.Read("factors", &factors);
  reader.Read("hex", &hex);
  reader.Read("under", &under);
  reader.Read("spaced", &spaced);
  reader.Read("whole", &whole);
  reader.Read("exp", &exp);
  reader.Read("opt", &opt);
  reader.Finish();
  EXPECT_EQ(num_layers, 2);
  EXPECT_EQ(rope_theta, 3.0);
  EXPECT_EQ(factors[0], 3.0);
  EXPECT_EQ(factors[1], 4.0);
  EXPECT_EQ(hex, 31);
  EXPECT_EQ(under, 1000);
  EXPECT_EQ(spaced, 7);
  EXPECT_EQ(whole, 2);
  EXPECT_EQ(exp, 1e-6);
  EXPECT_EQ(opt, 5);
}

TEST(YamlFieldReaderTest, CardRuleRefusesWhatFairseq2RefusesAndLosslessnessBreaks) {
  auto error = [](const std::string& text, auto* out) {
    return ErrorOf([&] {
      YamlFieldReader reader(YAML::Load(text), CardContext());
      reader.Read("v", out);
    });
  };
  int64_t i = 0;
  double x = 0;
  bool b = false;
  std::string s;
  // test_structure_raises_error_when_conversion_fails: ("a", int).
  EXPECT_EQ(error("v: a", &i), "card.yaml:1:4: TestConfig field 'v': expected an integer, got 'a'");
  EXPECT_EQ(error("v: \"3.0\"", &i),  // Python's int("3.0") fails too
            "card.yaml:1:4: TestConfig field 'v': expected an integer, got the string \"3.0\"");
  EXPECT_EQ(error("v: \"1__0\"", &i),
            "card.yaml:1:4: TestConfig field 'v': expected an integer, got the string \"1__0\"");
  EXPECT_EQ(error("v: 2.5", &i),  // int(2.5) would truncate
            "card.yaml:1:4: TestConfig field 'v': expected an integer, got '2.5'");
  EXPECT_EQ(error("v: true", &i),
            "card.yaml:1:4: TestConfig field 'v': expected an integer, got 'true'");
  EXPECT_EQ(error("v: 9223372036854775808", &i),
            "card.yaml:1:4: TestConfig field 'v': expected an integer, got '9223372036854775808'");
  EXPECT_EQ(error("v: \"0x10\"", &x),
            "card.yaml:1:4: TestConfig field 'v': expected a number, got the string \"0x10\"");
  EXPECT_EQ(error("v: .inf", &x),
            "card.yaml:1:4: TestConfig field 'v': expected a number, got '.inf'");
  // A string field takes only a string, as fairseq2's str structurer.
  EXPECT_EQ(error("v: 1", &s), "card.yaml:1:4: TestConfig field 'v': expected a string, got '1'");
  EXPECT_EQ(error("v: false", &s),
            "card.yaml:1:4: TestConfig field 'v': expected a string, got 'false'");
  // Booleans are YAML 1.2's: `yes` is a string, and a string is not a boolean.
  EXPECT_EQ(error("v: yes", &b),
            "card.yaml:1:4: TestConfig field 'v': expected true or false, got 'yes'");
  EXPECT_EQ(error("v: \"true\"", &b),
            "card.yaml:1:4: TestConfig field 'v': expected true or false, got the string \"true\"");
  YamlFieldReader reader(YAML::Load("s: yes\nt: \"12\"\nb: True"), CardContext());
  std::string t;
  reader.Read("s", &s);
  reader.Read("t", &t);
  reader.Read("b", &b);
  EXPECT_EQ(s, "yes");
  EXPECT_EQ(t, "12");
  EXPECT_TRUE(b);
}

TEST(YamlFieldReaderTest, BooleansAreYaml12UnderEitherRule) {
  bool b = false;
  EXPECT_EQ(ErrorOf([&] {
              YamlFieldReader reader(YAML::Load("tied: yes"), Context());
              reader.Read("tied", &b);
            }),
            "test.yaml:1:7: TestConfig field 'tied': expected true or false, got 'yes'");
  EXPECT_EQ(ErrorOf([&] {
              YamlFieldReader reader(YAML::Load("tied: off"), Context());
              reader.Read("tied", &b);
            }),
            "test.yaml:1:7: TestConfig field 'tied': expected true or false, got 'off'");
  YamlFieldReader reader(YAML::Load("tied: FALSE"), Context());
  b = true;
  reader.Read("tied", &b);
  EXPECT_FALSE(b);
}

TEST(YamlFieldReaderTest, ChoicesRefuseOtherValuesAsFairseq2Literals) {
  std::string scale = "layer";
  EXPECT_EQ(ErrorOf([&] {
              YamlFieldReader reader(YAML::Load("init_std_scale: a"), CardContext());
              reader.Read("init_std_scale", &scale, {"none", "layer", "stack"});
            }),
            "card.yaml:1:17: TestConfig field 'init_std_scale': expected one of none, layer, "
            "stack, got 'a'");
  YamlFieldReader reader(YAML::Load("init_std_scale: stack"), CardContext());
  reader.Read("init_std_scale", &scale, {"none", "layer", "stack"});
  EXPECT_EQ(scale, "stack");
}

TEST(WriteYamlFieldTest, StringsThatReadAsOtherKindsAreQuoted) {
  YAML::Node map(YAML::NodeType::Map);
  WriteYamlField(map, "date", std::string("2024-01-01"));
  WriteYamlField(map, "exp", std::string("1e6"));
  WriteYamlField(map, "yes", std::string("yes"));
  WriteYamlField(map, "word", std::string("layer"));
  EXPECT_EQ(EmitYaml(map), "date: \"2024-01-01\"\nexp: \"1e6\"\nyes: \"yes\"\nword: layer\n");
  YamlFieldReader reader(YAML::Load(EmitYaml(map)), CardContext());
  std::string date;
  reader.Read("date", &date);
  EXPECT_EQ(date, "2024-01-01");
}

}  // namespace
}  // namespace modelhub
