#include "runtime/assets/yaml_values.h"

#include <regex>

#include "absl/strings/str_cat.h"

namespace modelhub {
namespace {

// ruamel.yaml's implicit resolvers for YAML 1.2 (resolver.py), which fairseq2's
// YAML loader uses.
const std::regex& BoolPattern() {
  static const std::regex pattern("^(?:true|True|TRUE|false|False|FALSE)$");
  return pattern;
}

const std::regex& IntPattern() {
  static const std::regex pattern(
      "^(?:[-+]?0b[0-1_]+|[-+]?0o?[0-7_]+|[-+]?[0-9_]+|[-+]?0x[0-9a-fA-F_]+)$");
  return pattern;
}

const std::regex& FloatPattern() {
  static const std::regex pattern(
      "^(?:[-+]?(?:[0-9][0-9_]*)\\.[0-9_]*(?:[eE][-+]?[0-9]+)?"
      "|[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)"
      "|[-+]?\\.[0-9_]+(?:[eE][-+][0-9]+)?"
      "|[-+]?\\.(?:inf|Inf|INF)"
      "|\\.(?:nan|NaN|NAN))$");
  return pattern;
}

const std::regex& TimestampPattern() {
  static const std::regex pattern(
      "^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
      "|[0-9][0-9][0-9][0-9]-[0-9][0-9]?-[0-9][0-9]?"
      "(?:[Tt]|[ \\t]+)[0-9][0-9]?:[0-9][0-9]:[0-9][0-9](?:\\.[0-9]*)?"
      "(?:[ \\t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$");
  return pattern;
}

const std::regex& NullPattern() {
  static const std::regex pattern("^(?:~|null|Null|NULL|)$");
  return pattern;
}

constexpr char kCoreTagPrefix[] = "tag:yaml.org,2002:";

// ruamel.yaml tries a resolver only on scalars starting with one of its first
// characters; for the int pattern that excludes "_1".
YamlValueKind KindOfPlainScalar(const std::string& text) {
  if (std::regex_match(text, NullPattern())) return YamlValueKind::kNull;
  if (std::regex_match(text, BoolPattern())) return YamlValueKind::kBool;
  const bool numeric_start = !text.empty() && text[0] != '_' && text[0] != '.';
  if (numeric_start && std::regex_match(text, IntPattern())) return YamlValueKind::kInt;
  if (std::regex_match(text, FloatPattern())) return YamlValueKind::kFloat;
  if (std::regex_match(text, TimestampPattern())) return YamlValueKind::kTimestamp;
  return YamlValueKind::kString;
}

YamlValueKind KindOfTaggedScalar(const std::string& tag) {
  const std::string prefix = kCoreTagPrefix;
  if (tag.compare(0, prefix.size(), prefix) != 0) return YamlValueKind::kString;
  const std::string name = tag.substr(prefix.size());
  if (name == "null") return YamlValueKind::kNull;
  if (name == "bool") return YamlValueKind::kBool;
  if (name == "int") return YamlValueKind::kInt;
  if (name == "float") return YamlValueKind::kFloat;
  if (name == "timestamp") return YamlValueKind::kTimestamp;
  return YamlValueKind::kString;
}

}  // namespace

YamlValueKind KindOfYaml(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      return YamlValueKind::kMap;
    case YAML::NodeType::Sequence:
      return YamlValueKind::kList;
    case YAML::NodeType::Scalar:
      break;
    default:
      return YamlValueKind::kNull;
  }
  const std::string& tag = node.Tag();
  if (tag == "!") return YamlValueKind::kString;  // quoted
  if (tag.empty() || tag == "?") return KindOfPlainScalar(node.Scalar());
  return KindOfTaggedScalar(tag);
}

bool IsYamlString(const YAML::Node& node) { return KindOfYaml(node) == YamlValueKind::kString; }

std::optional<bool> YamlBoolean(const YAML::Node& node) {
  if (KindOfYaml(node) != YamlValueKind::kBool) return std::nullopt;
  const std::string& text = node.Scalar();
  return !text.empty() && (text[0] == 't' || text[0] == 'T');
}

std::string DescribeYamlValue(const YAML::Node& node) {
  switch (KindOfYaml(node)) {
    case YamlValueKind::kNull:
      return "null";
    case YamlValueKind::kMap:
      return "a map";
    case YamlValueKind::kList:
      return "a list";
    case YamlValueKind::kBool:
      return absl::StrCat("the boolean ", node.Scalar());
    case YamlValueKind::kInt:
      return absl::StrCat("the integer ", node.Scalar());
    case YamlValueKind::kFloat:
      return absl::StrCat("the float ", node.Scalar());
    case YamlValueKind::kTimestamp:
      return absl::StrCat("the timestamp ", node.Scalar());
    case YamlValueKind::kString:
      break;
  }
  return absl::StrCat("the string \"", node.Scalar(), "\"");
}

YAML::Node CopyYaml(const YAML::Node& node) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      YAML::Node copy(node.Scalar());
      copy.SetTag(node.Tag());
      copy.SetStyle(node.Style());
      return copy;
    }
    case YAML::NodeType::Sequence: {
      YAML::Node copy(YAML::NodeType::Sequence);
      for (const YAML::Node& item : node) copy.push_back(CopyYaml(item));
      copy.SetTag(node.Tag());
      copy.SetStyle(node.Style());
      return copy;
    }
    case YAML::NodeType::Map: {
      YAML::Node copy(YAML::NodeType::Map);
      for (auto it = node.begin(); it != node.end(); ++it) {
        copy.force_insert(CopyYaml(it->first), CopyYaml(it->second));
      }
      copy.SetTag(node.Tag());
      copy.SetStyle(node.Style());
      return copy;
    }
    default:
      return YAML::Node(YAML::NodeType::Null);
  }
}

}  // namespace modelhub
