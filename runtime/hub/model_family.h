#ifndef MODELHUB_RUNTIME_HUB_MODEL_FAMILY_H_
#define MODELHUB_RUNTIME_HUB_MODEL_FAMILY_H_

#include <c10/core/Device.h>
#include <c10/core/ScalarType.h>
#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/blueprint/decoder_blueprint.h"
#include "runtime/config/yaml_fields.h"
#include "runtime/distributed/gang.h"
#include "runtime/mapping/key_map.h"
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
  // A config of the same type with every field at its spec default.
  virtual std::unique_ptr<AnyConfig> NewDefault() const = 0;
};

// Where and in what precision a new model is created. Unset device: CPU; unset
// dtype: LibTorch's default dtype; meta: shapes only, no storage (device ignored);
// initialize false: storage left uninitialized, for loaders that fill it.
// gangs: the model runs tensor-parallel over gangs.tp when it has more than one
// rank (fairseq2's `gangs`; see SetupGangsFromEnvironment), each rank holding
// and reading its own shards; unset: one process.
struct ModelPlacement {
  std::optional<c10::Device> device;
  std::optional<c10::ScalarType> dtype;
  bool meta = false;
  bool initialize = true;
  Gangs gangs = {};

  // On the meta device: shapes and dtypes only.
  static ModelPlacement Meta() {
    ModelPlacement placement;
    placement.meta = true;
    return placement;
  }
};

// How a family reads a Hugging Face config.json, as generated from its spec's
// `hugging_face` section. Fields are dotted config paths ("rope_scale.factor"),
// keys dotted JSON paths ("rope_scaling.factor"), literals YAML scalars.
struct HfConfigRule {
  enum class Kind { kKey, kPresent, kLiteral, kKeyList };
  const char* field;
  Kind kind;
  std::vector<const char*> keys;  // kKey, kPresent: one; kKeyList: one per element
  const char* literal;            // kLiteral
};
struct HfModelType {
  const char* model_type;    // config.json's "model_type"
  const char* arch;          // the preset that fields config.json does not set come from
  const char* architecture;  // the transformers class config.json's "architectures" names
};
struct HfRequirement {
  const char* key;    // a config.json key the family cannot represent...
  const char* value;  // ...unless it is absent or has this value
};
struct HfConfigTable {
  std::vector<HfModelType> model_types;
  std::vector<HfConfigRule> rules;
  std::vector<HfRequirement> requirements;
};

// A registered model family: its arch presets, key maps and model factory. One
// instance per family, created by the family's generated registration.
class ModelFamily {
 public:
  ModelFamily(std::string name, std::string spec_file, std::vector<KeyMap> key_maps,
              HfConfigTable hf_config);
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
  // The parameter count published for the preset `arch` (the spec's `params:`),
  // or nullopt when the spec gives none; ModelArchitectureNotKnownError if
  // there is no such preset.
  virtual std::optional<int64_t> PublishedParameterCount(std::string_view arch) const = 0;

  // The key map of a checkpoint format ("hf", "meta"), or null.
  const KeyMap* FindKeyMap(std::string_view format) const;
  // Every checkpoint format's key map, in spec order.
  const std::vector<KeyMap>& key_maps() const { return key_maps_; }

  // How config.json files of this family read; empty model_types when the spec
  // declares none.
  const HfConfigTable& hf_config() const { return hf_config_; }

  // Validates `config` and builds a model from it. A model whose parameters
  // would not fit in this machine's memory is refused first, from its sizes
  // (ConfigError; see DecoderModel).
  std::shared_ptr<DecoderModel> CreateNewModel(const AnyConfig& config,
                                               const ModelPlacement& placement) const;

 protected:
  [[noreturn]] void ThrowArchNotKnown(std::string_view arch) const;

 private:
  std::string name_;
  std::string spec_file_;
  std::vector<KeyMap> key_maps_;
  HfConfigTable hf_config_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_HUB_MODEL_FAMILY_H_
