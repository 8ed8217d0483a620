#include "codegen/spec_parser.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <type_traits>
#include <utility>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "codegen/spec_error.h"
#include "runtime/assets/yaml_values.h"
#include "runtime/blueprint/decoder_blueprint.h"
#include "runtime/blueprint/decoder_parameters.h"
#include "runtime/config/yaml_fields.h"
#include "runtime/core/closest_names.h"
#include "runtime/mapping/key_pattern.h"

namespace modelhub::codegen {
namespace {

namespace fs = std::filesystem;

// Names a field may not take because the generated C++ would not compile: C++17
// keywords, alternative tokens, and the fixed-width integer types.
const std::set<std::string>& ReservedNames() {
  static const auto* names = new std::set<std::string>{"alignas",      "alignof",
                                                       "and",          "and_eq",
                                                       "asm",          "auto",
                                                       "bitand",       "bitor",
                                                       "bool",         "break",
                                                       "case",         "catch",
                                                       "char",         "char16_t",
                                                       "char32_t",     "class",
                                                       "compl",        "const",
                                                       "constexpr",    "const_cast",
                                                       "continue",     "decltype",
                                                       "default",      "delete",
                                                       "do",           "double",
                                                       "dynamic_cast", "else",
                                                       "enum",         "explicit",
                                                       "export",       "extern",
                                                       "false",        "float",
                                                       "for",          "friend",
                                                       "goto",         "if",
                                                       "inline",       "int",
                                                       "long",         "mutable",
                                                       "namespace",    "new",
                                                       "noexcept",     "not",
                                                       "not_eq",       "nullptr",
                                                       "operator",     "or",
                                                       "or_eq",        "private",
                                                       "protected",    "public",
                                                       "register",     "reinterpret_cast",
                                                       "return",       "short",
                                                       "signed",       "sizeof",
                                                       "static",       "static_assert",
                                                       "static_cast",  "struct",
                                                       "switch",       "template",
                                                       "this",         "thread_local",
                                                       "throw",        "true",
                                                       "try",          "typedef",
                                                       "typeid",       "typename",
                                                       "union",        "unsigned",
                                                       "using",        "virtual",
                                                       "void",         "volatile",
                                                       "wchar_t",      "while",
                                                       "xor",          "xor_eq",
                                                       "int8_t",       "int16_t",
                                                       "int32_t",      "int64_t",
                                                       "uint8_t",      "uint16_t",
                                                       "uint32_t",     "uint64_t",
                                                       "size_t"};
  return *names;
}

bool IsDigit(char c) { return std::isdigit(static_cast<unsigned char>(c)) != 0; }

// "LLaMAConfig" belongs to family "llama": its lower-case form starts with the
// family's name without underscores.
bool HasFamilyPrefix(const std::string& struct_name, const std::string& family) {
  std::string lower, stem;
  for (char c : struct_name)
    lower += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (char c : family) {
    if (c != '_') stem += c;
  }
  return lower.rfind(stem, 0) == 0;
}

// A doc becomes a one-line C++ comment: no line breaks, no trailing backslash.
// " (did you mean x?)" for a field name `name` that `schema` lacks, or the
// schema's fields when none is close.
std::string FieldHint(const std::string& name, const StructSpec& schema) {
  std::vector<std::string> fields;
  for (const FieldSpec& field : schema.fields) fields.push_back(field.name);
  std::vector<std::string> close = ClosestNames(name, fields);
  return close.empty() ? absl::StrCat(" (its fields: ", absl::StrJoin(fields, ", "), ")")
                       : absl::StrCat(" (did you mean ", absl::StrJoin(close, ", "), "?)");
}

bool IsOneLineDoc(const std::string& doc) {
  return doc.find_first_of("\r\n") == std::string::npos && (doc.empty() || doc.back() != '\\');
}

class Parser {
 public:
  Parser(std::string file, SpecFileReader read) : file_(std::move(file)), read_(std::move(read)) {}

  FamilySpec Parse(const std::string& text);

 private:
  // The one YAML document of the spec file `text` (file_), or a null node when
  // it holds none. Throws SpecError for invalid YAML or a second document.
  YAML::Node LoadSpecDocument(const std::string& text) const;

  // Strict view of one YAML map of the spec: duplicates are rejected up front,
  // every key must be asked for, and Finish() rejects the rest.
  class Map {
   public:
    Map(Parser& parser, const YAML::Node& node, std::string what, std::string item = "key")
        : parser_(parser), node_(node), what_(std::move(what)) {
      if (!node.IsMap()) {
        parser.Fail(node, absl::StrCat(what_, " must be a map, not ", DescribeYaml(node)));
      }
      for (auto it = node.begin(); it != node.end(); ++it) {
        const std::string key = it->first.Scalar();
        for (const auto& entry : entries_) {
          if (entry.first.Scalar() == key) {
            parser.Fail(it->first,
                        absl::StrCat("duplicate ", item, " '", key, "' in ", what_,
                                     " (first at line ", entry.first.Mark().line + 1, ")"));
          }
        }
        entries_.emplace_back(it->first, it->second);
      }
      used_.assign(entries_.size(), false);
    }

    const std::vector<std::pair<YAML::Node, YAML::Node>>& entries() {
      used_.assign(entries_.size(), true);
      return entries_;
    }

    std::optional<YAML::Node> Optional(const std::string& key) {
      asked_.push_back(key);
      for (size_t i = 0; i < entries_.size(); ++i) {
        if (entries_[i].first.Scalar() == key) {
          used_[i] = true;
          return entries_[i].second;
        }
      }
      return std::nullopt;
    }

    YAML::Node Required(const std::string& key) {
      std::optional<YAML::Node> node = Optional(key);
      if (!node) parser_.Fail(node_, absl::StrCat(what_, " needs '", key, "'"));
      return *node;
    }

    void Finish() const {
      for (size_t i = 0; i < entries_.size(); ++i) {
        if (!used_[i]) {
          parser_.Fail(entries_[i].first,
                       absl::StrCat("unknown key '", entries_[i].first.Scalar(), "' in ", what_,
                                    " (expected one of: ", absl::StrJoin(asked_, ", "), ")"));
        }
      }
    }

   private:
    Parser& parser_;
    YAML::Node node_;
    std::string what_;
    std::vector<std::pair<YAML::Node, YAML::Node>> entries_;
    std::vector<bool> used_;
    std::vector<std::string> asked_;
  };

  SourceMark MarkOf(const YAML::Node& node) const {
    YAML::Mark mark = node.Mark();
    if (mark.is_null()) return SourceMark{file_, 0, 0};
    return SourceMark{file_, mark.line + 1, mark.column + 1};
  }

  [[noreturn]] void Fail(const YAML::Node& node, const std::string& message) const {
    throw SpecError(MarkOf(node), message);
  }

  std::string String(const YAML::Node& node, const std::string& what) const {
    if (!node.IsScalar() || IsYamlNull(node)) {
      Fail(node, absl::StrCat(what, " must be a string, not ", DescribeYaml(node)));
    }
    return node.Scalar();
  }

  std::string Doc(const YAML::Node& node) const {
    std::string doc = String(node, "doc");
    if (!IsOneLineDoc(doc)) Fail(node, "doc must be one line, not ending in a backslash");
    return doc;
  }

  std::string Enum(const YAML::Node& node, const std::string& what,
                   const std::vector<std::string>& allowed) const {
    std::string value = String(node, what);
    if (std::find(allowed.begin(), allowed.end(), value) == allowed.end()) {
      Fail(node, absl::StrCat("unknown ", what, " '", value,
                              "' (known: ", absl::StrJoin(allowed, ", "), ")"));
    }
    return value;
  }

  FieldType ParseType(const YAML::Node& node, size_t* array_size) const;
  Literal ParseLiteral(const YAML::Node& node, FieldType type, size_t array_size,
                       const std::string& what) const;
  // Fails at `node` when `field` has choices and `value` is not one of them.
  void CheckChoice(const FieldSpec& field, const Literal& value, const YAML::Node& node,
                   const std::string& what) const;
  std::shared_ptr<StructSpec> ParseStruct(const YAML::Node& name, const YAML::Node& doc,
                                          const YAML::Node& fields, const std::string& what);
  FieldSpec ParseField(const YAML::Node& key, const YAML::Node& node, const std::string& owner);
  void ParseArchs(const YAML::Node& node, FamilySpec& spec);
  // Calls `leaf` for each field a partial config map sets (nested structs
  // walked), with its path from the config root; unknown fields fail. `what`
  // names the map in errors ("settings", "hugging_face config").
  void ForEachField(
      const YAML::Node& node, const StructSpec& schema, const std::vector<std::string>& prefix,
      const std::string& what,
      const std::function<void(const std::vector<std::string>& path, const FieldSpec& field,
                               const YAML::Node& value)>& leaf);
  void ParseSettings(const YAML::Node& node, const StructSpec& schema,
                     std::vector<ArchSetting>& out);
  void CheckArchBases(const FamilySpec& spec, const std::map<std::string, SourceMark>& names);
  void ParseDecoder(const YAML::Node& node, FamilySpec& spec);
  // One `checkpoints:` section and the spec file it is written in.
  struct CheckpointSection {
    YAML::Node node;
    std::string file;
  };
  // What the rules of one checkpoint format have claimed so far, across the
  // sections that add to it.
  struct KeyFormatState {
    size_t index = 0;                           // in FamilySpec::checkpoint_formats
    SourceMark layout_mark;                     // where its rope_layout was first given
    std::map<std::string, SourceMark> sources;  // by pattern shape, for duplicates
    std::map<std::string, SourceMark> targets;
  };
  // "line N" for a position in the file being read, "FILE:N" for another.
  std::string Where(const SourceMark& mark) const;
  // The sections `node` imports (depth first, each before the section that
  // imports it), then `node` itself; `chain` is the import path, for cycles.
  void CollectCheckpointSections(const YAML::Node& node, std::vector<std::string>& chain,
                                 std::vector<CheckpointSection>& sections);
  void ParseCheckpoints(const YAML::Node& node, FamilySpec& spec);
  void ParseKeyRules(const YAML::Node& keys_node, const std::string& what, bool converts,
                     KeyFormatState& state, KeyFormatSpec& format);
  void ParseHuggingFace(const YAML::Node& node, FamilySpec& spec);
  // Fills in each model type's transformers class from `architectures`.
  void ParseHfArchitectures(const YAML::Node& node, HuggingFaceSpec& hf);
  HfConfigRuleSpec ParseHfRule(const std::vector<std::string>& path, const FieldSpec& field,
                               const YAML::Node& value);
  std::string JsonKey(const YAML::Node& node) const;
  // A parameter the decoder may create, as the key-map checks see it.
  struct ModelParameter {
    std::string name;  // "decoder.layers.{i}.ffn.gate_proj.weight"
    ParsedKeyPattern pattern;
    std::string shape;         // ShapeOf(pattern), for "did you mean"
    std::string exists_when;   // "" when always, else "<setting> is <true|false>"
    std::string ruled_out_by;  // "" when some config creates it, else why none does
  };
  // The parameters of DecoderParameterList, as the spec's decoder section decides them.
  static std::vector<ModelParameter> ListParameters(const DecoderSpec& decoder);
  // Every key-map target names a parameter the decoder can create, and every
  // such parameter has a source in each checkpoint format.
  void CheckKeyMapsNameParameters(const FamilySpec& spec) const;

  std::string file_;  // the file being read, for positions: the spec or one it imports
  SpecFileReader read_;
  std::string family_;
  std::set<std::string> struct_names_;
};

FieldType Parser::ParseType(const YAML::Node& node, size_t* array_size) const {
  const std::string type = String(node, "type");
  static const std::vector<std::pair<std::string, FieldType>> kTypes = {
      {"int", FieldType::kInt},          {"float", FieldType::kFloat},
      {"bool", FieldType::kBool},        {"string", FieldType::kString},
      {"int?", FieldType::kOptionalInt}, {"float?", FieldType::kOptionalFloat},
      {"struct", FieldType::kStruct}};
  for (const auto& [name, value] : kTypes) {
    if (type == name) return value;
  }
  if (type.rfind("float[", 0) == 0 && type.back() == ']') {
    std::string digits = type.substr(6, type.size() - 7);
    if (!digits.empty() && digits.size() < 4 &&
        std::all_of(digits.begin(), digits.end(), IsDigit) && std::stoi(digits) > 0) {
      *array_size = std::stoul(digits);
      return FieldType::kFloatArray;
    }
  }
  Fail(node, absl::StrCat("unknown type '", type,
                          "' (known: int, float, bool, string, int?, float?, float[N], struct)"));
}

void Parser::CheckChoice(const FieldSpec& field, const Literal& value, const YAML::Node& node,
                         const std::string& what) const {
  if (field.choices.empty() || std::find(field.choices.begin(), field.choices.end(),
                                         value.string_value) != field.choices.end()) {
    return;
  }
  Fail(node, absl::StrCat(what, " must be one of ", absl::StrJoin(field.choices, ", "), ", not '",
                          value.string_value, "'"));
}

Literal Parser::ParseLiteral(const YAML::Node& node, FieldType type, size_t array_size,
                             const std::string& what) const {
  Literal literal;
  auto fail = [&](const std::string& expected) {
    Fail(node, absl::StrCat(what, " must be ", expected, ", not ", DescribeYaml(node)));
  };
  const bool optional = type == FieldType::kOptionalInt || type == FieldType::kOptionalFloat;
  if (optional && IsYamlNull(node)) return literal;  // kNull
  switch (type) {
    case FieldType::kInt:
    case FieldType::kOptionalInt: {
      std::optional<int64_t> value = ParseYamlInt(node);
      if (!value) fail(optional ? "an integer or null" : "an integer");
      literal.kind = Literal::Kind::kInt;
      literal.int_value = *value;
      break;
    }
    case FieldType::kFloat:
    case FieldType::kOptionalFloat: {
      std::optional<double> value = ParseYamlFloat(node);
      if (!value) fail(optional ? "a number or null" : "a number");
      literal.kind = Literal::Kind::kFloat;
      literal.float_value = *value;
      break;
    }
    case FieldType::kBool: {
      std::optional<bool> value = ParseYamlBool(node);
      if (!value) fail("true or false");
      literal.kind = Literal::Kind::kBool;
      literal.bool_value = *value;
      break;
    }
    case FieldType::kString:
      if (!node.IsScalar() || IsYamlNull(node)) fail("a string");
      literal.kind = Literal::Kind::kString;
      literal.string_value = node.Scalar();
      break;
    case FieldType::kFloatArray: {
      std::string expected = absl::StrCat("a list of ", array_size, " numbers");
      if (!node.IsSequence() || node.size() != array_size) fail(expected);
      literal.kind = Literal::Kind::kFloatList;
      for (size_t i = 0; i < array_size; ++i) {
        std::optional<double> value = ParseYamlFloat(node[i]);
        if (!value) fail(expected);
        literal.floats.push_back(*value);
      }
      break;
    }
    case FieldType::kStruct:
      fail("a map");
  }
  return literal;
}

std::shared_ptr<StructSpec> Parser::ParseStruct(const YAML::Node& name, const YAML::Node& doc,
                                                const YAML::Node& fields, const std::string& what) {
  auto spec = std::make_shared<StructSpec>();
  spec->cpp_name = String(name, "struct name");
  if (!IsIdentifier(spec->cpp_name) ||
      !std::isupper(static_cast<unsigned char>(spec->cpp_name[0]))) {
    Fail(name, absl::StrCat("struct name '", spec->cpp_name,
                            "' must be a C++ identifier starting with a capital letter"));
  }
  if (!HasFamilyPrefix(spec->cpp_name, family_)) {
    Fail(name, absl::StrCat("struct name '", spec->cpp_name, "' must start with the family name '",
                            family_, "' (any case), so that families never clash"));
  }
  if (!struct_names_.insert(spec->cpp_name).second) {
    Fail(name, absl::StrCat("struct name '", spec->cpp_name, "' is used twice"));
  }
  spec->doc = Doc(doc);
  spec->mark = MarkOf(name);
  Map map(*this, fields, absl::StrCat("fields of ", what), "field");
  for (const auto& [key, value] : map.entries()) {
    spec->fields.push_back(ParseField(key, value, spec->cpp_name));
  }
  if (spec->fields.empty()) Fail(fields, absl::StrCat(spec->cpp_name, " has no fields"));
  // divisible_by may name a sibling declared later: resolve it now.
  for (FieldSpec& field : spec->fields) {
    for (Constraint& constraint : field.constraints) {
      if (constraint.kind != Constraint::Kind::kDivisibleBy || constraint.other_field.empty()) {
        continue;
      }
      const FieldSpec* other = spec->FindField(constraint.other_field);
      if (other == nullptr || other->type != FieldType::kInt) {
        throw SpecError(
            constraint.mark,
            absl::StrCat("divisible_by of field '", field.name, "' names '", constraint.other_field,
                         "', which is not an int field of ", spec->cpp_name));
      }
    }
  }
  return spec;
}

FieldSpec Parser::ParseField(const YAML::Node& key, const YAML::Node& node,
                             const std::string& owner) {
  FieldSpec field;
  field.name = key.Scalar();
  field.mark = MarkOf(key);
  if (!IsIdentifier(field.name) || std::isupper(static_cast<unsigned char>(field.name[0])) ||
      ReservedNames().count(field.name) > 0) {
    Fail(key, absl::StrCat("field name '", field.name,
                           "' must be a lower-case identifier that is not a reserved word"));
  }
  const std::string what = absl::StrCat("field '", field.name, "' of ", owner);
  Map map(*this, node, what);
  field.type = ParseType(map.Required("type"), &field.array_size);
  field.doc = Doc(map.Required("doc"));
  if (field.type == FieldType::kStruct) {
    field.nested =
        ParseStruct(map.Required("struct"), map.Required("doc"), map.Required("fields"), what);
  } else {
    field.default_value = ParseLiteral(map.Required("default"), field.type, field.array_size,
                                       absl::StrCat("the default of ", what));
  }
  if (std::optional<YAML::Node> value = map.Optional("choices")) {
    if (field.type != FieldType::kString) Fail(*value, "choices applies to string fields only");
    if (!value->IsSequence() || value->size() == 0) {
      Fail(*value,
           absl::StrCat("choices must be a non-empty list of strings, not ", DescribeYaml(*value)));
    }
    for (const YAML::Node& choice : *value) {
      std::string text = String(choice, "a choice");
      if (std::find(field.choices.begin(), field.choices.end(), text) != field.choices.end()) {
        Fail(choice, absl::StrCat("choice '", text, "' is listed twice"));
      }
      field.choices.push_back(std::move(text));
    }
    CheckChoice(field, field.default_value, map.Required("default"),
                absl::StrCat("the default of ", what));
  }
  const bool numeric = field.type == FieldType::kInt || field.type == FieldType::kOptionalInt ||
                       field.type == FieldType::kFloat || field.type == FieldType::kOptionalFloat;
  const bool integral = field.type == FieldType::kInt || field.type == FieldType::kOptionalInt;
  for (const char* bound : {"min", "max"}) {
    if (std::optional<YAML::Node> value = map.Optional(bound)) {
      if (!numeric) Fail(*value, absl::StrCat(bound, " applies to number fields only"));
      Constraint constraint;
      constraint.kind = bound[1] == 'i' ? Constraint::Kind::kMin : Constraint::Kind::kMax;
      constraint.bound = ParseLiteral(*value, integral ? FieldType::kInt : FieldType::kFloat, 0,
                                      absl::StrCat(bound, " of ", what));
      constraint.mark = MarkOf(*value);
      field.constraints.push_back(constraint);
    }
  }
  if (std::optional<YAML::Node> value = map.Optional("divisible_by")) {
    if (!integral) Fail(*value, "divisible_by applies to int fields only");
    Constraint constraint;
    constraint.kind = Constraint::Kind::kDivisibleBy;
    constraint.mark = MarkOf(*value);
    if (std::optional<int64_t> number = ParseYamlInt(*value)) {
      if (*number <= 0) Fail(*value, "divisible_by must be positive");
      constraint.bound.kind = Literal::Kind::kInt;
      constraint.bound.int_value = *number;
    } else {
      constraint.other_field = String(*value, "divisible_by");
    }
    field.constraints.push_back(constraint);
  }
  map.Finish();
  return field;
}

void Parser::ForEachField(
    const YAML::Node& node, const StructSpec& schema, const std::vector<std::string>& prefix,
    const std::string& what,
    const std::function<void(const std::vector<std::string>& path, const FieldSpec& field,
                             const YAML::Node& value)>& leaf) {
  const std::string where =
      prefix.empty() ? schema.cpp_name : absl::StrCat("'", absl::StrJoin(prefix, "."), "'");
  Map map(*this, node, absl::StrCat(what, " of ", where), "field");
  for (const auto& [key, value] : map.entries()) {
    const FieldSpec* field = schema.FindField(key.Scalar());
    if (field == nullptr) {
      Fail(key, absl::StrCat("unknown field '", key.Scalar(), "' in ", schema.cpp_name,
                             FieldHint(key.Scalar(), schema)));
    }
    std::vector<std::string> path = prefix;
    path.push_back(field->name);
    if (field->type == FieldType::kStruct) {
      ForEachField(value, *field->nested, path, what, leaf);
    } else {
      leaf(path, *field, value);
    }
  }
}

void Parser::ParseSettings(const YAML::Node& node, const StructSpec& schema,
                           std::vector<ArchSetting>& out) {
  ForEachField(
      node, schema, {}, "settings",
      [&](const std::vector<std::string>& path, const FieldSpec& field, const YAML::Node& value) {
        ArchSetting setting;
        setting.path = path;
        setting.type = field.type;
        setting.mark = MarkOf(value);
        const std::string what = absl::StrCat("'", absl::StrJoin(path, "."), "'");
        setting.value = ParseLiteral(value, field.type, field.array_size, what);
        CheckChoice(field, setting.value, value, what);
        out.push_back(std::move(setting));
      });
}

void Parser::ParseArchs(const YAML::Node& node, FamilySpec& spec) {
  Map archs(*this, node, "archs", "arch");
  std::map<std::string, SourceMark> names;  // canonical names and aliases
  auto claim = [&](const YAML::Node& at, const std::string& name) {
    bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.';
    });
    if (!valid) Fail(at, absl::StrCat("arch name '", name, "' may use only [A-Za-z0-9_.]"));
    auto [it, inserted] = names.emplace(name, MarkOf(at));
    if (!inserted) {
      Fail(at, absl::StrCat("duplicate arch '", name, "' (first at line ", it->second.line, ")"));
    }
  };
  for (const auto& [key, value] : archs.entries()) {
    ArchSpec arch;
    arch.name = key.Scalar();
    arch.mark = MarkOf(key);
    claim(key, arch.name);
    Map map(*this, value, absl::StrCat("arch '", arch.name, "'"));
    if (auto base = map.Optional("base")) {
      arch.base = String(*base, "base");
      arch.base_mark = MarkOf(*base);
    }
    if (auto doc = map.Optional("doc")) arch.doc = Doc(*doc);
    if (auto aliases = map.Optional("aliases")) {
      if (!aliases->IsSequence()) Fail(*aliases, "aliases must be a list of arch names");
      for (const YAML::Node& alias : *aliases) {
        std::string name = String(alias, "alias");
        claim(alias, name);
        arch.aliases.push_back(name);
      }
    }
    if (auto config = map.Optional("config")) {
      if (!IsYamlNull(*config)) ParseSettings(*config, *spec.config, arch.settings);
    }
    if (auto params = map.Optional("params")) {
      arch.params = ParseLiteral(*params, FieldType::kInt, 0, "params").int_value;
      if (arch.params <= 0) Fail(*params, "params must be a positive parameter count");
    }
    map.Finish();
    spec.archs.push_back(std::move(arch));
  }
  if (spec.archs.empty()) Fail(node, "archs declares no architecture");
  CheckArchBases(spec, names);
}

void Parser::CheckArchBases(const FamilySpec& spec,
                            const std::map<std::string, SourceMark>& names) {
  std::map<std::string, const ArchSpec*> by_name;
  for (const ArchSpec& arch : spec.archs) by_name[arch.name] = &arch;
  for (const ArchSpec& arch : spec.archs) {
    if (arch.base.empty()) continue;
    if (by_name.count(arch.base) == 0) {
      bool alias = names.count(arch.base) > 0;
      throw SpecError(arch.base_mark,
                      absl::StrCat("arch '", arch.name, "' derives from '", arch.base,
                                   alias ? "', an alias: name the arch itself"
                                         : "', which is not an arch of this family"));
    }
    // Walk the chain of bases; meeting the start again is a cycle.
    std::vector<std::string> chain = {arch.name};
    for (const ArchSpec* at = by_name[arch.base]; at != nullptr;
         at = at->base.empty() ? nullptr : by_name[at->base]) {
      chain.push_back(at->name);
      if (at->name == arch.name) {
        throw SpecError(arch.base_mark, absl::StrCat("archs derive from each other in a cycle: ",
                                                     absl::StrJoin(chain, " -> ")));
      }
      if (chain.size() > spec.archs.size() + 1) break;  // a cycle not through `arch`
    }
  }
}

void Parser::ParseDecoder(const YAML::Node& node, FamilySpec& spec) {
  enum class Param { kInt, kFloat, kBool, kOptionalInt };
  DecoderSpec& decoder = spec.decoder;
  decoder.mark = MarkOf(node);

  // Reads one value: "$path" references a config field, anything else is a literal.
  auto value = [&](Map& map, const std::string& key, const std::string& path, Param param,
                   bool required) {
    std::optional<YAML::Node> node = required ? map.Required(key) : map.Optional(key);
    if (!node) return;
    DecoderValue result;
    result.mark = MarkOf(*node);
    result.is_float = param == Param::kFloat;
    const std::string what = absl::StrCat("decoder value '", path, "'");
    if (node->IsScalar() && node->Tag() != "!" && !node->Scalar().empty() &&
        node->Scalar()[0] == '$') {
      const std::string text = node->Scalar().substr(1);
      result.is_reference = true;
      const StructSpec* schema = spec.config.get();
      const FieldSpec* field = nullptr;
      std::string rest = text;
      while (true) {
        size_t dot = rest.find('.');
        std::string segment = rest.substr(0, dot);
        size_t bracket = segment.find('[');
        if (bracket != std::string::npos) {
          if (dot != std::string::npos || segment.back() != ']') {
            Fail(*node, absl::StrCat(what, ": '[index]' may only end a reference"));
          }
          std::string digits = segment.substr(bracket + 1, segment.size() - bracket - 2);
          if (digits.empty() || digits.size() > 3 ||
              !std::all_of(digits.begin(), digits.end(), IsDigit)) {
            Fail(*node, absl::StrCat(what, ": bad index '[", digits, "]'"));
          }
          result.index = std::stoul(digits);
          segment = segment.substr(0, bracket);
        }
        if (schema == nullptr) {
          Fail(*node, absl::StrCat(what, ": '$", text, "' goes through '", result.path.back(),
                                   "', which is not a struct"));
        }
        field = schema->FindField(segment);
        if (field == nullptr) {
          Fail(*node, absl::StrCat(what, ": '$", text, "' names no field of ", schema->cpp_name,
                                   FieldHint(segment, *schema)));
        }
        result.path.push_back(segment);
        schema = field->type == FieldType::kStruct ? field->nested.get() : nullptr;
        if (dot == std::string::npos) break;
        rest = rest.substr(dot + 1);
      }
      FieldType type = field->type;
      if (result.index) {
        if (type != FieldType::kFloatArray || *result.index >= field->array_size) {
          Fail(*node, absl::StrCat(what, ": '$", text, "' indexes past field '", field->name, "'"));
        }
        type = FieldType::kFloat;
      }
      result.referenced_type = type;
      bool fits = false;
      switch (param) {
        case Param::kInt:
          fits = type == FieldType::kInt;
          break;
        case Param::kFloat:
          fits = type == FieldType::kFloat || type == FieldType::kInt;
          break;
        case Param::kBool:
          fits = type == FieldType::kBool;
          break;
        case Param::kOptionalInt:
          fits = type == FieldType::kInt || type == FieldType::kOptionalInt;
          break;
      }
      if (!fits) {
        static const char* kExpected[] = {"an int", "a number", "a bool", "an int or int?"};
        Fail(*node, absl::StrCat(what, " needs ", kExpected[static_cast<int>(param)],
                                 " field, but '$", text, "' has another type"));
      }
    } else {
      static const FieldType kTypes[] = {FieldType::kInt, FieldType::kFloat, FieldType::kBool,
                                         FieldType::kOptionalInt};
      result.literal = ParseLiteral(*node, kTypes[static_cast<int>(param)], 0, what);
    }
    decoder.values[path] = std::move(result);
  };

  // The settings the blueprint lists, by section ("" for the top level).
  struct Setting {
    std::string key;  // within its section
    std::string path;
    Param param;
    bool required;
  };
  std::map<std::string, std::vector<Setting>> sections;
  auto add_setting = [&sections](const std::string& section, const std::string& key,
                                 const std::string& path, const DecoderSetting& setting,
                                 const auto& member) {
    using Member = std::decay_t<decltype(member)>;
    const Param param = std::is_same_v<Member, bool>      ? Param::kBool
                        : std::is_same_v<Member, double>  ? Param::kFloat
                        : std::is_same_v<Member, int64_t> ? Param::kInt
                                                          : Param::kOptionalInt;
    sections[section].push_back({key, path, param, setting.required});
  };
  const DecoderBlueprint blueprint;
  const Llama3RopeScaling kDefaultScaling;
  VisitDecoderSettings(
      [&](const DecoderSetting& setting, const auto& member) {
        const std::string path = setting.key;
        const size_t dot = path.rfind('.');
        if (dot == std::string::npos) return add_setting("", path, path, setting, member);
        add_setting(path.substr(0, dot), path.substr(dot + 1), path, setting, member);
      },
      blueprint);
  VisitLlama3ScalingSettings(
      [&](const DecoderSetting& setting, const auto& member) {
        add_setting("rope.scaling", setting.key, absl::StrCat("rope.scaling.", setting.key),
                    setting, member);
      },
      kDefaultScaling);
  // Reads the settings of `section` from `map`; each section is read once.
  auto read_settings = [&](Map& map, const std::string& section) {
    for (const Setting& setting : sections.at(section)) {
      value(map, setting.key, setting.path, setting.param, setting.required);
    }
    sections.erase(section);
  };

  Map top(*this, node, "decoder");
  read_settings(top, "");

  Map norm(*this, top.Required("norm"), "decoder norm");
  decoder.norm_kind = Enum(norm.Required("kind"), "norm kind", {"rms"});
  read_settings(norm, "norm");
  norm.Finish();

  Map attention(*this, top.Required("attention"), "decoder attention");
  decoder.attention_kind = Enum(attention.Required("kind"), "attention kind", {"gqa"});
  read_settings(attention, "attention");
  attention.Finish();

  Map rope(*this, top.Required("rope"), "decoder rope");
  read_settings(rope, "rope");
  decoder.rope_layout = "rotate_half";
  if (auto layout = rope.Optional("layout")) {
    decoder.rope_layout = Enum(*layout, "rope layout", {"rotate_half", "interleaved"});
  }
  decoder.rope_scaling_kind = "none";
  if (auto scaling_node = rope.Optional("scaling")) {
    Map scaling(*this, *scaling_node, "decoder rope scaling");
    decoder.rope_scaling_kind =
        Enum(scaling.Required("kind"), "rope scaling kind", {"none", "llama3"});
    if (decoder.rope_scaling_kind == "llama3") {
      value(scaling, "enabled", "rope.scaling.enabled", Param::kBool, false);
      read_settings(scaling, "rope.scaling");
    }
    scaling.Finish();
  }
  sections.erase("rope.scaling");
  rope.Finish();

  Map ffn(*this, top.Required("ffn"), "decoder ffn");
  decoder.ffn_kind = Enum(ffn.Required("kind"), "ffn kind", {"swiglu"});
  read_settings(ffn, "ffn");
  ffn.Finish();
  top.Finish();
  if (!sections.empty()) {  // a new section in the blueprint's list needs its map here
    throw std::logic_error(
        absl::StrCat("decoder settings section '", sections.begin()->first, "' is not read"));
  }
}

// The rope projection a target needs when its format's RoPE layout differs from
// the model's: by the module it names (q_proj/q_norm: query, k_proj/k_norm: key).
std::string RopeProjectionOf(const ParsedKeyPattern& target) {
  if (target.segments.size() < 2) return "";
  const KeySegment& module = target.segments[target.segments.size() - 2];
  if (module.capture) return "?";
  if (module.text == "q_proj" || module.text == "q_norm") return "query";
  if (module.text == "k_proj" || module.text == "k_norm") return "key";
  return "";
}

// The pattern with its capture names blanked: two patterns with the same shape
// match (or produce) the same names.
std::string ShapeOf(const ParsedKeyPattern& pattern) {
  std::string shape;
  for (const KeySegment& segment : pattern.segments) {
    shape += segment.capture ? std::string("{}.") : segment.text + ".";
  }
  return shape;
}

std::string Parser::Where(const SourceMark& mark) const {
  return mark.file == file_ ? absl::StrCat("line ", mark.line)
                            : absl::StrCat(mark.file, ":", mark.line);
}

void Parser::CollectCheckpointSections(const YAML::Node& node, std::vector<std::string>& chain,
                                       std::vector<CheckpointSection>& sections) {
  if (!node.IsMap()) {
    Fail(node, absl::StrCat("checkpoints must be a map, not ", DescribeYaml(node)));
  }
  const YAML::Node imports = node["import"];
  std::vector<YAML::Node> paths;
  if (!imports.IsDefined()) {  // checked first: a missing key is an invalid node
  } else if (imports.IsSequence()) {
    for (const YAML::Node& path : imports) paths.push_back(path);
    if (paths.empty()) Fail(imports, "import lists no spec file");
  } else {
    paths.push_back(imports);
  }
  for (const YAML::Node& path_node : paths) {
    const std::string path = String(path_node, "an imported spec file");
    const std::string resolved =
        (fs::path(file_).parent_path() / path).lexically_normal().generic_string();
    if (std::find(chain.begin(), chain.end(), resolved) != chain.end()) {
      std::vector<std::string> cycle(std::find(chain.begin(), chain.end(), resolved), chain.end());
      cycle.push_back(resolved);
      Fail(path_node, absl::StrCat("import cycle: ", absl::StrJoin(cycle, " -> ")));
    }
    std::optional<std::string> text = read_ ? read_(resolved) : std::nullopt;
    if (!text) {
      Fail(path_node, absl::StrCat("cannot import '", path, "': ", resolved,
                                   " is not a spec file given to the spec compiler (list it in "
                                   "modelhub_family's imports)"));
    }
    // The imported file's own positions, until its section is read.
    const std::string importer = std::exchange(file_, resolved);
    const YAML::Node root = LoadSpecDocument(*text);
    const YAML::Node section = root.IsMap() ? root["checkpoints"] : YAML::Node();
    if (!section.IsDefined()) {
      file_ = importer;
      Fail(path_node,
           absl::StrCat("cannot import '", path, "': ", resolved, " has no checkpoints section"));
    }
    chain.push_back(resolved);
    CollectCheckpointSections(section, chain, sections);
    chain.pop_back();
    file_ = importer;
  }
  sections.push_back({node, file_});
}

void Parser::ParseCheckpoints(const YAML::Node& node, FamilySpec& spec) {
  std::vector<std::string> chain = {fs::path(file_).lexically_normal().generic_string()};
  std::vector<CheckpointSection> sections;
  CollectCheckpointSections(node, chain, sections);
  const std::string own_file = file_;
  std::map<std::string, KeyFormatState> states;
  for (const CheckpointSection& section : sections) {
    file_ = section.file;
    Map formats(*this, section.node, "checkpoints", "format");
    for (const auto& [key, value] : formats.entries()) {
      if (key.Scalar() == "import") continue;
      const std::string name = key.Scalar();
      if (!IsIdentifier(name)) {
        Fail(key, absl::StrCat("checkpoint format name '", name, "' is not an identifier"));
      }
      const std::string what = absl::StrCat("checkpoint format '", name, "'");
      Map map(*this, value, what);
      const YAML::Node layout_node = map.Required("rope_layout");
      const std::string layout = Enum(layout_node, "rope layout", {"rotate_half", "interleaved"});
      auto [state, added] = states.emplace(name, KeyFormatState{});
      if (added) {
        state->second.index = spec.checkpoint_formats.size();
        state->second.layout_mark = MarkOf(layout_node);
        KeyFormatSpec format;
        format.name = name;
        format.mark = MarkOf(key);
        format.rope_layout = layout;
        spec.checkpoint_formats.push_back(std::move(format));
      }
      KeyFormatSpec& format = spec.checkpoint_formats[state->second.index];
      if (layout != format.rope_layout) {
        Fail(layout_node,
             absl::StrCat(what, " has rope_layout '", layout, "' here but '", format.rope_layout,
                          "' at ", Where(state->second.layout_mark)));
      }
      const YAML::Node keys_node = map.Required("keys");
      ParseKeyRules(keys_node, what, format.rope_layout != spec.decoder.rope_layout, state->second,
                    format);
      map.Finish();
    }
  }
  file_ = own_file;
}

void Parser::ParseKeyRules(const YAML::Node& keys_node, const std::string& what, bool converts,
                           KeyFormatState& state, KeyFormatSpec& format) {
  Map keys(*this, keys_node, absl::StrCat("keys of ", what), "key pattern");
  if (keys.entries().empty()) Fail(keys_node, absl::StrCat(what, " has no keys"));
  // A position `offset` characters into a pattern scalar (past its quote).
  auto mark_at = [this](const YAML::Node& at, size_t offset) {
    SourceMark mark = MarkOf(at);
    mark.column += static_cast<int>(offset) + (at.Tag() == "!" ? 1 : 0);
    return mark;
  };
  auto check_pattern = [&](const YAML::Node& at, const std::string& text) {
    ParsedKeyPattern parsed = ParseKeyPattern(text);
    if (!parsed.error.empty()) {
      throw SpecError(mark_at(at, parsed.error_offset),
                      absl::StrCat("bad key pattern '", text, "': ", parsed.error));
    }
    return parsed;
  };
  for (const auto& [from_node, to_node] : keys.entries()) {
    KeyRuleSpec rule;
    rule.from = from_node.Scalar();
    rule.mark = MarkOf(from_node);
    ParsedKeyPattern source = check_pattern(from_node, rule.from);
    auto [previous, inserted] = state.sources.emplace(ShapeOf(source), rule.mark);
    if (!inserted) {
      Fail(from_node, absl::StrCat("key pattern '", rule.from, "' matches the same keys as ",
                                   "the one at ", Where(previous->second)));
    }
    YAML::Node target = to_node;
    if (to_node.IsMap()) {
      Map rule_map(*this, to_node, absl::StrCat("rule '", rule.from, "'"));
      target = rule_map.Required("to");
      if (auto rope = rule_map.Optional("rope")) {
        rule.rope = Enum(*rope, "rope projection", {"query", "key"});
      }
      rule_map.Finish();
    }
    if (IsYamlNull(target)) {
      if (!rule.rope.empty()) Fail(to_node, "a dropped tensor cannot have a rope projection");
      rule.dropped = true;
      format.rules.push_back(std::move(rule));
      continue;
    }
    rule.to = String(target, "key map target");
    rule.to_mark = MarkOf(target);
    ParsedKeyPattern parsed = check_pattern(target, rule.to);
    KeyTemplateError error = CheckKeyTemplate(source, parsed);
    if (!error.message.empty()) {
      throw SpecError(mark_at(error.in_source ? from_node : target, error.offset),
                      absl::StrCat("bad key map rule '", rule.from, "': ", error.message));
    }
    auto [earlier, unique] = state.targets.emplace(ShapeOf(parsed), MarkOf(target));
    if (!unique) {
      Fail(target, absl::StrCat("'", rule.to, "' is already the target of the rule at ",
                                Where(earlier->second)));
    }
    const std::string needed = RopeProjectionOf(parsed);
    if (converts && needed == "?") {
      Fail(target, absl::StrCat("'", rule.to, "' captures the module name, so whether it ",
                                "feeds RoPE is unknown; ", what, " converts RoPE layouts: ",
                                "name q_proj/k_proj/q_norm/k_norm literally"));
    }
    const std::string expected = converts && needed != "?" ? needed : "";
    if (rule.rope != expected) {
      Fail(target, expected.empty()
                       ? absl::StrCat("'", rule.to, "' needs no rope projection: ",
                                      converts ? "it does not feed RoPE" : "the RoPE layouts agree")
                       : absl::StrCat("'", rule.to, "' feeds RoPE in another layout: add 'rope: ",
                                      expected, "'"));
    }
    format.rules.push_back(std::move(rule));
  }
}

// Whether key-map target `target` can name the parameter `parameter`: a
// capture of the target matches any segment; the parameter's layer index
// matches a capture or a number.
bool CanName(const ParsedKeyPattern& target, const ParsedKeyPattern& parameter) {
  if (target.segments.size() != parameter.segments.size()) return false;
  for (size_t i = 0; i < target.segments.size(); ++i) {
    const KeySegment& t = target.segments[i];
    const KeySegment& p = parameter.segments[i];
    if (t.capture) continue;
    if (p.capture ? !std::all_of(t.text.begin(), t.text.end(), IsDigit) : t.text != p.text) {
      return false;
    }
  }
  return true;
}

std::vector<Parser::ModelParameter> Parser::ListParameters(const DecoderSpec& decoder) {
  std::vector<ModelParameter> parameters;
  for (const DecoderParameter& parameter : DecoderParameterList()) {
    ModelParameter listed;
    listed.name = parameter.name;
    listed.pattern = ParseKeyPattern(parameter.name);
    listed.shape = ShapeOf(listed.pattern);
    std::string setting = parameter.created_by;
    if (!setting.empty()) {
      const bool negated = setting.front() == '!';
      if (negated) setting.erase(0, 1);
      listed.exists_when = absl::StrCat(setting, negated ? " is false" : " is true");
      auto it = decoder.values.find(setting);
      if (it == decoder.values.end()) {
        if (!HasParameter(DecoderBlueprint{}, parameter)) {
          listed.ruled_out_by =
              absl::StrCat("the decoder section leaves ", setting, " ", negated ? "true" : "false");
        }
      } else if (!it->second.is_reference && it->second.literal.bool_value == negated) {
        listed.ruled_out_by =
            absl::StrCat("the decoder section sets ", setting, " to ", negated ? "true" : "false",
                         " at line ", it->second.mark.line);
      }
    }
    parameters.push_back(std::move(listed));
  }
  return parameters;
}

void Parser::CheckKeyMapsNameParameters(const FamilySpec& spec) const {
  const std::vector<ModelParameter> parameters = ListParameters(spec.decoder);
  for (const KeyFormatSpec& format : spec.checkpoint_formats) {
    std::vector<bool> has_source(parameters.size(), false);
    for (const KeyRuleSpec& rule : format.rules) {
      if (rule.dropped) continue;
      const ParsedKeyPattern target = ParseKeyPattern(rule.to);
      const ModelParameter* ruled_out = nullptr;
      bool names_one = false;
      for (size_t i = 0; i < parameters.size(); ++i) {
        if (!CanName(target, parameters[i].pattern)) continue;
        if (!parameters[i].ruled_out_by.empty()) {
          ruled_out = &parameters[i];
          continue;
        }
        names_one = has_source[i] = true;
      }
      if (names_one) continue;
      if (ruled_out != nullptr) {
        throw SpecError(
            rule.to_mark,
            absl::StrCat("key map target '", rule.to, "' ",
                         rule.to == ruled_out->name ? std::string("is a parameter")
                                                    : absl::StrCat("names '", ruled_out->name, "'"),
                         " this model never has: it exists when ", ruled_out->exists_when, ", and ",
                         ruled_out->ruled_out_by));
      }
      std::vector<std::string> shapes;
      for (const ModelParameter& parameter : parameters) shapes.push_back(parameter.shape);
      std::vector<std::string> close;
      for (const std::string& shape : ClosestNames(ShapeOf(target), shapes)) {
        for (const ModelParameter& parameter : parameters) {
          if (parameter.shape == shape) close.push_back(parameter.name);
        }
      }
      throw SpecError(rule.to_mark,
                      absl::StrCat("key map target '", rule.to, "' is no parameter of the model",
                                   close.empty() ? ""
                                                 : absl::StrCat(" (did you mean ",
                                                                absl::StrJoin(close, ", "), "?)")));
    }
    for (size_t i = 0; i < parameters.size(); ++i) {
      if (has_source[i] || !parameters[i].ruled_out_by.empty()) continue;
      throw SpecError(
          format.mark,
          absl::StrCat("checkpoint format '", format.name, "' gives no source for parameter '",
                       parameters[i].name, "'",
                       parameters[i].exists_when.empty()
                           ? ""
                           : absl::StrCat(" (which exists when ", parameters[i].exists_when, ")")));
    }
  }
}

// A config.json key path: identifiers joined by dots.
std::string Parser::JsonKey(const YAML::Node& node) const {
  const std::string key = String(node, "config.json key");
  for (absl::string_view part : absl::StrSplit(key, '.')) {
    if (!IsIdentifier(std::string(part))) {
      Fail(node, absl::StrCat("config.json key '", key, "' must be identifiers joined by dots"));
    }
  }
  return key;
}

HfConfigRuleSpec Parser::ParseHfRule(const std::vector<std::string>& path, const FieldSpec& field,
                                     const YAML::Node& value) {
  const std::string what = absl::StrCat("'", absl::StrJoin(path, "."), "'");
  HfConfigRuleSpec rule;
  rule.field = path;
  rule.type = field.type;
  rule.mark = MarkOf(value);
  if (value.IsSequence()) {
    if (field.type != FieldType::kFloatArray || value.size() != field.array_size) {
      Fail(value, absl::StrCat("a list of config.json keys fits only a float[", value.size(),
                               "] field; ", what, " is not one"));
    }
    rule.kind = HfConfigRuleSpec::Kind::kKeyList;
    for (const YAML::Node& element : value) rule.keys.push_back(JsonKey(element));
  } else if (value.IsMap()) {
    Map rule_map(*this, value, absl::StrCat("hugging_face rule of ", what));
    if (auto literal = rule_map.Optional("value")) {
      rule.kind = HfConfigRuleSpec::Kind::kLiteral;
      rule.literal = ParseLiteral(*literal, field.type, field.array_size, what);
    } else if (auto present = rule_map.Optional("present")) {
      if (field.type != FieldType::kBool) {
        Fail(*present, absl::StrCat("'present' sets a bool; ", what, " is not one"));
      }
      rule.kind = HfConfigRuleSpec::Kind::kPresent;
      rule.keys.push_back(JsonKey(*present));
    } else {
      Fail(value, absl::StrCat("hugging_face rule of ", what, " needs 'value' or 'present'"));
    }
    rule_map.Finish();
  } else {
    if (field.type == FieldType::kFloatArray) {
      Fail(value, absl::StrCat(what, " is a float array: give one config.json key per element"));
    }
    rule.keys.push_back(JsonKey(value));
  }
  return rule;
}

void Parser::ParseHfArchitectures(const YAML::Node& node, HuggingFaceSpec& hf) {
  Map classes(*this, node, "hugging_face architectures", "model type");
  for (const auto& [type, name] : classes.entries()) {
    // A named copy: C++17 lambdas cannot capture structured bindings (clang).
    const std::string model_type = type.Scalar();
    auto entry = std::find_if(hf.model_types.begin(), hf.model_types.end(),
                              [&](const HfModelTypeSpec& t) { return t.model_type == model_type; });
    if (entry == hf.model_types.end()) {
      Fail(type, absl::StrCat("architectures names model_type '", type.Scalar(),
                              "', which model_types does not list"));
    }
    entry->architecture = String(name, "architecture");
    if (!IsIdentifier(entry->architecture)) {
      Fail(name, absl::StrCat("the architecture of model_type '", type.Scalar(), "' must be a ",
                              "class name like LlamaForCausalLM, not '", entry->architecture, "'"));
    }
  }
  for (const HfModelTypeSpec& type : hf.model_types) {
    if (type.architecture.empty()) {
      throw SpecError(type.mark, absl::StrCat("model_type '", type.model_type,
                                              "' has no class in hugging_face architectures"));
    }
  }
}

void Parser::ParseHuggingFace(const YAML::Node& node, FamilySpec& spec) {
  HuggingFaceSpec hf;
  hf.mark = MarkOf(node);
  Map map(*this, node, "hugging_face");
  Map types(*this, map.Required("model_types"), "hugging_face model_types", "model type");
  for (const auto& [type, arch] : types.entries()) {
    const std::string name = String(arch, "arch");
    bool known = false;
    for (const ArchSpec& spec_arch : spec.archs) {
      known = known || spec_arch.name == name ||
              std::find(spec_arch.aliases.begin(), spec_arch.aliases.end(), name) !=
                  spec_arch.aliases.end();
    }
    if (!known)
      Fail(arch, absl::StrCat("unknown arch '", name, "' for model_type '", type.Scalar(), "'"));
    hf.model_types.push_back({type.Scalar(), name, "", MarkOf(type)});
  }
  if (hf.model_types.empty()) Fail(node, "hugging_face needs at least one model type");
  ParseHfArchitectures(map.Required("architectures"), hf);
  ForEachField(
      map.Required("config"), *spec.config, {}, "hugging_face config",
      [&](const std::vector<std::string>& path, const FieldSpec& field, const YAML::Node& value) {
        hf.rules.push_back(ParseHfRule(path, field, value));
      });
  if (auto requires_node = map.Optional("requires")) {
    Map requirements(*this, *requires_node, "hugging_face requires");
    for (const auto& [key, value] : requirements.entries()) {
      if (!IsYamlNull(value) && !value.IsScalar()) {
        Fail(value, absl::StrCat("the required value of '", key.Scalar(),
                                 "' must be a number, a bool, a string or null"));
      }
      hf.requirements.push_back(
          {JsonKey(key), IsYamlNull(value) ? "null" : value.Scalar(), MarkOf(key)});
    }
  }
  map.Finish();
  spec.hugging_face = std::move(hf);
}

YAML::Node Parser::LoadSpecDocument(const std::string& text) const {
  std::vector<YAML::Node> documents;
  try {
    documents = LoadYamlDocuments(text);
  } catch (const YAML::ParserException& e) {
    throw SpecError(SourceMark{file_, e.mark.line + 1, e.mark.column + 1},
                    absl::StrCat("invalid YAML: ", e.msg));
  }
  if (documents.size() > 1) {
    throw SpecError(MarkOf(documents[1]),
                    "a spec is one YAML document; this file holds a second one here");
  }
  return documents.empty() ? YAML::Node() : documents[0];
}

FamilySpec Parser::Parse(const std::string& text) {
  const YAML::Node root = LoadSpecDocument(text);
  if (!root.IsMap()) throw SpecError(SourceMark{file_, 1, 1}, "a spec must be a YAML map");
  FamilySpec spec;
  spec.file = file_;
  Map map(*this, root, "the spec");
  const YAML::Node family = map.Required("family");
  spec.family = String(family, "family");
  spec.family_mark = MarkOf(family);
  family_ = spec.family;
  if (!IsIdentifier(spec.family) || std::any_of(spec.family.begin(), spec.family.end(), [](char c) {
        return std::isupper(static_cast<unsigned char>(c));
      })) {
    Fail(family, absl::StrCat("family name '", spec.family, "' must be a lower-case identifier"));
  }
  spec.doc = Doc(map.Required("doc"));
  {
    Map config(*this, map.Required("config"), "config");
    spec.config = ParseStruct(config.Required("name"), config.Required("doc"),
                              config.Required("fields"), "config");
    config.Finish();
  }
  ParseArchs(map.Required("archs"), spec);
  ParseDecoder(map.Required("decoder"), spec);
  if (auto checkpoints = map.Optional("checkpoints")) ParseCheckpoints(*checkpoints, spec);
  if (auto hugging_face = map.Optional("hugging_face")) ParseHuggingFace(*hugging_face, spec);
  map.Finish();
  CheckKeyMapsNameParameters(spec);  // last: every error of the sections comes first
  return spec;
}

}  // namespace

const FieldSpec* StructSpec::FindField(const std::string& name) const {
  for (const FieldSpec& field : fields) {
    if (field.name == name) return &field;
  }
  return nullptr;
}

FamilySpec ParseSpec(const std::string& text, const std::string& file, const SpecFileReader& read) {
  return Parser(file, read).Parse(text);
}

}  // namespace modelhub::codegen
