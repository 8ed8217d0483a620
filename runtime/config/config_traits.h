#ifndef MODELHUB_RUNTIME_CONFIG_CONFIG_TRAITS_H_
#define MODELHUB_RUNTIME_CONFIG_CONFIG_TRAITS_H_

namespace modelhub {

// Describes a config struct to the runtime. codegen specializes it for every
// config struct a spec declares (the family config and its nested structs) with:
//
//   static constexpr const char* kName;   // C++ type name, e.g. "QwenConfig"
//   static void Merge(const YAML::Node& map, const YamlContext& context, T* config);
//       // Overwrites the fields present in `map`; unknown keys and wrong types
//       // throw ConfigError naming the field and the line.
//   static YAML::Node ToYaml(const T& config);  // every field, in spec order
//   static void Validate(const T& config);      // spec constraints; ConfigError
//   static void Print(std::ostream& out, const T& config);  // one line
//   static bool Equal(const T& a, const T& b);
//
// Family configs additionally get, from the spec's `decoder` section:
//
//   static DecoderBlueprint ToBlueprint(const T& config);
template <typename T>
struct ConfigTraits;

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CONFIG_CONFIG_TRAITS_H_
