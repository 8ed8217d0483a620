#ifndef MODELHUB_RUNTIME_HUB_MODEL_FAMILY_H_
#define MODELHUB_RUNTIME_HUB_MODEL_FAMILY_H_

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <yaml-cpp/yaml.h>

#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/checkpoint/key_map.h"
#include "runtime/config/yaml_fields.h"
#include "runtime/models/decoder_blueprint.h"
#include "runtime/models/decoder_model.h"

namespace modelhub {

// A config of some family, for code that does not know the family's type (the
// CLI, global load_model). Families' typed configs sit behind it.
class AnyConfig {
 public:
  virtual ~AnyConfig() = default;
  // The family's config type, e.g. "QwenConfig".
  virtual const char* type_name() const = 0;
  // Overwrites the fields given in `overrides` (a partial YAML map); unknown
  // fields and wrong types throw ConfigError naming `context`.
  virtual void Merge(const YAML::Node& overrides, const YamlContext& context) = 0;
  // Every field, in spec order.
  virtual YAML::Node ToYaml() const = 0;
  // Throws ConfigError when a spec constraint does not hold.
  virtual void Validate() const = 0;
  virtual DecoderBlueprint ToBlueprint() const = 0;
};

// Where and in what precision a new model is created. Unset device: CPU; unset
// dtype: LibTorch's default dtype; meta: shapes only, no storage (device ignored).
struct ModelPlacement {
  std::optional<c10::Device> device;
  std::optional<c10::ScalarType> dtype;
  bool meta = false;
};

// A registered model family: its arch presets, key maps and model factory. One
// instance per family, created by the family's generated registration.
class ModelFamily {
 public:
  ModelFamily(std::string name, std::string spec_file, std::vector<KeyMap> key_maps);
  virtual ~ModelFamily();

  const std::string& name() const { return name_; }
  // The spec the family was generated from.
  const std::string& spec_file() const { return spec_file_; }

  // Canonical arch names, in spec order.
  virtual std::vector<std::string> arch_names() const = 0;
  // The canonical name of `arch` (which may be an alias), or nullopt.
  virtual std::optional<std::string> ResolveArch(std::string_view arch) const = 0;
  // The resolved preset of `arch`; ModelArchitectureNotKnownError if there is none.
  std::unique_ptr<AnyConfig> GetArchConfig(std::string_view arch) const;
  virtual std::unique_ptr<AnyConfig> MaybeGetArchConfig(std::string_view arch) const = 0;

  // The key map of a checkpoint format ("hf", "meta"), or null.
  const KeyMap* FindKeyMap(std::string_view format) const;

  // Validates `config` and builds a model from it.
  std::shared_ptr<DecoderModel> CreateNewModel(const AnyConfig& config,
                                               const ModelPlacement& placement) const;

 protected:
  [[noreturn]] void ThrowArchNotKnown(std::string_view arch) const;

 private:
  std::string name_;
  std::string spec_file_;
  std::vector<KeyMap> key_maps_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_MODEL_FAMILY_H_
