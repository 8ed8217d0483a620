#include "runtime/config/yaml_fields.h"

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/assets/yaml_values.h"
#include "runtime/core/closest_names.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

// yaml-cpp tags quoted scalars "!" and plain ones "?"; a quoted "12" is a string.
bool IsPlainScalar(const YAML::Node& node) { return node.IsScalar() && node.Tag() != "!"; }

// YAML 1.1's booleans beyond 1.2's: readers other than modelhub may take them.
bool IsYaml11Boolean(const std::string& text) {
  const std::string lower = absl::AsciiStrToLower(text);
  return lower == "yes" || lower == "no" || lower == "on" || lower == "off" || lower == "y" ||
         lower == "n";
}

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

namespace {

// `text` without the underscores YAML 1.2 and Python allow between digits.
std::string WithoutUnderscores(std::string_view text) {
  std::string output;
  for (char c : text) {
    if (c != '_') output += c;
  }
  return output;
}

// `text` as Python's int() or float() reads it: surrounding whitespace is
// dropped, and an underscore may stand only between two digits. "" when that
// leaves nothing or an underscore stands elsewhere.
std::string PythonNumberText(std::string_view text) {
  std::string stripped(text);
  absl::StripAsciiWhitespace(&stripped);
  for (size_t i = 0; i < stripped.size(); ++i) {
    if (stripped[i] != '_') continue;
    const bool between = i > 0 && i + 1 < stripped.size() &&
                         absl::ascii_isdigit(static_cast<unsigned char>(stripped[i - 1])) &&
                         absl::ascii_isdigit(static_cast<unsigned char>(stripped[i + 1]));
    if (!between) return "";
  }
  return WithoutUnderscores(stripped);
}

// A whole decimal integer ("+12", "-3"), nullopt when not one or out of range.
std::optional<int64_t> DecimalInt(const std::string& text, int base = 10) {
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  bool negative = false;
  if (begin != end && (*begin == '+' || *begin == '-')) negative = *begin++ == '-';
  if (base != 10) begin += 2;  // the 0x, 0o or 0b prefix
  uint64_t magnitude = 0;
  auto [stop, error] = std::from_chars(begin, end, magnitude, base);
  if (error != std::errc() || stop != end || begin == end) return std::nullopt;
  const uint64_t limit = uint64_t{INT64_MAX} + (negative ? 1 : 0);
  if (magnitude > limit) return std::nullopt;
  return negative ? static_cast<int64_t>(0 - magnitude) : static_cast<int64_t>(magnitude);
}

// A finite double from all of `text` (strtod's syntax), nullopt otherwise.
std::optional<double> FiniteDouble(const std::string& text) {
  if (text.empty() || std::isspace(static_cast<unsigned char>(text[0]))) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const double value = std::strtod(text.c_str(), &end);
  if (end != text.c_str() + text.size() || errno == ERANGE || !std::isfinite(value)) {
    return std::nullopt;
  }
  return value;
}

// Python's float() accepts "inf", "nan" and hex-free strtod syntax; strtod also
// reads hexadecimal floats ("0x1p3"), which Python does not.
bool HasHexPrefix(const std::string& text) {
  const size_t start = !text.empty() && (text[0] == '+' || text[0] == '-') ? 1 : 0;
  return text.size() > start + 1 && text[start] == '0' && (text[start + 1] | 0x20) == 'x';
}

// A YAML 1.2 integer as ruamel.yaml constructs it: 0b, 0o and 0x prefixes,
// underscores anywhere.
std::optional<int64_t> Yaml12Int(const std::string& scalar) {
  const std::string text = WithoutUnderscores(scalar);
  const size_t start = !text.empty() && (text[0] == '+' || text[0] == '-') ? 1 : 0;
  if (text.size() > start + 1 && text[start] == '0') {
    switch (text[start + 1]) {
      case 'b':
        return DecimalInt(text, 2);
      case 'o':
        return DecimalInt(text, 8);
      case 'x':
        return DecimalInt(text, 16);
      default:
        break;
    }
  }
  return DecimalInt(text);
}

// A YAML 1.2 float as ruamel.yaml constructs it (underscores anywhere).
std::optional<double> Yaml12Float(const std::string& scalar) {
  return FiniteDouble(WithoutUnderscores(scalar));
}

}  // namespace

std::optional<int64_t> ParseYamlInt(const YAML::Node& node, ScalarRule rule) {
  if (rule == ScalarRule::kFairseq2) {
    switch (KindOfYaml(node)) {
      case YamlValueKind::kInt:
        return Yaml12Int(node.Scalar());
      case YamlValueKind::kFloat: {  // int(2.0); int(2.5) would truncate
        std::optional<double> value = Yaml12Float(node.Scalar());
        if (!value || std::trunc(*value) != *value || std::fabs(*value) >= 0x1p63) {
          return std::nullopt;
        }
        return static_cast<int64_t>(*value);
      }
      case YamlValueKind::kString: {
        const std::string text = PythonNumberText(node.Scalar());
        if (text.empty()) return std::nullopt;
        return DecimalInt(text);
      }
      default:
        return std::nullopt;
    }
  }
  if (!IsPlainScalar(node)) return std::nullopt;
  const std::string& s = node.Scalar();
  const char* begin = s.data();
  if (s.size() > 1 && s[0] == '+' && s[1] != '-') ++begin;
  int64_t value = 0;
  auto [end, error] = std::from_chars(begin, s.data() + s.size(), value);
  if (error != std::errc() || end != s.data() + s.size() || begin == end) return std::nullopt;
  return value;
}

std::optional<double> ParseYamlFloat(const YAML::Node& node, ScalarRule rule) {
  if (rule == ScalarRule::kFairseq2) {
    switch (KindOfYaml(node)) {
      case YamlValueKind::kInt: {
        std::optional<int64_t> value = Yaml12Int(node.Scalar());
        if (value) return static_cast<double>(*value);
        return Yaml12Float(node.Scalar());  // beyond int64_t, as Python's float(int)
      }
      case YamlValueKind::kFloat:
        return Yaml12Float(node.Scalar());
      case YamlValueKind::kString: {
        const std::string text = PythonNumberText(node.Scalar());
        if (text.empty() || HasHexPrefix(text)) return std::nullopt;
        return FiniteDouble(text);
      }
      default:
        return std::nullopt;
    }
  }
  if (!IsPlainScalar(node)) return std::nullopt;
  return FiniteDouble(node.Scalar());
}

std::optional<bool> ParseYamlBool(const YAML::Node& node, ScalarRule /*rule*/) {
  // YAML 1.2's booleans under both rules, as fairseq2 reads its cards.
  return YamlBoolean(node);
}

std::optional<std::string> ParseYamlString(const YAML::Node& node, ScalarRule rule) {
  if (rule == ScalarRule::kFairseq2) {
    if (!IsYamlString(node)) return std::nullopt;
  } else if (!node.IsScalar() || IsYamlNull(node)) {
    return std::nullopt;
  }
  return node.Scalar();
}

YamlContext YamlContext::Nested(std::string_view key) const {
  return YamlContext{config, file, FieldPath(key), rule};
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
    if (!index_.emplace(key, entries_.size()).second) {
      throw ConfigError(context_.config, context_.FieldPath(key), context_.MarkOf(it->first),
                        "field given twice");
    }
    entries_.emplace_back(key, it->second);
    keys_.push_back(it->first);
  }
  taken_.assign(entries_.size(), false);
}

const YAML::Node* YamlFieldReader::Take(std::string_view key) {
  known_.emplace_back(key);
  auto found = index_.find(std::string(key));
  if (found == index_.end()) return nullptr;
  taken_[found->second] = true;
  return &entries_[found->second].second;
}

void YamlFieldReader::Fail(std::string_view key, const YAML::Node& node,
                           const std::string& reason) const {
  throw ConfigError(context_.config, context_.FieldPath(key), context_.MarkOf(node), reason);
}

template <typename T>
void YamlFieldReader::ReadScalar(std::string_view key, Parser<T> parse, const char* expected,
                                 T* out) {
  if (const YAML::Node* node = Take(key)) {
    std::optional<T> value = parse(*node, context_.rule);
    if (!value) {
      Fail(key, *node, absl::StrCat("expected ", expected, ", got ", DescribeYaml(*node)));
    }
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
    std::optional<T> value = parse(*node, context_.rule);
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
  ReadScalar(key, &ParseYamlString, "a string", out);
}

void YamlFieldReader::Read(std::string_view key, std::string* out,
                           std::initializer_list<std::string_view> choices) {
  const YAML::Node* node = Take(key);
  if (node == nullptr) return;
  const std::string expected = absl::StrCat(
      "one of ", absl::StrJoin(std::vector<std::string>(choices.begin(), choices.end()), ", "));
  std::optional<std::string> value = ParseYamlString(*node, context_.rule);
  if (!value || std::find(choices.begin(), choices.end(), *value) == choices.end()) {
    Fail(key, *node, absl::StrCat("expected ", expected, ", got ", DescribeYaml(*node)));
  }
  *out = *value;
}

void YamlFieldReader::Read(std::string_view key, std::optional<int64_t>* out) {
  ReadOptional(key, &ParseYamlInt, "an integer", out);
}

void YamlFieldReader::Read(std::string_view key, std::optional<double>* out) {
  ReadOptional(key, &ParseYamlFloat, "a number", out);
}

void YamlFieldReader::Read(std::string_view key, std::vector<double>* out) {
  const YAML::Node* node = Take(key);
  if (node == nullptr) return;
  if (!node->IsSequence()) {
    Fail(key, *node, absl::StrCat("expected a list of numbers, got ", DescribeYaml(*node)));
  }
  std::vector<double> values(node->size());
  ReadDoubles(*node, key, 0, values.data());
  *out = std::move(values);
}

void YamlFieldReader::ReadDoubles(std::string_view key, size_t count, double* out) {
  if (const YAML::Node* node = Take(key)) ReadDoubles(*node, key, count, out);
}

void YamlFieldReader::ReadDoubles(const YAML::Node& list, std::string_view key, size_t count,
                                  double* out) {
  const std::string expected = count == 0 ? std::string("expected a list of numbers")
                                          : absl::StrCat("expected a list of ", count, " numbers");
  if (!list.IsSequence() || (count > 0 && list.size() != count)) {
    Fail(key, list, absl::StrCat(expected, ", got ", DescribeYaml(list)));
  }
  for (size_t i = 0; i < list.size(); ++i) {
    std::optional<double> value = ParseYamlFloat(list[i], context_.rule);
    if (!value) {
      Fail(key, list[i], absl::StrCat(expected, ", item ", i, " is ", DescribeYaml(list[i])));
    }
    out[i] = *value;
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

YAML::Node YamlFloatList(const double* values, size_t count) {
  YAML::Node list(YAML::NodeType::Sequence);
  list.SetStyle(YAML::EmitterStyle::Flow);
  for (size_t i = 0; i < count; ++i) list.push_back(FormatYamlFloat(values[i]));
  return list;
}

void WriteYamlField(YAML::Node& map, const char* key, const std::vector<double>& value) {
  map[key] = YamlFloatList(value.data(), value.size());
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
  // Keep strings such as "true", "12", "1e6" or "" strings when the YAML is read
  // back, under YAML 1.1 rules (yes, on) too.
  if (!IsYamlString(scalar) || ParseYamlFloat(scalar) || IsYaml11Boolean(value)) {
    scalar.SetTag("!");
  }
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
