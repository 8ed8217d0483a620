#ifndef MODELHUB_RUNTIME_CHECKPOINT_KEY_MAP_H_
#define MODELHUB_RUNTIME_CHECKPOINT_KEY_MAP_H_

// Maps tensor names of a checkpoint format (Hugging Face, Meta reference) to the
// model's own names, using the rules a family spec declares. Rules are compiled
// once into a trie over name segments, so mapping a key costs one walk over its
// segments: no regular expressions.

#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "runtime/blueprint/rope_settings.h"

namespace modelhub {

// Which rotary projection a tensor feeds, so that loading can convert its rows
// between RoPE layouts: queries have num_heads heads, keys num_kv_heads.
enum class RopeProjection { kNone, kQuery, kKey };

// One rule as generated from a spec: `from` pattern to `to` template, or a
// dropped tensor (`to` == nullptr). Consecutive rules with the same `from` and
// a `split_dim` >= 0 make one fused rule: the checkpoint tensor holds their
// targets' parameters concatenated along split_dim, in rule order (Phi-3's
// qkv_proj holds q_proj, k_proj and v_proj rows).
struct KeyRule {
  const char* from;
  const char* to;
  RopeProjection rope = RopeProjection::kNone;
  int split_dim = -1;
};

// The result of mapping one checkpoint key.
struct MappedKey {
  std::string name;  // the model's name (a fused tensor's first part); empty when dropped
  bool dropped = false;
  RopeProjection rope = RopeProjection::kNone;
  // A fused tensor (split_dim >= 0): every parameter it holds, in order along
  // split_dim (the first is `name`); empty for a one-to-one rule.
  int split_dim = -1;
  std::vector<MappedKey> parts = {};
};

// The parameters `key` loads: its parts when fused, else itself.
inline std::vector<MappedKey> TargetsOf(const MappedKey& key) {
  if (key.parts.empty()) return {key};
  return key.parts;
}

class KeyMap {
 public:
  // Compiles `rules` (patterns are validated; a bad one, two rules whose
  // sources or targets match the same names, or a fused rule whose parts
  // differ in split_dim, throws ConfigError naming the format and the rule,
  // which codegen makes impossible for generated tables).
  // `layout` is the RoPE layout of checkpoints in this format.
  KeyMap(std::string format, RopeLayout layout, const KeyRule* rules, size_t num_rules);
  ~KeyMap();
  KeyMap(KeyMap&&) noexcept;
  KeyMap& operator=(KeyMap&&) noexcept;

  // Maps a checkpoint key; nullopt when no rule matches it. Where several rules
  // match, literal segments win over captures, segment by segment.
  std::optional<MappedKey> Map(std::string_view key) const;

  // The checkpoint key a model parameter name is stored under in this format
  // (the inverse of Map, over rules that are not dropped; for a part of a
  // fused tensor, the fused tensor's key); nullopt when none.
  std::optional<std::string> Unmap(std::string_view name) const;

  const std::string& format() const { return format_; }
  RopeLayout layout() const { return layout_; }

 private:
  struct Node;
  struct Target;
  KeyMap(std::string format, RopeLayout layout, const KeyRule* rules, size_t num_rules,
         bool build_inverse);
  bool Match(const Node& node, const std::vector<std::string_view>& segments, size_t index,
             std::vector<std::string_view>& captured, size_t* rule) const;

  std::string format_;
  RopeLayout layout_;
  std::unique_ptr<Node> root_;
  std::vector<std::vector<Target>> targets_;  // indexed by node rule: one, or a fused rule's parts
  std::unique_ptr<KeyMap> inverse_;           // targets to sources; null inside an inverse
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_KEY_MAP_H_
