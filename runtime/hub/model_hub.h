#ifndef MODELHUB_RUNTIME_HUB_MODEL_HUB_H_
#define MODELHUB_RUNTIME_HUB_MODEL_HUB_H_

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>

#include <memory>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <type_traits>

#include "runtime/hub/typed_model_family.h"
#include "runtime/models/decoder_model.h"

namespace modelhub {

// The typed entry point to one model family, mirroring fairseq2's ModelHub:
// obtain it from the family's accessor (get_qwen_model_hub(), ...). Cheap to
// copy; it refers to the registered family.
template <typename ModelT, typename ConfigT>
class ModelHub {
  // ModelT is a parameter for parity with fairseq2; every family so far builds
  // the shared DecoderModel.
  static_assert(std::is_same_v<ModelT, DecoderModel>, "modelhub families build DecoderModel");

 public:
  explicit ModelHub(const TypedModelFamily<ConfigT>& family) : family_(&family) {}

  // The family's name, e.g. "qwen".
  const std::string& family_name() const { return family_->name(); }

  // The family's canonical arch names.
  std::set<std::string> get_archs() const {
    std::vector<std::string> names = family_->arch_names();
    return std::set<std::string>(names.begin(), names.end());
  }

  // The preset config of `arch` (a name or an alias); throws
  // ModelArchitectureNotKnownError(arch, family) naming the closest archs.
  ConfigT get_arch_config(std::string_view arch) const { return family_->GetTypedArchConfig(arch); }

  // The preset config of `arch`, or nullopt.
  std::optional<ConfigT> maybe_get_arch_config(std::string_view arch) const {
    return family_->MaybeGetTypedArchConfig(arch);
  }

  // Creates a model with newly initialized weights (or, with meta, none at all).
  // device: default CPU; dtype: default LibTorch's default dtype. Validates
  // `config` first (ConfigError).
  std::shared_ptr<ModelT> create_new_model(const ConfigT& config,
                                           std::optional<c10::Device> device = std::nullopt,
                                           std::optional<c10::ScalarType> dtype = std::nullopt,
                                           bool meta = false) const {
    return family_->CreateNewModel(TypedConfig<ConfigT>(config),
                                   ModelPlacement{device, dtype, meta});
  }

  // The type-erased family, for the APIs that take any family.
  const ModelFamily& family() const { return *family_; }

 private:
  const TypedModelFamily<ConfigT>* family_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_MODEL_HUB_H_
