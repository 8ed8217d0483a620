// The `hugging_face:` section: how a config.json reads into the config.

#include "codegen/spec_sections.h"

namespace modelhub::codegen::sections {

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
    if (field.type == FieldType::kFloatArray && field.array_size > 0) {
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

}  // namespace modelhub::codegen::sections
