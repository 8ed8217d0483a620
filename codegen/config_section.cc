// The `config:` section: the config struct's schema, and config values (arch
// settings, defaults) checked against it.

#include "codegen/spec_sections.h"

namespace modelhub::codegen::sections {
namespace {

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

}  // namespace

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
  if (type == "float[]") {  // any length
    *array_size = 0;
    return FieldType::kFloatArray;
  }
  if (type.rfind("float[", 0) == 0 && type.back() == ']') {
    std::string digits = type.substr(6, type.size() - 7);
    if (!digits.empty() && digits.size() < 4 &&
        std::all_of(digits.begin(), digits.end(), IsDigit) && std::stoi(digits) > 0) {
      *array_size = std::stoul(digits);
      return FieldType::kFloatArray;
    }
  }
  Fail(node, absl::StrCat(
                 "unknown type '", type,
                 "' (known: int, float, bool, string, int?, float?, float[N], float[], struct)"));
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
      // array_size 0: a list of any length.
      std::string expected = array_size == 0 ? "a list of numbers"
                                             : absl::StrCat("a list of ", array_size, " numbers");
      if (!node.IsSequence() || (array_size > 0 && node.size() != array_size)) fail(expected);
      literal.kind = Literal::Kind::kFloatList;
      for (size_t i = 0; i < node.size(); ++i) {
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
        setting.array_size = field.array_size;
        setting.mark = MarkOf(value);
        const std::string what = absl::StrCat("'", absl::StrJoin(path, "."), "'");
        setting.value = ParseLiteral(value, field.type, field.array_size, what);
        CheckChoice(field, setting.value, value, what);
        out.push_back(std::move(setting));
      });
}

}  // namespace modelhub::codegen::sections
