#include "runtime/hub/hf_config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runtime/config/yaml_fields.h"
#include "runtime/core/errors.h"
#include "runtime/hub/model_family_registry.h"

namespace modelhub {
namespace {

using Json = nlohmann::json;

// The value at a dotted key path; null when a part is absent (or a parent is
// not an object).
const Json* Lookup(const Json& root, const char* key) {
  const Json* node = &root;
  for (absl::string_view part : absl::StrSplit(key, '.')) {
    if (!node->is_object()) return nullptr;
    auto it = node->find(std::string(part));
    if (it == node->end()) return nullptr;
    node = &*it;
  }
  return node;
}

bool Present(const Json* value) { return value != nullptr && !value->is_null(); }

// A JSON scalar as a YAML node the config reader checks; objects and arrays
// are refused.
YAML::Node JsonToYaml(const Json& value, const std::string& path, const char* key) {
  if (value.is_null()) return YAML::Node(YAML::NodeType::Null);
  if (value.is_boolean()) return YAML::Node(value.get<bool>() ? "true" : "false");
  if (value.is_number_integer()) return YAML::Node(std::to_string(value.get<int64_t>()));
  if (value.is_number()) return YAML::Node(FormatYamlFloat(value.get<double>()));
  if (value.is_string()) return YAML::Node(value.get<std::string>());
  throw CorruptModelCheckpointError(
      path, absl::StrCat("config.json key '", key, "' must be a number, a bool or a string, not ",
                         value.is_array() ? "an array" : "an object"));
}

// Whether `value` equals the spec's required YAML scalar `expected`.
bool Matches(const Json& value, const std::string& expected) {
  if (expected == "null") return value.is_null();
  if (value.is_boolean()) return expected == (value.get<bool>() ? "true" : "false");
  if (value.is_number()) {
    std::optional<double> number = ParseYamlFloat(YAML::Node(expected));
    if (!number) return false;
    const double actual = value.get<double>();
    return std::abs(actual - *number) <= 1e-12 * std::max(std::abs(actual), std::abs(*number));
  }
  return value.is_string() && value.get<std::string>() == expected;
}

// Sets `field` (a dotted path) to `value` in a fresh override map.
YAML::Node Override(const char* field, const YAML::Node& value) {
  std::vector<std::string> parts = absl::StrSplit(field, '.');
  YAML::Node node = value;
  for (auto it = parts.rbegin(); it != parts.rend(); ++it) {
    YAML::Node parent(YAML::NodeType::Map);
    parent[*it] = node;
    node = parent;
  }
  return node;
}

// Whether `table` reads or requires config.json key `key` (or a key inside it).
bool Mentions(const HfConfigTable& table, std::string_view key) {
  auto within = [key](std::string_view name) {
    return name.substr(0, key.size()) == key &&
           (name.size() == key.size() || name[key.size()] == '.');
  };
  for (const HfConfigRule& rule : table.rules) {
    for (const char* name : rule.keys) {
      if (within(name)) return true;
    }
  }
  for (const HfRequirement& requirement : table.requirements) {
    if (within(requirement.key)) return true;
  }
  return false;
}

// PyTorch's name of `dtype` as torch_dtype holds it, or null when config.json
// has none for it.
const char* TorchDtypeName(c10::ScalarType dtype) {
  switch (dtype) {
    case c10::kFloat:
      return "float32";
    case c10::kBFloat16:
      return "bfloat16";
    case c10::kHalf:
      return "float16";
    case c10::kDouble:
      return "float64";
    default:
      return nullptr;
  }
}

// The config.json of a model of `blueprint` as model type `type` of a family
// whose config.json reads per `table`.
Json HfConfigJson(const HfConfigTable& table, const HfModelType& type,
                  const DecoderBlueprint& blueprint, const char* dtype) {
  Json json = {
      {"architectures", Json::array({type.architecture})},
      {"model_type", type.model_type},
      {"torch_dtype", dtype},
      {"hidden_act", "silu"},
      {"hidden_size", blueprint.model_dim},
      {"intermediate_size", blueprint.FfnInnerDim()},
      {"num_hidden_layers", blueprint.num_layers},
      {"num_attention_heads", blueprint.attention.num_heads},
      {"num_key_value_heads", blueprint.attention.num_kv_heads},
      {"max_position_embeddings", blueprint.max_seq_len},
      {"vocab_size", blueprint.vocab_size},
      {"rms_norm_eps", blueprint.norm.eps},
      {"rope_theta", blueprint.rope.theta},
      {"tie_word_embeddings", blueprint.tied_embeddings},
  };
  Json scaling = nullptr;
  if (const std::optional<Llama3RopeScaling>& llama3 = blueprint.rope.llama3_scaling) {
    scaling = {{"rope_type", "llama3"},
               {"factor", llama3->factor},
               {"low_freq_factor", llama3->low_freq_factor},
               {"high_freq_factor", llama3->high_freq_factor},
               {"original_max_position_embeddings", llama3->original_context_length}};
  }
  const std::optional<int64_t>& window = blueprint.attention.sliding_window;
  const std::pair<const char*, Json> type_specific[] = {
      {"head_dim", blueprint.HeadDim()},
      {"attention_bias", blueprint.attention.qkv_bias},
      {"rope_scaling", scaling},
      {"sliding_window", window ? Json(*window) : Json(nullptr)},
      {"use_sliding_window", window.has_value()},
  };
  for (const auto& [key, value] : type_specific) {
    if (Mentions(table, key)) json[key] = value;
  }
  return json;
}

}  // namespace

HfModelConfig ParseHfConfig(const std::string& json_text, const std::string& path) {
  Json root;
  try {
    root = Json::parse(json_text);
  } catch (const Json::parse_error& e) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("invalid JSON at byte ", e.byte, ": ", std::string(e.what())));
  }
  if (!root.is_object()) throw CorruptModelCheckpointError(path, "config.json must be an object");
  const Json* type = Lookup(root, "model_type");
  if (!Present(type) || !type->is_string()) {
    throw CorruptModelCheckpointError(path, "config.json has no string 'model_type'");
  }
  HfModelConfig result;
  result.model_type = type->get<std::string>();
  std::vector<std::string> known;
  for (const ModelFamily* family : ListModelFamilies()) {
    for (const HfModelType& entry : family->hf_config().model_types) {
      known.emplace_back(entry.model_type);
      if (result.family == nullptr && result.model_type == entry.model_type) {
        result.family = family;
        result.arch = entry.arch;
      }
    }
  }
  if (result.family == nullptr) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("model_type '", result.model_type,
                           "' is not read by any linked model family (known: ",
                           absl::StrJoin(known, ", "), ")"));
  }
  const ModelFamily& family = *result.family;
  const HfConfigTable& table = family.hf_config();
  for (const HfRequirement& requirement : table.requirements) {
    const Json* value = Lookup(root, requirement.key);
    if (value == nullptr || Matches(*value, requirement.value)) continue;
    throw CorruptModelCheckpointError(
        path,
        absl::StrCat("config.json key '", requirement.key, "' is ", value->dump(),
                     ", but model family '", family.name(), "' supports only ", requirement.value));
  }
  result.config = family.GetArchConfig(result.arch);
  const YamlContext context{absl::StrCat(result.config->type_name(), " from config.json"), path,
                            ""};
  for (const HfConfigRule& rule : table.rules) {
    YAML::Node value;
    const char* key = rule.keys.empty() ? "" : rule.keys.front();
    switch (rule.kind) {
      case HfConfigRule::Kind::kKey: {
        const Json* json = Lookup(root, key);
        if (json == nullptr) continue;
        value = JsonToYaml(*json, path, key);
        break;
      }
      case HfConfigRule::Kind::kPresent:
        value = YAML::Node(Present(Lookup(root, key)) ? "true" : "false");
        break;
      case HfConfigRule::Kind::kLiteral:
        value = YAML::Load(rule.literal);
        break;
      case HfConfigRule::Kind::kKeyList: {
        value = YAML::Node(YAML::NodeType::Sequence);
        for (const char* element : rule.keys) {
          const Json* json = Lookup(root, element);
          if (!Present(json)) {
            value = YAML::Node();
            break;
          }
          value.push_back(JsonToYaml(*json, path, element));
        }
        if (!value.IsSequence()) continue;
        key = rule.keys.back();
        break;
      }
    }
    try {
      result.config->Merge(Override(rule.field, value), context);
    } catch (const ConfigError& e) {
      throw CorruptModelCheckpointError(
          path, absl::StrCat("config.json key '", key, "' does not fit ",
                             result.config->type_name(), ".", rule.field, ": ", e.reason()));
    }
  }
  try {
    result.config->Validate();
  } catch (const ConfigError& e) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("config.json gives an invalid ", result.config->type_name(), ": ",
                           std::string(e.what())));
  }
  return result;
}

HfModelConfig ReadHfConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CorruptModelCheckpointError(path, "cannot read config.json");
  std::ostringstream text;
  text << in.rdbuf();
  return ParseHfConfig(text.str(), path);
}

std::string FormatHfConfig(const ModelFamily& family, const DecoderBlueprint& blueprint,
                           c10::ScalarType dtype, const std::string& path) {
  const char* dtype_name = TorchDtypeName(dtype);
  if (dtype_name == nullptr) {
    throw CheckpointSaveError(
        path, absl::StrCat("config.json's torch_dtype cannot name dtype ", c10::toString(dtype),
                           " (use float32, bfloat16, float16 or float64)"));
  }
  const HfConfigTable& table = family.hf_config();
  std::vector<std::string> reasons;
  for (const HfModelType& type : table.model_types) {
    const std::string text = HfConfigJson(table, type, blueprint, dtype_name).dump(2) + "\n";
    std::string reason;
    try {
      HfModelConfig read = ParseHfConfig(text, path);
      if (read.family != &family) {
        reason = absl::StrCat("reads back as model family '", read.family->name(), "'");
      } else if (std::string diff = DescribeDifference(blueprint, read.config->ToBlueprint());
                 !diff.empty()) {
        reason = absl::StrCat("reads back as another model (", diff, ")");
      }
    } catch (const CorruptModelCheckpointError& e) {
      reason = absl::StrCat("does not read back: ", e.reason());
    }
    if (reason.empty()) return text;
    reasons.push_back(absl::StrCat("model_type '", type.model_type, "' ", reason));
  }
  if (reasons.empty()) reasons.emplace_back("its spec declares no hugging_face model_types");
  throw CheckpointSaveError(
      path, absl::StrCat("this ", family.name(),
                         " config cannot be expressed as a Hugging Face config.json: ",
                         absl::StrJoin(reasons, "; ")));
}

}  // namespace modelhub
