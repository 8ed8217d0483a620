#include "runtime/hub/model_family_registry.h"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>

#include "runtime/core/errors.h"

namespace modelhub {
namespace {

struct Registry {
  std::mutex mutex;
  std::vector<std::unique_ptr<ModelFamily>> families;
};

Registry& GetRegistry() {
  static auto* registry = new Registry();  // never destroyed: used during static init
  return *registry;
}

}  // namespace

bool RegisterModelFamily(std::unique_ptr<ModelFamily> family) {
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  for (const auto& existing : registry.families) {
    if (existing->name() == family->name()) {
      std::cerr << "modelhub: model family '" << family->name() << "' is registered twice, by "
                << existing->spec_file() << " and " << family->spec_file() << "\n";
      std::abort();
    }
  }
  registry.families.push_back(std::move(family));
  return true;
}

const ModelFamily* MaybeGetModelFamily(std::string_view name) {
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  for (const auto& family : registry.families) {
    if (family->name() == name) return family.get();
  }
  return nullptr;
}

const ModelFamily& GetModelFamily(std::string_view name) {
  if (const ModelFamily* family = MaybeGetModelFamily(name)) return *family;
  std::vector<std::string> known;
  for (const ModelFamily* family : ListModelFamilies()) known.push_back(family->name());
  throw ModelFamilyNotKnownError(std::string(name), known);
}

std::vector<const ModelFamily*> ListModelFamilies() {
  Registry& registry = GetRegistry();
  std::lock_guard<std::mutex> lock(registry.mutex);
  std::vector<const ModelFamily*> families;
  for (const auto& family : registry.families) families.push_back(family.get());
  std::sort(families.begin(), families.end(),
            [](const ModelFamily* a, const ModelFamily* b) { return a->name() < b->name(); });
  return families;
}

}  // namespace modelhub
