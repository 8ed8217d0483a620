#include "runtime/config/yaml_fields.h"

#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/core/closest_names.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

// yaml-cpp tags quoted scalars "!" and plain ones "?"; a quoted "12" is a string.
bool IsPlainScalar(const YAML::Node& node) { return node.IsScalar() && node.Tag() != "!"; }

}  // namespace

bool IsYamlNull(const YAML::Node& node) {
  if (node.IsNull()) return true;
  if (!IsPlainScalar(node)) return false;
  const std::string& s = node.Scalar();
  return s.empty() || s == "~" || s == "null" || s == "Null" || s == "NULL";
}

std::string DescribeYaml(const YAML::Node& node) {
  if (IsYamlNull(node)) return "null";
  if (node.IsSequence()) return "a list";
  if (node.IsMap()) return "a map";
  if (!IsPlainScalar(node)) return absl::StrCat("the string \"", node.Scalar(), "\"");
  return absl::StrCat("'", node.Scalar(), "'");
}

std::optional<int64_t> ParseYamlInt(const YAML::Node& node) {
  if (!IsPlainScalar(node)) return std::nullopt;
  const std::string& s = node.Scalar();
  const char* begin = s.data();
  if (s.size() > 1 && s[0] == '+' && s[1] != '-') ++begin;
  int64_t value = 0;
  auto [end, error] = std::from_chars(begin, s.data() + s.size(), value);
  if (error != std::errc() || end != s.data() + s.size() || begin == end) return std::nullopt;
  return value;
}

std::optional<double> ParseYamlFloat(const YAML::Node& node) {
  if (!IsPlainScalar(node)) return std::nullopt;
  const std::string& s = node.Scalar();
  if (s.empty() || std::isspace(static_cast<unsigned char>(s[0]))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  double value = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size() || errno == ERANGE || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

std::optional<bool> ParseYamlBool(const YAML::Node& node) {
  if (!IsPlainScalar(node)) return std::nullopt;
  // YAML 1.1 booleans, which fairseq2's cards (read by PyYAML) may use.
  std::string s = absl::AsciiStrToLower(node.Scalar());
  if (s == "true" || s == "yes" || s == "on") return true;
  if (s == "false" || s == "no" || s == "off") return false;
  return std::nullopt;
}

YamlContext YamlContext::Nested(std::string_view key) const {
  return YamlContext{config, file, FieldPath(key)};
}

std::string YamlContext::FieldPath(std::string_view key) const {
  return path.empty() ? std::string(key) : absl::StrCat(path, ".", std::string(key));
}

SourceMark YamlContext::MarkOf(const YAML::Node& node) const {
  YAML::Mark mark = node.Mark();
  if (mark.is_null()) return SourceMark{file, 0, 0};
  return SourceMark{file, mark.line + 1, mark.column + 1};
}

YamlFieldReader::YamlFieldReader(const YAML::Node& node, const YamlContext& context)
    : context_(context) {
  if (IsYamlNull(node)) return;
  if (!node.IsMap()) {
    throw ConfigError(context_.config, context_.path, context_.MarkOf(node),
                      absl::StrCat("expected a map of fields, got ", DescribeYaml(node)));
  }
  for (auto it = node.begin(); it != node.end(); ++it) {
    std::string key = it->first.Scalar();
    for (const auto& [seen, unused] : entries_) {
      if (seen == key) {
        throw ConfigError(context_.config, context_.FieldPath(key), context_.MarkOf(it->first),
                          "field given twice");
      }
    }
    entries_.emplace_back(key, it->second);
    keys_.push_back(it->first);
  }
  taken_.assign(entries_.size(), false);
}

const YAML::Node* YamlFieldReader::Take(std::string_view key) {
  known_.emplace_back(key);
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (entries_[i].first == key) {
      taken_[i] = true;
      return &entries_[i].second;
    }
  }
  return nullptr;
}

void YamlFieldReader::Fail(std::string_view key, const YAML::Node& node,
                           const std::string& reason) const {
  throw ConfigError(context_.config, context_.FieldPath(key), context_.MarkOf(node), reason);
}

template <typename T>
void YamlFieldReader::ReadScalar(std::string_view key, Parser<T> parse, const char* expected,
                                 T* out) {
  if (const YAML::Node* node = Take(key)) {
    std::optional<T> value = parse(*node);
    if (!value)
      Fail(key, *node, absl::StrCat("expected ", expected, ", got ", DescribeYaml(*node)));
    *out = *value;
  }
}

template <typename T>
void YamlFieldReader::ReadOptional(std::string_view key, Parser<T> parse, const char* expected,
                                   std::optional<T>* out) {
  if (const YAML::Node* node = Take(key)) {
    if (IsYamlNull(*node)) {
      out->reset();
      return;
    }
    std::optional<T> value = parse(*node);
    if (!value) {
      Fail(key, *node, absl::StrCat("expected ", expected, " or null, got ", DescribeYaml(*node)));
    }
    *out = value;
  }
}

void YamlFieldReader::Read(std::string_view key, int64_t* out) {
  ReadScalar(key, &ParseYamlInt, "an integer", out);
}

void YamlFieldReader::Read(std::string_view key, double* out) {
  ReadScalar(key, &ParseYamlFloat, "a number", out);
}

void YamlFieldReader::Read(std::string_view key, bool* out) {
  ReadScalar(key, &ParseYamlBool, "true or false", out);
}

void YamlFieldReader::Read(std::string_view key, std::string* out) {
  if (const YAML::Node* node = Take(key)) {
    if (!node->IsScalar() || IsYamlNull(*node)) {
      Fail(key, *node, absl::StrCat("expected a string, got ", DescribeYaml(*node)));
    }
    *out = node->Scalar();
  }
}

void YamlFieldReader::Read(std::string_view key, std::optional<int64_t>* out) {
  ReadOptional(key, &ParseYamlInt, "an integer", out);
}

void YamlFieldReader::Read(std::string_view key, std::optional<double>* out) {
  ReadOptional(key, &ParseYamlFloat, "a number", out);
}

void YamlFieldReader::ReadDoubles(std::string_view key, size_t count, double* out) {
  if (const YAML::Node* node = Take(key)) {
    std::string expected = absl::StrCat("expected a list of ", count, " numbers");
    if (!node->IsSequence() || node->size() != count) {
      Fail(key, *node, absl::StrCat(expected, ", got ", DescribeYaml(*node)));
    }
    for (size_t i = 0; i < count; ++i) {
      std::optional<double> value = ParseYamlFloat((*node)[i]);
      if (!value) {
        Fail(key, (*node)[i],
             absl::StrCat(expected, ", item ", i, " is ", DescribeYaml((*node)[i])));
      }
      out[i] = *value;
    }
  }
}

void YamlFieldReader::Finish() const {
  for (size_t i = 0; i < entries_.size(); ++i) {
    if (taken_[i]) continue;
    const std::string& key = entries_[i].first;
    std::vector<std::string> close = ClosestNames(key, known_);
    std::string hint = close.empty()
                           ? absl::StrCat("known fields: ", absl::StrJoin(known_, ", "))
                           : absl::StrCat("did you mean ", absl::StrJoin(close, ", "), "?");
    throw ConfigError(context_.config, context_.FieldPath(key), context_.MarkOf(keys_[i]),
                      absl::StrCat("unknown field (", hint, ")"));
  }
}

std::string FormatYamlFloat(double value) {
  char buffer[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buffer, sizeof(buffer), "%.*g", precision, value);
    if (std::strtod(buffer, nullptr) == value) break;
  }
  std::string text = buffer;
  // %g switches to exponents early ("1e+04"); plain decimals read better in the
  // usual range of config values.
  const double magnitude = std::fabs(value);
  if (text.find('e') != std::string::npos && magnitude >= 1e-4 && magnitude < 1e15) {
    for (int decimals = 1; decimals <= 17; ++decimals) {
      std::snprintf(buffer, sizeof(buffer), "%.*f", decimals, value);
      if (std::strtod(buffer, nullptr) == value) {
        text = buffer;
        break;
      }
    }
  }
  if (text.find_first_of(".eEn") == std::string::npos) text += ".0";
  return text;
}

void WriteYamlField(YAML::Node& map, const char* key, int64_t value) {
  map[key] = std::to_string(value);
}

void WriteYamlField(YAML::Node& map, const char* key, double value) {
  map[key] = FormatYamlFloat(value);
}

void WriteYamlField(YAML::Node& map, const char* key, bool value) {
  map[key] = value ? "true" : "false";
}

void WriteYamlField(YAML::Node& map, const char* key, const std::string& value) {
  YAML::Node scalar(value);
  // Keep strings such as "true", "12" or "" strings when the YAML is read back.
  if (IsYamlNull(scalar) || ParseYamlBool(scalar) || ParseYamlFloat(scalar)) scalar.SetTag("!");
  map[key] = scalar;
}

void WriteYamlField(YAML::Node& map, const char* key, const std::optional<int64_t>& value) {
  if (value) {
    WriteYamlField(map, key, *value);
  } else {
    map[key] = YAML::Node(YAML::NodeType::Null);
  }
}

void WriteYamlField(YAML::Node& map, const char* key, const std::optional<double>& value) {
  if (value) {
    WriteYamlField(map, key, *value);
  } else {
    map[key] = YAML::Node(YAML::NodeType::Null);
  }
}

namespace {

void Emit(const YAML::Node& node, YAML::Emitter& emitter) {
  switch (node.Type()) {
    case YAML::NodeType::Map:
      emitter << YAML::BeginMap;
      for (auto it = node.begin(); it != node.end(); ++it) {
        emitter << YAML::Key << it->first.Scalar() << YAML::Value;
        Emit(it->second, emitter);
      }
      emitter << YAML::EndMap;
      break;
    case YAML::NodeType::Sequence:
      emitter << YAML::Flow << YAML::BeginSeq;
      for (const YAML::Node& item : node) Emit(item, emitter);
      emitter << YAML::EndSeq;
      break;
    case YAML::NodeType::Scalar:
      if (node.Tag() == "!") emitter << YAML::DoubleQuoted;
      emitter << node.Scalar();
      break;
    default:
      emitter << YAML::Null;
  }
}

}  // namespace

std::string EmitYaml(const YAML::Node& node) {
  YAML::Emitter emitter;
  Emit(node, emitter);
  return std::string(emitter.c_str()) + "\n";
}

std::string EmitYamlFlow(const YAML::Node& node) {
  YAML::Emitter emitter;
  emitter << YAML::Flow;
  Emit(node, emitter);
  return emitter.c_str();
}

void FailConstraint(const char* config, const std::string& field, const std::string& reason) {
  throw ConfigError(config, field, SourceMark{}, reason);
}

}  // namespace modelhub
