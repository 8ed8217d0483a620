#include "runtime/hub/hf_config.h"

#include <yaml-cpp/yaml.h>

#include <cmath>
#include <cstdint>
#include <fstream>
#include <limits>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/strings/string_view.h"
#include "runtime/config/yaml_fields.h"
#include "runtime/core/errors.h"
#include "runtime/formats/checkpoint_json.h"
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

// The JSON type transformers' config classes (@strict dataclasses) give a key.
// kWhole: a number transformers types int; modelhub reads any number and
// writes an integer where the value is whole.
enum class JsonKind { kInt, kNumber, kBool, kString, kObject, kNumberList, kWhole };

// How transformers types a config.json key that modelhub reads or requires
// (the config classes of the model types the linked specs read). Only these
// keys are read: a key a spec's hugging_face section names must be listed here
// (hf_config_test's EveryKeyASpecReadsIsTyped checks every linked family).
struct KeyType {
  const char* key;
  JsonKind kind;
  // A size or scale the decoder needs above 0 (transformers does not check).
  bool positive;
  // The model types whose class declares the key `X | None` (or does not
  // declare it), so that null means "derive it" or "none"; "*" is every type.
  const char* nullable_in;
};

constexpr KeyType kKeyTypes[] = {
    {"hidden_size", JsonKind::kInt, true, ""},
    {"intermediate_size", JsonKind::kInt, true, ""},
    {"num_hidden_layers", JsonKind::kInt, true, ""},
    {"num_attention_heads", JsonKind::kInt, true, ""},
    {"num_key_value_heads", JsonKind::kInt, true, "llama qwen2 qwen3"},
    {"head_dim", JsonKind::kInt, true, "llama mistral qwen2"},
    {"vocab_size", JsonKind::kInt, true, ""},
    {"max_position_embeddings", JsonKind::kInt, true, ""},
    {"sliding_window", JsonKind::kInt, true, "*"},
    {"rms_norm_eps", JsonKind::kNumber, true, ""},
    {"norm_epsilon", JsonKind::kNumber, true, ""},
    {"use_bias", JsonKind::kBool, false, ""},
    {"hidden_activation", JsonKind::kString, false, "*"},
    {"query_pre_attn_scalar", JsonKind::kWhole, true, "*"},
    {"attn_logit_softcapping", JsonKind::kNumber, true, "*"},
    {"final_logit_softcapping", JsonKind::kNumber, true, "*"},
    {"sliding_window_pattern", JsonKind::kInt, true, ""},
    {"rope_local_base_freq", JsonKind::kNumber, true, ""},
    {"embedding_multiplier", JsonKind::kNumber, true, ""},
    {"residual_multiplier", JsonKind::kNumber, true, ""},
    {"attention_multiplier", JsonKind::kNumber, true, ""},
    {"logits_scaling", JsonKind::kNumber, true, ""},
    {"rope_theta", JsonKind::kNumber, true, ""},
    {"tie_word_embeddings", JsonKind::kBool, false, ""},
    {"attention_bias", JsonKind::kBool, false, ""},
    {"mlp_bias", JsonKind::kBool, false, ""},
    {"use_sliding_window", JsonKind::kBool, false, ""},
    {"hidden_act", JsonKind::kString, false, ""},
    {"rope_scaling", JsonKind::kObject, false, "*"},
    {"rope_scaling.rope_type", JsonKind::kString, false, ""},
    {"rope_scaling.type", JsonKind::kString, false, ""},
    {"rope_scaling.factor", JsonKind::kNumber, true, ""},
    {"rope_scaling.low_freq_factor", JsonKind::kNumber, true, ""},
    {"rope_scaling.high_freq_factor", JsonKind::kNumber, true, ""},
    {"rope_scaling.original_max_position_embeddings", JsonKind::kInt, true, ""},
    {"rope_scaling.short_factor", JsonKind::kNumberList, true, ""},
    {"rope_scaling.long_factor", JsonKind::kNumberList, true, ""},
    {"original_max_position_embeddings", JsonKind::kInt, true, ""},
    {"partial_rotary_factor", JsonKind::kNumber, true, ""},
    {"rope_parameters", JsonKind::kObject, false, "*"},
    {"rope_parameters.rope_theta", JsonKind::kNumber, true, ""},
    {"rope_parameters.rope_type", JsonKind::kString, false, ""},
    {"rope_parameters.factor", JsonKind::kNumber, true, ""},
    {"rope_parameters.low_freq_factor", JsonKind::kNumber, true, ""},
    {"rope_parameters.high_freq_factor", JsonKind::kNumber, true, ""},
    {"rope_parameters.original_max_position_embeddings", JsonKind::kInt, true, ""},
};

// Whether config.json may give null for `type` under `model_type`.
bool NullableIn(const KeyType& type, const std::string& model_type) {
  if (std::string_view(type.nullable_in) == "*") return true;
  for (absl::string_view name : absl::StrSplit(type.nullable_in, ' ', absl::SkipEmpty())) {
    if (name == model_type) return true;
  }
  return false;
}

// Whether an integer JSON value fits int64_t (nlohmann keeps larger positive
// ones as unsigned).
bool FitsInt64(const Json& value) {
  return !value.is_number_unsigned() ||
         value.get<uint64_t>() <= static_cast<uint64_t>(std::numeric_limits<int64_t>::max());
}

// Refuses a value of `key` that transformers' config class would refuse for its
// type, and a non-positive size the decoder cannot build.
void CheckKeyType(const Json& value, const KeyType& type, const std::string& model_type,
                  const std::string& path) {
  auto refuse = [&](const std::string& what) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("config.json key '", type.key, "' must be ", what, ", not ",
                           value.is_array()    ? "an array"
                           : value.is_object() ? "an object"
                                               : value.dump()));
  };
  static const char* const kNames[] = {"an integer", "a number",  "true or false",
                                       "a string",   "an object", "a list of numbers",
                                       "a number"};
  const char* name = kNames[static_cast<int>(type.kind)];
  if (value.is_null()) {
    if (NullableIn(type, model_type)) return;
    refuse(name);
  }
  switch (type.kind) {
    case JsonKind::kInt:
      if (!value.is_number_integer()) refuse(name);
      if (!FitsInt64(value)) refuse("an integer below 2^63");
      break;
    case JsonKind::kNumber:
    case JsonKind::kWhole:
      if (!value.is_number()) refuse(name);
      if (!std::isfinite(value.get<double>())) refuse("a finite number");
      break;
    case JsonKind::kBool:
      if (!value.is_boolean()) refuse(name);
      break;
    case JsonKind::kString:
      if (!value.is_string()) refuse(name);
      break;
    case JsonKind::kObject:
      if (!value.is_object()) refuse(name);
      break;
    case JsonKind::kNumberList:
      if (!value.is_array()) refuse(name);
      for (size_t i = 0; i < value.size(); ++i) {
        const Json& item = value[i];
        const bool number = item.is_number() && std::isfinite(item.get<double>());
        if (number && (!type.positive || item.get<double>() > 0)) continue;
        throw CorruptModelCheckpointError(
            path, absl::StrCat("config.json key '", type.key, "' must be a list of ",
                               type.positive ? "positive " : "", "numbers, but item ", i, " is ",
                               item.is_array() || item.is_object() ? "a container" : item.dump()));
      }
      return;
  }
  if (type.positive && value.get<double>() <= 0) {
    refuse(type.kind == JsonKind::kInt ? "a positive integer" : "a positive number");
  }
}

// The keys of `root` that kKeyTypes lists (a flat copy: no other value, however
// deeply nested, is copied), as transformers' config classes read them, after
// checking each key's type: rope_parameters (what transformers 5 writes)
// supplies rope_theta and,
// unless its rope_type is "default", rope_scaling, where the file has neither;
// rope_scaling's legacy "type" is its rope_type, and rope_type "default" is no
// scaling; a null num_key_value_heads is num_attention_heads; hidden_act
// "swish" is "silu" (the same function in transformers' ACT2FN).
Json Normalized(const Json& root, const std::string& model_type, const std::string& path) {
  Json json = Json::object();
  for (const KeyType& type : kKeyTypes) {
    const Json* value = Lookup(root, type.key);
    if (value == nullptr) continue;
    CheckKeyType(*value, type, model_type, path);
    const std::vector<std::string> parts = absl::StrSplit(type.key, '.');
    Json& copy = parts.size() == 1 ? json[parts[0]] : json[parts[0]][parts[1]];
    copy = value->is_object() ? Json::object() : *value;  // its keys have entries of their own
  }
  if (const Json* parameters = Lookup(json, "rope_parameters"); Present(parameters)) {
    if (!json.contains("rope_theta") && parameters->contains("rope_theta")) {
      json["rope_theta"] = parameters->at("rope_theta");
    }
    const Json* rope_type = Lookup(*parameters, "rope_type");
    if (!json.contains("rope_scaling") && Present(rope_type) && *rope_type != "default") {
      json["rope_scaling"] = *parameters;
      json["rope_scaling"].erase("rope_theta");
    }
  }
  if (auto scaling = json.find("rope_scaling"); scaling != json.end() && scaling->is_object()) {
    if (!scaling->contains("rope_type") && scaling->contains("type")) {
      (*scaling)["rope_type"] = scaling->at("type");
    }
    if (scaling->value("rope_type", Json()) == "default") *scaling = nullptr;
    // Phi-3's first releases named LongRoPE "su" (transformers reads it as longrope).
    if (scaling->is_object() && scaling->value("rope_type", Json()) == "su") {
      (*scaling)["rope_type"] = "longrope";
    }
  }
  if (auto heads = json.find("num_key_value_heads"); heads != json.end() && heads->is_null()) {
    if (Present(Lookup(json, "num_attention_heads"))) {
      *heads = json.at("num_attention_heads");
    } else {
      json.erase(heads);
    }
  }
  if (auto act = json.find("hidden_act"); act != json.end() && *act == "swish") *act = "silu";
  return json;
}

// A JSON scalar, or a list of them, as a YAML node the config reader checks
// (strings quoted, so that "32" stays text); objects are refused.
YAML::Node JsonToYaml(const Json& value, const std::string& path, const char* key) {
  if (value.is_null()) return YAML::Node(YAML::NodeType::Null);
  if (value.is_array()) {
    YAML::Node list(YAML::NodeType::Sequence);
    for (const Json& item : value) list.push_back(JsonToYaml(item, path, key));
    return list;
  }
  if (value.is_boolean()) return YAML::Node(value.get<bool>() ? "true" : "false");
  if (value.is_number_integer() && FitsInt64(value)) {
    return YAML::Node(std::to_string(value.get<int64_t>()));
  }
  if (value.is_number()) return YAML::Node(FormatYamlFloat(value.get<double>()));
  if (value.is_string()) {
    YAML::Node node(value.get<std::string>());
    node.SetTag("!");
    return node;
  }
  throw CorruptModelCheckpointError(
      path, absl::StrCat("config.json key '", key,
                         "' must be a number, a bool, a string or a list of them, not an object"));
}

// The rule that sets config field `field` (a dotted path), or null.
const HfConfigRule* RuleOf(const HfConfigTable& table, const std::string& field) {
  for (const HfConfigRule& rule : table.rules) {
    if (field == rule.field) return &rule;
  }
  return nullptr;
}

// Whether `table` reads or requires config.json key `key` (or a key inside it).
bool Mentions(const HfConfigTable& table, std::string_view key);

// The config.json key a setting's hf_key ("a" or "a|b") names for a family
// whose config.json reads per `table`: the first alternative it reads, else
// the first.
std::string HfKeyIn(const HfConfigTable& table, const char* hf_key) {
  const std::vector<std::string> keys = absl::StrSplit(hf_key, '|');
  for (const std::string& key : keys) {
    if (Mentions(table, key)) return key;
  }
  return keys.front();
}

// The config.json key behind a field of the decoder blueprint (a setting's
// key, or the start of some, as ConfigError names them), as HfConfigJson
// writes it for `table`'s family; "model_type" when none is.
std::string HfKeyOf(const HfConfigTable& table, std::string_view field) {
  if (field.substr(0, 12) == "rope.scaling") {
    std::string key = "rope_scaling";
    const LongRopeScaling defaults;  // its keys are visited
    VisitLongRopeScalingSettings(
        [&](const DecoderSetting& setting, const auto&) {
          if (field.substr(std::min<size_t>(13, field.size())) != setting.key) return;
          key = std::string_view(setting.key) == "original_context_length"
                    ? setting.hf_key
                    : absl::StrCat("rope_scaling.", setting.hf_key);
        },
        defaults);
    return key;
  }
  const char* key = nullptr;
  const DerivedSize* derived = nullptr;  // of the first setting within `field`
  auto visit_settings = [](auto&& visit) {
    const DecoderBlueprint blueprint;
    VisitDecoderSettings([&](const DecoderSetting& setting, const auto&) { visit(setting); },
                         blueprint);
  };
  visit_settings([&](const DecoderSetting& setting) {
    std::string_view name = setting.key;
    const bool within = name.substr(0, field.size()) == field &&
                        (name.size() == field.size() || name[field.size()] == '.');
    if (!within || key != nullptr) return;
    if (setting.hf_key != nullptr) key = setting.hf_key;
    if (derived == nullptr) derived = setting.derived;
  });
  if (key == nullptr && derived != nullptr) {  // e.g. ffn.inner_dim_scale: intermediate_size
    visit_settings([&](const DecoderSetting& setting) {
      if (setting.derived == derived && setting.hf_key != nullptr && key == nullptr) {
        key = setting.hf_key;
      }
    });
  }
  return key != nullptr ? HfKeyIn(table, key) : "model_type";
}

// Refuses attention heads the decoder cannot build, naming the config.json keys
// they come from (and the arch preset, for those the file does not give):
// query heads that are not a multiple of key/value heads, a hidden size that
// is not a multiple of the heads without head_dim, an odd head size (RoPE
// rotates pairs of features).
void CheckHeads(const DecoderBlueprint& blueprint, const Json& json, const std::string& arch,
                const std::string& path) {
  const DecoderBlueprint::Attention& attention = blueprint.attention;
  if (attention.num_heads <= 0 || attention.num_kv_heads <= 0) return;  // Validate's to report
  auto shown = [&](const char* key, int64_t value) {
    return absl::StrCat(Present(Lookup(json, key)) ? "" : absl::StrCat("arch ", arch, "'s "), key,
                        " ", value);
  };
  auto refuse = [&](const std::string& message) {
    throw CorruptModelCheckpointError(path, message);
  };
  if (attention.num_heads % attention.num_kv_heads != 0) {
    refuse(absl::StrCat(shown("num_attention_heads", attention.num_heads), " is not divisible by ",
                        shown("num_key_value_heads", attention.num_kv_heads)));
  }
  if (attention.head_dim) {
    if (*attention.head_dim % 2 != 0) {
      refuse(absl::StrCat(shown("head_dim", *attention.head_dim),
                          " must be even for rotary embeddings"));
    }
    return;
  }
  const std::string division = absl::StrCat(shown("hidden_size", blueprint.model_dim), " / ",
                                            shown("num_attention_heads", attention.num_heads));
  if (blueprint.model_dim % attention.num_heads != 0) {
    refuse(absl::StrCat("head_dim is not given and ", division, " is not an integer"));
  }
  if (blueprint.HeadDim() % 2 != 0) {
    refuse(absl::StrCat("head_dim ", blueprint.HeadDim(), " (", division,
                        ") must be even for rotary embeddings"));
  }
}

// Refuses a config.json whose `layer_types` (what transformers 4.53+ reads
// first) disagrees with the per-layer pattern of sliding-window and global
// layers the model follows, naming the first layer that differs. Checked
// where the model has such a pattern; other models attend alike in every layer.
void CheckLayerTypes(const DecoderBlueprint& blueprint, const Json& root, const std::string& path) {
  const Json* types = Lookup(root, "layer_types");
  if (!blueprint.attention.sliding_window_pattern || !Present(types)) return;
  auto refuse = [&](const std::string& why) {
    throw CorruptModelCheckpointError(path, absl::StrCat("config.json key 'layer_types' ", why));
  };
  if (!types->is_array() || static_cast<int64_t>(types->size()) != blueprint.num_layers) {
    refuse(absl::StrCat("must list the type of each of the ", blueprint.num_layers, " layers"));
  }
  for (int64_t i = 0; i < blueprint.num_layers; ++i) {
    const char* expected = blueprint.IsLocalLayer(i) ? "sliding_attention" : "full_attention";
    const Json& type = (*types)[static_cast<size_t>(i)];
    if (type != expected) {
      refuse(absl::StrCat("gives layer ", i, " ", type.dump(), ", but sliding_window_pattern ",
                          *blueprint.attention.sliding_window_pattern, " makes it ", expected));
    }
  }
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

// A setting's value as config.json holds it (derived sizes as the size,
// an unset optional as null).
template <typename T>
Json SettingJson(const DecoderBlueprint& blueprint, const DecoderSetting& setting,
                 const std::optional<T>& value) {
  if (setting.derived != nullptr) return setting.derived->of(blueprint);
  return value ? Json(*value) : Json(nullptr);
}
template <typename T>
Json SettingJson(const DecoderBlueprint& blueprint, const DecoderSetting& setting, const T& value) {
  if (setting.derived != nullptr) return setting.derived->of(blueprint);
  return value;
}

// The config.json of a model of `blueprint` as model type `type` of a family
// whose config.json reads per `table`: every decoder setting with a config.json
// key, plus what transformers' config classes need besides.
Json HfConfigJson(const HfConfigTable& table, const HfModelType& type,
                  const DecoderBlueprint& blueprint, const char* dtype) {
  Json json = {
      {"architectures", Json::array({type.architecture})},
      {"model_type", type.model_type},
      {"torch_dtype", dtype},
  };
  VisitDecoderSettings(
      [&](const DecoderSetting& setting, const auto& value) {
        if (setting.hf_key == nullptr) return;
        if (setting.hf_only_where_read && !Mentions(table, setting.hf_key)) return;
        json[HfKeyIn(table, setting.hf_key)] = SettingJson(blueprint, setting, value);
      },
      blueprint);
  if (Mentions(table, "rope_scaling")) {
    Json scaling = nullptr;
    if (const std::optional<Llama3RopeScaling>& llama3 = blueprint.rope.llama3_scaling) {
      scaling = {{"rope_type", "llama3"}};
      VisitLlama3ScalingSettings([&](const DecoderSetting& setting,
                                     const auto& value) { scaling[setting.hf_key] = value; },
                                 *llama3);
    } else if (blueprint.rope.linear_factor) {
      scaling = {{"rope_type", "linear"}, {"factor", *blueprint.rope.linear_factor}};
    } else if (const std::optional<LongRopeScaling>& longrope = blueprint.rope.longrope_scaling) {
      // Exactly these three keys: transformers 4.4x's Phi3Config accepts no others.
      scaling = {{"type", "longrope"}};
      VisitLongRopeScalingSettings(
          [&](const DecoderSetting& setting, const auto& value) {
            Json& at = std::string_view(setting.key) == "original_context_length"
                           ? json[setting.hf_key]  // top level, as Phi-3's configs have it
                           : scaling[setting.hf_key];
            at = value;
          },
          *longrope);
    }
    json["rope_scaling"] = scaling;
  }
  for (const KeyType& key : kKeyTypes) {  // transformers' ints, written as ints where whole
    auto value = json.find(key.key);
    if (key.kind != JsonKind::kWhole || value == json.end() || !value->is_number_float()) continue;
    const double number = value->get<double>();
    if (number == std::floor(number) && std::abs(number) < 9.0e15) {
      *value = static_cast<int64_t>(number);
    }
  }
  if (Mentions(table, "use_sliding_window")) {
    json["use_sliding_window"] = blueprint.attention.sliding_window.has_value();
  }
  return json;
}

}  // namespace

HfModelConfig ParseHfConfig(const std::string& json_text, const std::string& path) {
  const Json root = ParseCheckpointJson(json_text, path);
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
  const Json json = Normalized(root, result.model_type, path);
  for (const HfRequirement& requirement : table.requirements) {
    const Json* value = Lookup(json, requirement.key);
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
        const Json* given = Lookup(json, key);
        if (given == nullptr) continue;
        value = JsonToYaml(*given, path, key);
        break;
      }
      case HfConfigRule::Kind::kPresent:
        value = YAML::Node(Present(Lookup(json, key)) ? "true" : "false");
        break;
      case HfConfigRule::Kind::kLiteral:
        value = YAML::Load(rule.literal);
        break;
      case HfConfigRule::Kind::kKeyList: {
        value = YAML::Node(YAML::NodeType::Sequence);
        for (const char* element : rule.keys) {
          const Json* given = Lookup(json, element);
          if (!Present(given)) {
            value = YAML::Node();
            break;
          }
          value.push_back(JsonToYaml(*given, path, element));
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
  const DecoderBlueprint blueprint = result.config->ToBlueprint();
  CheckHeads(blueprint, json, result.arch, path);
  CheckLayerTypes(blueprint, root, path);
  try {
    result.config->Validate();
  } catch (const ConfigError& e) {
    const HfConfigRule* rule = RuleOf(table, e.field());
    if (rule == nullptr || rule->keys.empty()) {
      throw CorruptModelCheckpointError(
          path, absl::StrCat("config.json gives an invalid ", result.config->type_name(), ": ",
                             std::string(e.what())));
    }
    throw CorruptModelCheckpointError(
        path,
        absl::StrCat("config.json key '", absl::StrJoin(rule->keys, "', '"), "' does not fit ",
                     result.config->type_name(), ".", e.field(), ": ", e.reason()));
  }
  try {
    blueprint.Validate();
  } catch (const ConfigError& e) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("config.json key '", HfKeyOf(table, e.field()), "' gives a ",
                           family.name(), " decoder whose ", e.field(), " ", e.reason()));
  }
  return result;
}

HfModelConfig ReadHfConfig(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw CorruptModelCheckpointError(path, "cannot read config.json");
  // Read at most one byte past the limit: a larger file is refused unparsed.
  std::string text(kMaxHfConfigBytes + 1, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  if (in.bad()) throw CorruptModelCheckpointError(path, "cannot read config.json");
  text.resize(static_cast<size_t>(in.gcount()));
  if (text.size() > kMaxHfConfigBytes) {
    throw CorruptModelCheckpointError(
        path, absl::StrCat("config.json is larger than ", kMaxHfConfigBytes,
                           " bytes (16 MiB), the most modelhub reads (real ones hold a few KB)"));
  }
  return ParseHfConfig(text, path);
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
