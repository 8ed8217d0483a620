#ifndef MODELHUB_RUNTIME_HUB_TYPED_MODEL_FAMILY_H_
#define MODELHUB_RUNTIME_HUB_TYPED_MODEL_FAMILY_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "runtime/config/config_traits.h"
#include "runtime/core/errors.h"
#include "runtime/hub/model_family.h"
#include "runtime/hub/model_family_registry.h"
#include "runtime/mapping/key_map.h"

namespace modelhub {

// An arch preset as generated from a spec: its name, aliases and the function
// that builds its config (deriving from its base arch in code).
template <typename ConfigT>
struct ArchPreset {
  const char* name;
  std::vector<const char*> aliases;
  ConfigT (*make)();
  int64_t params = 0;  // the spec's published parameter count; 0 when not given
};

// A checkpoint format's generated key rules.
struct KeyFormatTable {
  const char* name;
  RopeLayout layout;
  const KeyRule* rules;
  size_t num_rules;
};

// AnyConfig over a generated config struct.
template <typename ConfigT>
class TypedConfig final : public AnyConfig {
 public:
  explicit TypedConfig(ConfigT value) : value_(std::move(value)) {}

  const char* type_name() const override { return ConfigTraits<ConfigT>::kName; }
  void Merge(const YAML::Node& overrides, const YamlContext& context) override {
    ConfigTraits<ConfigT>::Merge(overrides, context, &value_);
  }
  YAML::Node ToYaml() const override { return ConfigTraits<ConfigT>::ToYaml(value_); }
  void Validate() const override { ConfigTraits<ConfigT>::Validate(value_); }
  DecoderBlueprint ToBlueprint() const override {
    return ConfigTraits<ConfigT>::ToBlueprint(value_);
  }
  std::unique_ptr<AnyConfig> NewDefault() const override {
    return std::make_unique<TypedConfig<ConfigT>>(ConfigT{});
  }

  const ConfigT& value() const { return value_; }

 private:
  ConfigT value_;
};

// The family behind a generated config type; what generated code registers.
template <typename ConfigT>
class TypedModelFamily final : public ModelFamily {
 public:
  TypedModelFamily(std::string name, std::string spec_file, std::vector<ArchPreset<ConfigT>> archs,
                   const std::vector<KeyFormatTable>& formats, HfConfigTable hf_config = {})
      : ModelFamily(std::move(name), std::move(spec_file), CompileKeyMaps(formats),
                    std::move(hf_config)),
        archs_(std::move(archs)) {}

  std::vector<std::string> arch_names() const override {
    std::vector<std::string> names;
    for (const ArchPreset<ConfigT>& arch : archs_) names.emplace_back(arch.name);
    return names;
  }

  std::optional<std::string> ResolveArch(std::string_view arch) const override {
    const ArchPreset<ConfigT>* preset = Find(arch);
    if (preset == nullptr) return std::nullopt;
    return std::string(preset->name);
  }

  std::optional<int64_t> PublishedParameterCount(std::string_view arch) const override {
    const ArchPreset<ConfigT>* preset = Find(arch);
    if (preset == nullptr) ThrowArchNotKnown(arch);
    if (preset->params == 0) return std::nullopt;
    return preset->params;
  }

  std::unique_ptr<AnyConfig> MaybeGetArchConfig(std::string_view arch) const override {
    const ArchPreset<ConfigT>* preset = Find(arch);
    if (preset == nullptr) return nullptr;
    return std::make_unique<TypedConfig<ConfigT>>(preset->make());
  }

  // Typed access for ModelHub.
  std::optional<ConfigT> MaybeGetTypedArchConfig(std::string_view arch) const {
    const ArchPreset<ConfigT>* preset = Find(arch);
    if (preset == nullptr) return std::nullopt;
    return preset->make();
  }
  ConfigT GetTypedArchConfig(std::string_view arch) const {
    const ArchPreset<ConfigT>* preset = Find(arch);
    if (preset == nullptr) ThrowArchNotKnown(arch);
    return preset->make();
  }

 private:
  static std::vector<KeyMap> CompileKeyMaps(const std::vector<KeyFormatTable>& formats) {
    std::vector<KeyMap> maps;
    for (const KeyFormatTable& format : formats) {
      maps.emplace_back(format.name, format.layout, format.rules, format.num_rules);
    }
    return maps;
  }

  const ArchPreset<ConfigT>* Find(std::string_view arch) const {
    for (const ArchPreset<ConfigT>& preset : archs_) {
      if (arch == preset.name) return &preset;
      for (const char* alias : preset.aliases) {
        if (arch == alias) return &preset;
      }
    }
    return nullptr;
  }

  std::vector<ArchPreset<ConfigT>> archs_;
};

// The registered family of ConfigT. Throws ModelFamilyNotKnownError when the
// family's library was not linked, modelhub::Error when the family registered
// under its name has another config type (two families of one name).
template <typename ConfigT>
const TypedModelFamily<ConfigT>& GetTypedModelFamily() {
  const ModelFamily& family = GetModelFamily(ConfigTraits<ConfigT>::kFamily);
  const auto* typed = dynamic_cast<const TypedModelFamily<ConfigT>*>(&family);
  if (typed == nullptr) {
    throw Error(std::string("model family '") + family.name() +
                "' is registered with another config type than " + ConfigTraits<ConfigT>::kName +
                " (is another family registered under its name?)");
  }
  return *typed;
}

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_TYPED_MODEL_FAMILY_H_
