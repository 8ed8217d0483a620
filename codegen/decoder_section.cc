// The `decoder:` section: the blueprint's settings (as runtime/blueprint lists
// them) given as literals or `$field` references.

#include "codegen/spec_sections.h"

namespace modelhub::codegen::sections {

void Parser::ParseDecoder(const YAML::Node& node, FamilySpec& spec) {
  enum class Param { kInt, kFloat, kBool, kOptionalInt, kOptionalFloat, kString, kFloatList };
  DecoderSpec& decoder = spec.decoder;
  decoder.mark = MarkOf(node);

  // Reads one value: "$path" references a config field, anything else is a literal.
  // `choices`: a string setting's values, separated by spaces.
  auto value = [&](Map& map, const std::string& key, const std::string& path, Param param,
                   bool required, const char* choices) {
    std::optional<YAML::Node> node = required ? map.Required(key) : map.Optional(key);
    if (!node) return;
    DecoderValue result;
    result.mark = MarkOf(*node);
    result.is_float = param == Param::kFloat || param == Param::kOptionalFloat;
    const std::vector<std::string> allowed = SplitChoices(choices);
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
        case Param::kOptionalFloat:
          fits = type == FieldType::kFloat || type == FieldType::kInt ||
                 type == FieldType::kOptionalFloat;
          break;
        case Param::kString:
          fits = type == FieldType::kString;
          break;
        case Param::kFloatList:
          fits = type == FieldType::kFloatArray && !result.index && field->array_size == 0;
          break;
      }
      if (!fits) {
        static const char* kExpected[] = {"an int",         "a number",           "a bool",
                                          "an int or int?", "a number or float?", "a string",
                                          "a float[]"};
        Fail(*node, absl::StrCat(what, " needs ", kExpected[static_cast<int>(param)],
                                 " field, but '$", text, "' has another type"));
      }
      if (param == Param::kString) {  // every value the field may take must be a choice
        if (field->choices.empty()) {
          Fail(*node, absl::StrCat(what, " takes one of ", absl::StrJoin(allowed, ", "), ", but '$",
                                   text, "' may be any string: give the field these choices"));
        }
        for (const std::string& choice : field->choices) {
          if (std::find(allowed.begin(), allowed.end(), choice) == allowed.end()) {
            Fail(*node, absl::StrCat(what, " takes one of ", absl::StrJoin(allowed, ", "),
                                     ", but '$", text, "' may be '", choice, "'"));
          }
        }
      }
    } else if (param == Param::kString) {
      std::string what_enum = path;
      std::replace(what_enum.begin(), what_enum.end(), '.', ' ');
      result.literal.kind = Literal::Kind::kString;
      result.literal.string_value = Enum(*node, what_enum, allowed);
    } else {
      static const FieldType kTypes[] = {FieldType::kInt,           FieldType::kFloat,
                                         FieldType::kBool,          FieldType::kOptionalInt,
                                         FieldType::kOptionalFloat, FieldType::kString,
                                         FieldType::kFloatArray};
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
    const char* choices;
  };
  std::map<std::string, std::vector<Setting>> sections;
  auto add_setting = [&sections](const std::string& section, const std::string& key,
                                 const std::string& path, const DecoderSetting& setting,
                                 const auto& member) {
    using Member = std::decay_t<decltype(member)>;
    const Param param = std::is_same_v<Member, bool>                    ? Param::kBool
                        : std::is_same_v<Member, double>                ? Param::kFloat
                        : std::is_same_v<Member, int64_t>               ? Param::kInt
                        : std::is_same_v<Member, std::string>           ? Param::kString
                        : std::is_same_v<Member, std::optional<double>> ? Param::kOptionalFloat
                        : std::is_same_v<Member, std::vector<double>>   ? Param::kFloatList
                                                                        : Param::kOptionalInt;
    sections[section].push_back({key, path, param, setting.required, setting.choices});
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
  const LongRopeScaling kDefaultLongRope;
  VisitLongRopeScalingSettings(
      [&](const DecoderSetting& setting, const auto& member) {
        add_setting("rope.scaling.longrope", setting.key,
                    absl::StrCat("rope.scaling.", setting.key), setting, member);
      },
      kDefaultLongRope);
  // Reads the settings of `section` from `map`; each section is read once.
  auto read_settings = [&](Map& map, const std::string& section) {
    for (const Setting& setting : sections.at(section)) {
      value(map, setting.key, setting.path, setting.param, setting.required, setting.choices);
    }
    sections.erase(section);
  };

  Map top(*this, node, "decoder");
  read_settings(top, "");

  // Optional sections: their settings all have defaults.
  for (const char* section : {"embedding", "logits"}) {
    if (std::optional<YAML::Node> node = top.Optional(section)) {
      Map map(*this, *node, absl::StrCat("decoder ", section));
      read_settings(map, section);
      map.Finish();
    } else {
      sections.erase(section);
    }
  }

  Map norm(*this, top.Required("norm"), "decoder norm");
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
        Enum(scaling.Required("kind"), "rope scaling kind", {"none", "llama3", "longrope"});
    if (decoder.rope_scaling_kind != "none") {
      value(scaling, "enabled", "rope.scaling.enabled", Param::kBool, false, nullptr);
      read_settings(scaling, decoder.rope_scaling_kind == "llama3" ? "rope.scaling"
                                                                   : "rope.scaling.longrope");
    }
    scaling.Finish();
  }
  sections.erase("rope.scaling");
  sections.erase("rope.scaling.longrope");
  rope.Finish();

  Map ffn(*this, top.Required("ffn"), "decoder ffn");
  read_settings(ffn, "ffn");
  ffn.Finish();
  top.Finish();
  if (!sections.empty()) {  // a new section in the blueprint's list needs its map here
    throw std::logic_error(
        absl::StrCat("decoder settings section '", sections.begin()->first, "' is not read"));
  }
}

}  // namespace modelhub::codegen::sections
