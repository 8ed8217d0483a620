#ifndef MODELHUB_RUNTIME_CONFIG_YAML_FIELDS_H_
#define MODELHUB_RUNTIME_CONFIG_YAML_FIELDS_H_

// Typed reading and writing of config fields as YAML, shared by all generated
// config structs so that every family reports errors the same way.

#include <yaml-cpp/yaml.h>

#include <array>
#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/config/config_traits.h"
#include "runtime/core/source_mark.h"

namespace modelhub {

// How YamlFieldReader turns scalars into field values.
enum class ScalarRule {
  // As written: a quoted scalar is a string, never a number (config.json values,
  // specs, code).
  kAsWritten,
  // As fairseq2's StandardValueConverter.structure() reads the merged config
  // overrides of asset cards (the YAML read as YAML 1.2, as ruamel.yaml does):
  // - an int field takes a YAML 1.2 integer (12, 0x1F, 1_000), a float with no
  //   fraction (2.0), or a string Python's int() reads ("2", " 2 ", "1_000");
  // - a float field takes an integer, a float, or a string Python's float()
  //   reads ("3.0", "4", "1e-6");
  // - a string field takes only a string: plain `yes` or `2b`, or quoted text,
  //   but not 12 or true.
  // Deliberately stricter than fairseq2: booleans are not numbers (Python's
  // int(True) is 1), an int field refuses 2.5 (int(2.5) truncates to 2), and
  // infinities and NaN are refused as everywhere in modelhub.
  kFairseq2,
};

// Where a YAML map being read into a config came from, for error messages.
struct YamlContext {
  std::string config;  // what is being read, e.g. "QwenConfig" or "card 'x' model_config"
  std::string file;    // file the YAML came from, "" when not from a file
  std::string path;    // dotted path of the map inside the config, "" at top level
  ScalarRule rule = ScalarRule::kAsWritten;  // how scalars are read, nested maps included

  // The context of the nested map under `key`.
  YamlContext Nested(std::string_view key) const;
  // The dotted path of `key` in this map.
  std::string FieldPath(std::string_view key) const;
  // The position of `node` in `file`.
  SourceMark MarkOf(const YAML::Node& node) const;
};

// Reads the fields of one YAML map into a struct, one call per field; Finish()
// then rejects every key no call asked for. Fields absent from the map are left
// as they are, which is what makes reading a partial map an override.
class YamlFieldReader {
 public:
  // Throws ConfigError unless `node` is a map (a null node reads as empty).
  YamlFieldReader(const YAML::Node& node, const YamlContext& context);

  void Read(std::string_view key, int64_t* out);
  void Read(std::string_view key, double* out);
  void Read(std::string_view key, bool* out);
  void Read(std::string_view key, std::string* out);
  // A string field that takes only one of `choices` (fairseq2's Literal[...]).
  void Read(std::string_view key, std::string* out,
            std::initializer_list<std::string_view> choices);
  void Read(std::string_view key, std::optional<int64_t>* out);
  void Read(std::string_view key, std::optional<double>* out);
  template <size_t N>
  void Read(std::string_view key, std::array<double, N>* out) {
    ReadDoubles(key, N, out->data());
  }
  // A list of numbers of any length.
  void Read(std::string_view key, std::vector<double>* out);
  // A nested config struct: merged field by field.
  template <typename T>
  void ReadStruct(std::string_view key, T* out) {
    if (const YAML::Node* node = Take(key)) {
      ConfigTraits<T>::Merge(*node, context_.Nested(key), out);
    }
  }

  // Throws ConfigError for the first key no Read asked for, naming the closest
  // known fields.
  void Finish() const;

 private:
  template <typename T>
  using Parser = std::optional<T> (*)(const YAML::Node&, ScalarRule);
  template <typename T>
  void ReadScalar(std::string_view key, Parser<T> parse, const char* expected, T* out);
  template <typename T>
  void ReadOptional(std::string_view key, Parser<T> parse, const char* expected,
                    std::optional<T>* out);
  const YAML::Node* Take(std::string_view key);
  void ReadDoubles(std::string_view key, size_t count, double* out);
  // The numbers of `list` (the value of `key`) into `out`; `count` of them,
  // or any number (0).
  void ReadDoubles(const YAML::Node& list, std::string_view key, size_t count, double* out);
  [[noreturn]] void Fail(std::string_view key, const YAML::Node& node,
                         const std::string& reason) const;

  YamlContext context_;
  std::vector<std::pair<std::string, YAML::Node>> entries_;
  std::unordered_map<std::string, size_t> index_;  // key -> entry
  std::vector<YAML::Node> keys_;
  std::vector<bool> taken_;
  std::vector<std::string> known_;
};

// Strict scalar parsing shared by config reading and codegen. With
// ScalarRule::kAsWritten (the default) quoted scalars are strings, never numbers
// or booleans; kFairseq2 reads numbers as described there. Booleans are YAML
// 1.2's under either rule, as fairseq2's cards (read by ruamel.yaml) have them:
// true/True/TRUE/false/False/FALSE, unquoted; `yes`, `on` and "true" are not.
bool IsYamlNull(const YAML::Node& node);
std::optional<int64_t> ParseYamlInt(const YAML::Node& node,
                                    ScalarRule rule = ScalarRule::kAsWritten);
std::optional<double> ParseYamlFloat(const YAML::Node& node,
                                     ScalarRule rule = ScalarRule::kAsWritten);
std::optional<bool> ParseYamlBool(const YAML::Node& node, ScalarRule rule = ScalarRule::kAsWritten);
// The text of a string field, nullopt when `node` is not one: any scalar but
// null with kAsWritten; with kFairseq2 only a YAML 1.2 string.
std::optional<std::string> ParseYamlString(const YAML::Node& node,
                                           ScalarRule rule = ScalarRule::kAsWritten);
// A short description of a node for messages: 'x', the string "x", a list, null.
std::string DescribeYaml(const YAML::Node& node);

// Scalars formatted for YAML output. Floats use the shortest text that reads
// back to the same double and always look like floats ("1000000.0", "1e-06").
std::string FormatYamlFloat(double value);

// Appends `key: value` to `map` for each field type; nullopt writes null.
void WriteYamlField(YAML::Node& map, const char* key, int64_t value);
void WriteYamlField(YAML::Node& map, const char* key, double value);
void WriteYamlField(YAML::Node& map, const char* key, bool value);
void WriteYamlField(YAML::Node& map, const char* key, const std::string& value);
void WriteYamlField(YAML::Node& map, const char* key, const std::optional<int64_t>& value);
void WriteYamlField(YAML::Node& map, const char* key, const std::optional<double>& value);
// A flow-style YAML list of `count` floats from `values`.
YAML::Node YamlFloatList(const double* values, size_t count);
template <size_t N>
void WriteYamlField(YAML::Node& map, const char* key, const std::array<double, N>& value) {
  map[key] = YamlFloatList(value.data(), N);
}
void WriteYamlField(YAML::Node& map, const char* key, const std::vector<double>& value);

// Emits `node` as block-style YAML text ending in a newline. Scalars tagged "!"
// (strings that would otherwise read as numbers, booleans or null) are quoted.
std::string EmitYaml(const YAML::Node& node);
// The same on one line, in flow style.
std::string EmitYamlFlow(const YAML::Node& node);

// Throws ConfigError(context.config, field, {}, reason): for generated Validate().
[[noreturn]] void FailConstraint(const char* config, const std::string& field,
                                 const std::string& reason);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CONFIG_YAML_FIELDS_H_
