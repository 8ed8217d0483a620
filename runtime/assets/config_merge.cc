#include "runtime/assets/config_merge.h"

#include <cstdlib>
#include <optional>
#include <set>
#include <string_view>
#include <unordered_map>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "runtime/assets/yaml_values.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

// The position of `node` in origin's file, or the field's own when `node` has none
// (nodes built in code, or copies).
SourceMark MarkOf(const YAML::Node& node, const OverrideOrigin& origin) {
  const YAML::Mark mark = node.Mark();
  if (mark.is_null()) return origin.mark;
  return SourceMark{origin.mark.file, mark.line + 1, mark.column + 1};
}

[[noreturn]] void Fail(const YAML::Node& node, const OverrideOrigin& origin,
                       const std::string& message) {
  throw AssetCardError(origin.card, absl::StrCat(MarkOf(node, origin).ToString(), ": ", message));
}

// A map key as text, for comparing keys and naming them.
std::string KeyText(const YAML::Node& key) {
  if (key.IsScalar()) return key.Scalar();
  return YAML::Dump(key);
}

std::string Child(const std::string& path, const std::string& key) {
  return path.empty() ? key : absl::StrCat(path, ".", key);
}

// A map under construction that keeps its keys in insertion order.
class OrderedMap {
 public:
  // Sets `key` to `value`: in place when the key is present, at the end otherwise.
  void Set(const YAML::Node& key, const YAML::Node& value) {
    std::string text = KeyText(key);
    auto found = index_.find(text);
    if (found != index_.end()) {
      // emplace, not `=`: Node::operator= would rebind the old node instead.
      entries_[found->second].value.emplace(value);
      return;
    }
    index_.emplace(std::move(text), entries_.size());
    entries_.push_back(Entry{key, value});
  }

  // The value of `key`, or nullptr.
  const YAML::Node* Find(const std::string& key) const {
    auto found = index_.find(key);
    return found == index_.end() ? nullptr : &*entries_[found->second].value;
  }

  YAML::Node ToNode() const {
    YAML::Node map(YAML::NodeType::Map);
    for (const Entry& entry : entries_) map.force_insert(entry.key, *entry.value);
    return map;
  }

 private:
  struct Entry {
    YAML::Node key;
    std::optional<YAML::Node> value;
  };
  std::vector<Entry> entries_;
  std::unordered_map<std::string, size_t> index_;  // key text -> entry
};

// The value of the directive key `key` ("_del_", "_set_") in `map`, or nullopt
// when it is absent or null (fairseq2 ignores a null directive).
std::optional<YAML::Node> Directive(const YAML::Node& map, const char* key) {
  for (auto it = map.begin(); it != map.end(); ++it) {
    if (it->first.IsScalar() && it->first.Scalar() == key) {
      if (KindOfYaml(it->second) == YamlValueKind::kNull) return std::nullopt;
      return it->second;
    }
  }
  return std::nullopt;
}

YAML::Node MergeMap(const YAML::Node& target, const YAML::Node& source, const std::string& path,
                    const OverrideOrigin& origin) {
  std::set<std::string> deleted;
  if (std::optional<YAML::Node> del = Directive(source, "_del_")) {
    const std::string del_path = Child(path, "_del_");
    if (!del->IsSequence()) {
      Fail(*del, origin,
           absl::StrCat("field '", del_path, "' must be a list of the keys to delete, got ",
                        DescribeYamlValue(*del)));
    }
    for (size_t i = 0; i < del->size(); ++i) {
      const YAML::Node item = (*del)[i];
      if (!IsYamlString(item)) {
        Fail(item, origin,
             absl::StrCat("item ", i, " of field '", del_path, "' must be a key (a string), got ",
                          DescribeYamlValue(item)));
      }
      deleted.insert(item.Scalar());
    }
  }

  OrderedMap output;
  if (target.IsMap()) {
    for (auto it = target.begin(); it != target.end(); ++it) {
      if (deleted.count(KeyText(it->first)) == 0) {
        output.Set(CopyYaml(it->first), CopyYaml(it->second));
      }
    }
  }

  for (auto it = source.begin(); it != source.end(); ++it) {
    const std::string key = KeyText(it->first);
    if (key == "_del_" || key == "_set_") continue;
    if (!it->second.IsMap()) {
      output.Set(CopyYaml(it->first), CopyYaml(it->second));
      continue;
    }
    const YAML::Node* existing = output.Find(key);
    const YAML::Node base =
        existing != nullptr && existing->IsMap() ? *existing : YAML::Node(YAML::NodeType::Map);
    output.Set(CopyYaml(it->first), MergeMap(base, it->second, Child(path, key), origin));
  }

  if (std::optional<YAML::Node> set = Directive(source, "_set_")) {
    const std::string set_path = Child(path, "_set_");
    if (!set->IsMap()) {
      Fail(*set, origin,
           absl::StrCat("field '", set_path, "' must be a map of keys to values, got ",
                        DescribeYamlValue(*set)));
    }
    for (auto it = set->begin(); it != set->end(); ++it) {
      if (!IsYamlString(it->first)) {
        Fail(it->first, origin,
             absl::StrCat("the keys of field '", set_path, "' must be strings, got ",
                          DescribeYamlValue(it->first)));
      }
      output.Set(CopyYaml(it->first), CopyYaml(it->second));
    }
  }
  return output.ToNode();
}

bool IsNameStart(char c) { return absl::ascii_isalpha(static_cast<unsigned char>(c)) || c == '_'; }
bool IsNameChar(char c) { return absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '_'; }

// `text` with its `${env:...}` directives replaced (see ExpandEnvVars).
std::string ExpandText(const std::string& text, const YAML::Node& node, const std::string& path,
                       const OverrideOrigin& origin, bool* changed) {
  static constexpr std::string_view kOpen = "${env:";
  std::string output;
  size_t pos = 0;
  while (true) {
    const size_t start = text.find(kOpen.data(), pos, kOpen.size());
    if (start == std::string::npos) break;
    const size_t name_begin = start + kOpen.size();
    size_t i = name_begin;
    if (i < text.size() && IsNameStart(text[i])) {
      while (++i < text.size() && IsNameChar(text[i])) {
      }
    }
    std::optional<std::string> fallback;
    size_t end = std::string::npos;
    if (i > name_begin && i < text.size()) {
      if (text[i] == '}') {
        end = i + 1;
      } else if (text[i] == ':') {
        const size_t close = text.find('}', i + 1);
        if (close != std::string::npos) {
          fallback = text.substr(i + 1, close - i - 1);
          end = close + 1;
        }
      }
    }
    if (end == std::string::npos) {  // not a directive: keep the text, look further
      output.append(text, pos, start + 1 - pos);
      pos = start + 1;
      continue;
    }
    output.append(text, pos, start - pos);
    const std::string name = text.substr(name_begin, i - name_begin);
    if (const char* value = std::getenv(name.c_str())) {
      output += value;
    } else if (fallback) {
      output += *fallback;
    } else {
      Fail(node, origin,
           absl::StrCat("field '", path, "' uses environment variable ", name, " (${env:", name,
                        "}), which is not set and has no default (write ${env:", name,
                        ":default} to give one)"));
    }
    *changed = true;
    pos = end;
  }
  output.append(text, pos, std::string::npos);
  return output;
}

YAML::Node Expand(const YAML::Node& node, const std::string& path, const OverrideOrigin& origin) {
  switch (node.Type()) {
    case YAML::NodeType::Scalar: {
      if (!IsYamlString(node)) return CopyYaml(node);
      bool changed = false;
      std::string text = ExpandText(node.Scalar(), node, path, origin, &changed);
      if (!changed) return CopyYaml(node);
      YAML::Node copy(text);
      copy.SetTag("!");  // a string, as fairseq2's interpolation gives
      return copy;
    }
    case YAML::NodeType::Sequence: {
      YAML::Node copy(YAML::NodeType::Sequence);
      for (size_t i = 0; i < node.size(); ++i) {
        copy.push_back(Expand(node[i], absl::StrCat(path, "[", i, "]"), origin));
      }
      copy.SetStyle(node.Style());
      return copy;
    }
    case YAML::NodeType::Map: {
      YAML::Node copy(YAML::NodeType::Map);
      for (auto it = node.begin(); it != node.end(); ++it) {
        copy.force_insert(CopyYaml(it->first),
                          Expand(it->second, Child(path, KeyText(it->first)), origin));
      }
      copy.SetStyle(node.Style());
      return copy;
    }
    default:
      return CopyYaml(node);
  }
}

// Throws as ExpandEnvVars would for the strings of `overrides` that
// MergeUnstructured keeps in its result: all of them but the `_del_` lists of
// the maps it merges. Checked on the override as read, whose nodes have positions.
void CheckEnvVars(const YAML::Node& overrides, const std::string& path,
                  const OverrideOrigin& origin) {
  if (!overrides.IsMap()) {
    Expand(overrides, path, origin);
    return;
  }
  for (auto it = overrides.begin(); it != overrides.end(); ++it) {
    const std::string key = KeyText(it->first);
    if (key == "_del_") continue;
    if (key != "_set_" && it->second.IsMap()) {
      CheckEnvVars(it->second, Child(path, key), origin);
    } else {
      Expand(it->second, Child(path, key), origin);
    }
  }
}

}  // namespace

YAML::Node MergeUnstructured(const YAML::Node& target, const YAML::Node& overrides,
                             const OverrideOrigin& origin) {
  if (!overrides.IsMap()) return CopyYaml(overrides);
  return MergeMap(target.IsMap() ? target : YAML::Node(YAML::NodeType::Map), overrides,
                  origin.field, origin);
}

YAML::Node ExpandEnvVars(const YAML::Node& node, const OverrideOrigin& origin) {
  return Expand(node, origin.field, origin);
}

YAML::Node ApplyConfigOverrides(const YAML::Node& config,
                                const std::vector<ConfigOverride>& overrides) {
  YAML::Node result = CopyYaml(config);
  for (const ConfigOverride& item : overrides) {
    if (KindOfYaml(item.value) == YamlValueKind::kNull) continue;
    CheckEnvVars(item.value, item.origin.field, item.origin);
    result = ExpandEnvVars(MergeUnstructured(result, item.value, item.origin), item.origin);
  }
  return result;
}

SourceMark FindOverrideMark(const std::vector<ConfigOverride>& overrides, const std::string& path) {
  for (auto it = overrides.rbegin(); it != overrides.rend(); ++it) {
    std::vector<YAML::Node> level = {it->value};
    YAML::Node found;
    for (absl::string_view key : absl::StrSplit(path, '.')) {
      std::vector<YAML::Node> next;
      for (const YAML::Node& node : level) {
        if (!node.IsMap()) continue;
        for (const auto& entry : node) {
          const std::string name = entry.first.Scalar();
          if (name == key) {
            next.push_back(entry.second);
            found = entry.first;
          } else if (name == "_set_") {
            for (const auto& set : entry.second) {
              if (set.first.Scalar() == key) {
                next.push_back(set.second);
                found = set.first;
              }
            }
          }
        }
      }
      if (next.empty()) {
        found = YAML::Node();
        break;
      }
      level = next;
    }
    if (found.IsDefined() && !found.Mark().is_null()) {
      return SourceMark{it->origin.mark.file, found.Mark().line + 1, found.Mark().column + 1};
    }
  }
  return SourceMark{};
}

}  // namespace modelhub
