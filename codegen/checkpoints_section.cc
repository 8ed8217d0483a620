// The `checkpoints:` section: key maps, imports from other specs, and the check
// that key maps and the decoder's parameters agree.

#include "codegen/spec_sections.h"

namespace modelhub::codegen::sections {
namespace {

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

}  // namespace

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
    std::vector<YAML::Node> targets = {to_node};
    if (to_node.IsMap()) {
      Map rule_map(*this, to_node, absl::StrCat("rule '", rule.from, "'"));
      if (auto into = rule_map.Optional("into")) {
        // A fused tensor: its parameters concatenated along split_dim.
        const YAML::Node dim = rule_map.Required("split_dim");
        int split_dim = -1;
        if (!dim.IsScalar() || !YAML::convert<int>::decode(dim, split_dim) || split_dim < 0) {
          Fail(dim,
               absl::StrCat("split_dim must be a dimension (0, 1, ...), not ", DescribeYaml(dim)));
        }
        if (!into->IsSequence() || into->size() < 2) {
          Fail(*into, absl::StrCat("into must list the parameters the tensor holds (two or more), ",
                                   "not ", DescribeYaml(*into)));
        }
        rule.split_dim = split_dim;
        targets.clear();
        for (const YAML::Node& part : *into) targets.push_back(part);
      } else {
        targets = {rule_map.Required("to")};
      }
      if (auto rope = rule_map.Optional("rope")) {
        if (rule.split_dim >= 0) {
          Fail(*rope,
               "a fused tensor cannot have a rope projection: its parts are in the "
               "model's RoPE layout");
        }
        rule.rope = Enum(*rope, "rope projection", {"query", "key"});
      }
      rule_map.Finish();
    }
    if (IsYamlNull(targets.front())) {
      if (!rule.rope.empty()) Fail(to_node, "a dropped tensor cannot have a rope projection");
      rule.dropped = true;
      format.rules.push_back(std::move(rule));
      continue;
    }
    for (const YAML::Node& target : targets) {
      KeyRuleSpec part = rule;
      part.to = String(target, rule.split_dim >= 0 ? "a part of a fused tensor" : "key map target");
      part.to_mark = MarkOf(target);
      ParsedKeyPattern parsed = check_pattern(target, part.to);
      KeyTemplateError error = CheckKeyTemplate(source, parsed);
      if (!error.message.empty()) {
        throw SpecError(mark_at(error.in_source ? from_node : target, error.offset),
                        absl::StrCat("bad key map rule '", rule.from, "': ", error.message));
      }
      auto [earlier, unique] = state.targets.emplace(ShapeOf(parsed), MarkOf(target));
      if (!unique) {
        Fail(target, absl::StrCat("'", part.to, "' is already the target of the rule at ",
                                  Where(earlier->second)));
      }
      const std::string needed = RopeProjectionOf(parsed);
      if (converts && needed == "?") {
        Fail(target, absl::StrCat("'", part.to, "' captures the module name, so whether it ",
                                  "feeds RoPE is unknown; ", what, " converts RoPE layouts: ",
                                  "name q_proj/k_proj/q_norm/k_norm literally"));
      }
      const std::string expected = converts && needed != "?" ? needed : "";
      if (rule.split_dim >= 0 && !expected.empty()) {
        Fail(target, absl::StrCat("'", part.to, "' feeds RoPE in another layout, which a part of ",
                                  "a fused tensor cannot convert: ", what,
                                  " must have the model's rope_layout"));
      }
      if (part.rope != expected) {
        Fail(target,
             expected.empty()
                 ? absl::StrCat("'", part.to, "' needs no rope projection: ",
                                converts ? "it does not feed RoPE" : "the RoPE layouts agree")
                 : absl::StrCat("'", part.to, "' feeds RoPE in another layout: add ",
                                "'rope: ", expected, "'"));
      }
      format.rules.push_back(std::move(part));
    }
  }
}

std::vector<Parser::ModelParameter> Parser::ListParameters(const DecoderSpec& decoder) {
  std::vector<ModelParameter> parameters;
  for (const DecoderParameter& parameter : DecoderParameterList()) {
    ModelParameter listed;
    listed.name = parameter.name;
    listed.pattern = ParseKeyPattern(parameter.name);
    listed.shape = ShapeOf(listed.pattern);
    std::vector<std::string> exists_when;
    for (const ParameterCondition& condition : parameter.conditions) {
      const std::string setting = condition.setting;
      exists_when.push_back(absl::StrCat(setting, " is ", condition.value));
      if (!listed.ruled_out_by.empty()) continue;
      auto it = decoder.values.find(setting);
      if (it == decoder.values.end()) {
        const std::string value = SettingText(DecoderBlueprint{}, setting);
        if (value != condition.value) {
          listed.ruled_out_by = absl::StrCat("the decoder section leaves ", setting, " ", value);
        }
      } else if (const Literal& literal = it->second.literal; !it->second.is_reference) {
        const std::string value = literal.kind == Literal::Kind::kBool
                                      ? (literal.bool_value ? "true" : "false")
                                      : literal.string_value;
        if (value != condition.value) {
          listed.ruled_out_by = absl::StrCat("the decoder section sets ", setting, " to ", value,
                                             " at line ", it->second.mark.line);
        }
      }
    }
    listed.exists_when = absl::StrJoin(exists_when, " and ");
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

}  // namespace modelhub::codegen::sections
