#include "tools/cli/arch_commands.h"

#include <memory>
#include <vector>

#include "runtime/config/yaml_fields.h"
#include "runtime/core/closest_names.h"
#include "runtime/core/errors.h"
#include "runtime/hub/model_family_registry.h"
#include "tools/cli/usage_error.h"

namespace modelhub::cli {

const ModelFamily& FamilyNamed(const std::string& name) {
  try {
    return GetModelFamily(name);
  } catch (const ModelFamilyNotKnownError& e) {
    throw UsageError(e.what());
  }
}

void ListArchs(const std::string& family, bool with_params, std::ostream& out) {
  std::vector<const ModelFamily*> families;
  if (family.empty()) {
    families = ListModelFamilies();
  } else {
    families.push_back(&FamilyNamed(family));
  }
  for (const ModelFamily* f : families) {
    for (const std::string& arch : f->arch_names()) {
      out << f->name() << " " << arch;
      if (with_params) {
        ModelPlacement meta;
        meta.meta = true;
        out << " " << f->CreateNewModel(*f->GetArchConfig(arch), meta)->num_parameters();
      }
      out << "\n";
    }
  }
}

void PrintArchConfig(const std::string& arch, const std::string& family, std::ostream& out) {
  const ModelFamily* owner = nullptr;
  if (!family.empty()) {
    owner = &FamilyNamed(family);
  } else {
    std::vector<std::string> owners;
    std::vector<std::string> all_archs;
    for (const ModelFamily* f : ListModelFamilies()) {
      if (f->ResolveArch(arch)) {
        owner = f;
        owners.push_back(f->name());
      }
      for (const std::string& name : f->arch_names()) all_archs.push_back(name);
    }
    if (owners.size() > 1) {
      std::string names;
      for (const std::string& name : owners) names += (names.empty() ? "" : ", ") + name;
      throw UsageError("arch '" + arch + "' exists in several families (" + names +
                       "): choose one with --family");
    }
    if (owner == nullptr) {
      std::vector<std::string> close = ClosestNames(arch, all_archs);
      std::string hint;
      for (const std::string& name : close) hint += (hint.empty() ? "" : ", ") + name;
      throw UsageError("'" + arch + "' is not a known architecture" +
                       (hint.empty() ? std::string(" (see 'modelhub archs')")
                                     : " (did you mean " + hint + "?)"));
    }
  }
  std::unique_ptr<AnyConfig> config = owner->GetArchConfig(arch);
  out << "# " << owner->name() << " " << *owner->ResolveArch(arch) << " (" << config->type_name()
      << ")\n"
      << EmitYaml(config->ToYaml());
}

}  // namespace modelhub::cli
