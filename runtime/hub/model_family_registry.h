#ifndef MODELHUB_RUNTIME_HUB_MODEL_FAMILY_REGISTRY_H_
#define MODELHUB_RUNTIME_HUB_MODEL_FAMILY_REGISTRY_H_

#include <memory>
#include <string_view>
#include <vector>

#include "runtime/hub/model_family.h"

namespace modelhub {

// Adds a family to the process-wide registry; called by each family's generated
// code during static initialization. Registering a name twice is a build
// mistake: it prints both spec files and aborts. Returns true.
bool RegisterModelFamily(std::unique_ptr<ModelFamily> family);

// The family named `name`; ModelFamilyNotKnownError (with the known names) if
// no linked library registered it.
const ModelFamily& GetModelFamily(std::string_view name);
const ModelFamily* MaybeGetModelFamily(std::string_view name);

// Every registered family, sorted by name.
std::vector<const ModelFamily*> ListModelFamilies();

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_MODEL_FAMILY_REGISTRY_H_
