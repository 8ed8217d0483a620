#ifndef MODELHUB_RUNTIME_ASSETS_CONFIG_MERGE_H_
#define MODELHUB_RUNTIME_ASSETS_CONFIG_MERGE_H_

// fairseq2's merging of partial ("unstructured") configs read from asset cards
// over a base config, and its `${env:VAR}` directive. Both work on YAML trees;
// turning the result into a typed config is the model family's job.

#include <yaml-cpp/yaml.h>

#include <string>
#include <vector>

#include "runtime/core/source_mark.h"

namespace modelhub {

// Where a config override was written, for errors (thrown as
// AssetCardError(card, "<file:line:col>: ...")).
struct OverrideOrigin {
  std::string card;   // the card whose document holds the field
  std::string field;  // the field: "model_config", "model_config_overrides", ...
  SourceMark mark;    // where the field is written; its file is the file of every node below
};

// One override to apply: `value` as read from the card (so that its nodes carry
// their positions) and where it came from.
struct ConfigOverride {
  YAML::Node value;
  OverrideOrigin origin;

  // No assignment: yaml-cpp's Node::operator= would rebind the card's own node.
  // Copies share the nodes (yaml-cpp's handles).
  ConfigOverride(const ConfigOverride&) = default;
  ConfigOverride& operator=(const ConfigOverride&) = delete;
};

// Merges `overrides` over `target` the way fairseq2's StandardConfigMerger does
// and returns a new tree sharing no node with either input:
// - `overrides` not a map: the result is (a copy of) `overrides`.
// - otherwise a map, `target` read as an empty map unless it is one:
//   1. the keys listed in `_del_` (a list of strings; keys that are absent are
//      ignored) are dropped from the target;
//   2. each other key of `overrides` (but `_del_` and `_set_`): a map value is
//      merged recursively into the target's value (read as an empty map unless it
//      is one); any other value (scalar, list, null) replaces the target's;
//   3. the entries of `_set_` (a map with string keys) replace the target's
//      values as they are, without merging and without reading `_del_`/`_set_`
//      inside them.
//   Keys keep the target's order; new keys follow in the overrides' order.
// `_del_`/`_set_` of the wrong type throw AssetCardError(origin.card, ...) naming
// the field path, the file and line of the offending node, and what was expected.
YAML::Node MergeUnstructured(const YAML::Node& target, const YAML::Node& overrides,
                             const OverrideOrigin& origin);

// Returns a copy of `node` in which every `${env:VAR}` and `${env:VAR:default}` in
// string scalars (map values and list items, not keys) is replaced by the value
// of the environment variable VAR (a set but empty VAR gives ""), or by `default`
// when VAR is not set. VAR is [A-Za-z_][A-Za-z0-9_]*; `default` runs to the first
// `}`; text that does not match is left as it is; replaced text is not expanded
// again. An unset VAR without default throws AssetCardError(origin.card, ...)
// naming VAR, the file and the line (the node's own when it has one, otherwise
// origin.mark's). A replaced scalar is a string, whatever it reads as, as in
// fairseq2 (where interpolation returns a Python str): `${env:N}` with N=8 is
// the string "8", which numeric fields structure as fairseq2's structure()
// does, and N=true is the string "true", which a bool field refuses.
YAML::Node ExpandEnvVars(const YAML::Node& node, const OverrideOrigin& origin);

// Applies `overrides` in order (root base first, as AssetCard gives them) over
// `config`, as fairseq2's StandardAssetConfigLoader does: for each non-null
// override, merge it (MergeUnstructured) and then expand `${env:...}` in the
// whole result (ExpandEnvVars). Before merging, an override is checked for unset
// variables so that the error points at the line that uses one. Returns a new
// tree; `config` is not changed.
YAML::Node ApplyConfigOverrides(const YAML::Node& config,
                                const std::vector<ConfigOverride>& overrides);

// Where a card wrote the config field `path` (dotted), looking through the
// overrides from the leaf down and into `_set_` maps; an unknown mark if none.
SourceMark FindOverrideMark(const std::vector<ConfigOverride>& overrides, const std::string& path);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_ASSETS_CONFIG_MERGE_H_
