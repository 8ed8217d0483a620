#include "runtime/hub/model_family.h"

#include <c10/core/DefaultDtype.h>
#include <c10/core/ScalarTypeToTypeMeta.h>

#include <utility>

#include "runtime/core/closest_names.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

// Builds a model from a validated blueprint with the placement's defaults applied.
std::shared_ptr<DecoderModel> CreateDecoderModel(const DecoderBlueprint& blueprint,
                                                 const ModelPlacement& placement) {
  ModuleOptions options;
  options.device =
      placement.meta ? c10::Device(c10::kMeta) : placement.device.value_or(c10::Device(c10::kCPU));
  options.dtype = placement.dtype.value_or(c10::typeMetaToScalarType(c10::get_default_dtype()));
  options.initialize = placement.initialize;
  return std::make_shared<DecoderModel>(blueprint, options, placement.gangs.tp);
}

}  // namespace

ModelFamily::ModelFamily(std::string name, std::string spec_file, std::vector<KeyMap> key_maps,
                         HfConfigTable hf_config)
    : name_(std::move(name)),
      spec_file_(std::move(spec_file)),
      key_maps_(std::move(key_maps)),
      hf_config_(std::move(hf_config)) {}

ModelFamily::~ModelFamily() = default;

std::unique_ptr<AnyConfig> ModelFamily::GetArchConfig(std::string_view arch) const {
  std::unique_ptr<AnyConfig> config = MaybeGetArchConfig(arch);
  if (!config) ThrowArchNotKnown(arch);
  return config;
}

void ModelFamily::ThrowArchNotKnown(std::string_view arch) const {
  std::vector<std::string> known = arch_names();
  std::vector<std::string> close = ClosestNames(arch, known);
  throw ModelArchitectureNotKnownError(std::string(arch), name_, close.empty() ? known : close);
}

const KeyMap* ModelFamily::FindKeyMap(std::string_view format) const {
  for (const KeyMap& map : key_maps_) {
    if (map.format() == format) return &map;
  }
  return nullptr;
}

std::shared_ptr<DecoderModel> ModelFamily::CreateNewModel(const AnyConfig& config,
                                                          const ModelPlacement& placement) const {
  config.Validate();
  return CreateDecoderModel(config.ToBlueprint(), placement);
}

}  // namespace modelhub
