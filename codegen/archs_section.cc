// The `archs:` section: presets, their bases and aliases.

#include "codegen/spec_sections.h"

namespace modelhub::codegen::sections {

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

}  // namespace modelhub::codegen::sections
