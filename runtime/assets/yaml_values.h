#ifndef MODELHUB_RUNTIME_ASSETS_YAML_VALUES_H_
#define MODELHUB_RUNTIME_ASSETS_YAML_VALUES_H_

// How asset card values are typed, safe copies of yaml-cpp nodes, and a
// LoadAll that always ends.
//
// fairseq2 reads cards with ruamel.yaml's safe loader, which resolves plain
// scalars with the YAML 1.2 rules: `true`/`false` (also True, TRUE, ...) are
// booleans but `yes`/`no`/`on`/`off` are strings, `1e6` is a float, `2024-01-01`
// a timestamp. yaml-cpp keeps every scalar as text; these functions give each
// one the type fairseq2 would see, so that "is this field a string?" has
// fairseq2's answer.

#include <yaml-cpp/yaml.h>

#include <optional>
#include <string>
#include <vector>

namespace modelhub {

// The type fairseq2 would load a YAML node as.
enum class YamlValueKind { kNull, kBool, kInt, kFloat, kTimestamp, kString, kList, kMap };

// The kind of `node`: quoted scalars and scalars tagged `!!str` are strings;
// plain ones are resolved with ruamel.yaml's YAML 1.2 patterns; other explicit
// tags (`!!int`, `!!bool`, ...) are taken at their word. An undefined node is null.
YamlValueKind KindOfYaml(const YAML::Node& node);

// True when `node` is a string scalar (KindOfYaml(node) == kString).
bool IsYamlString(const YAML::Node& node);

// The boolean value of `node` when it is a YAML 1.2 boolean, nullopt otherwise.
std::optional<bool> YamlBoolean(const YAML::Node& node);

// `node` for error messages, after its kind: "a map", "a list", "null",
// "the boolean true", "the integer 12", "the float 1.5", "the timestamp
// 2024-01-01", "the string \"x\"". Text longer than 80 bytes is cut short:
// "the string \"xxx... (1000000 bytes)\"".
std::string DescribeYamlValue(const YAML::Node& node);

// "" when fairseq2's YAML loader (ruamel.yaml's safe loader) reads the tag of
// `node`, else why not: a tag outside the YAML 1.2 core schema (!!str, !!int,
// !!float, !!bool, !!null, !!timestamp, !!seq, !!map) such as
// `!!python/object:os.system` or a local `!thing`; a core tag on the wrong kind
// of node (`!!int [1]`); or a scalar its tag does not read (`!!int abc`).
// Untagged, quoted and `!`-tagged nodes are always fine.
std::string CheckYamlTag(const YAML::Node& node);

// A deep copy of `node`: every map, list, key and scalar is a new node (tags and
// styles kept), so changing the copy never changes `node`, and aliases (`*x`)
// become independent copies. yaml-cpp offers no way to set a position, so the
// copy's nodes have none (Mark().is_null()).
YAML::Node CopyYaml(const YAML::Node& node);

// The documents of the YAML stream `text`, as YAML::LoadAll reads them, except
// that a stream yaml-cpp 0.7 cannot get past throws YAML::ParserException (at
// the line and column of the token it is stuck on) instead of never returning.
// yaml-cpp 0.7's parser leaves a token that cannot start a node (a ',', ']' or
// '}' after a complete top-level node) where it is and reports an empty
// document; LoadAll then appends that empty document forever, growing memory
// (fixed upstream in 2024, after yaml-cpp 0.8.0). Throws what YAML::LoadAll throws for
// other invalid YAML.
std::vector<YAML::Node> LoadYamlDocuments(const std::string& text);

// Resolves YAML merge keys in `node` and below, in place, as ruamel.yaml's safe
// loader does (yaml-cpp 0.7 keeps `<<` as an ordinary key): a plain `<<` key
// whose value is a map, or a list of maps, is replaced by their entries, which
// come first; the map's own entries override merged ones, and an earlier map
// of the list overrides a later one. Merged maps have their own merge keys
// resolved first. Nodes are moved, not copied, so they keep their positions.
// Throws YAML::ParserException at a `<<` whose value is anything else. Walks
// the tree with aliases expanded, so give it a tree already bounded in size
// and depth (as the asset store's checks do).
void ResolveYamlMergeKeys(YAML::Node node);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_ASSETS_YAML_VALUES_H_
