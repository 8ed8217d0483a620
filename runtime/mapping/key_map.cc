#include "runtime/mapping/key_map.h"

#include <utility>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"
#include "runtime/mapping/key_pattern.h"

namespace modelhub {
namespace {

// The error of rule `rule` of the key map `format`.
ConfigError RuleError(const std::string& format, const KeyRule& rule, const std::string& what) {
  return ConfigError(absl::StrCat("checkpoint key map '", format, "'"), "", SourceMark{},
                     absl::StrCat("rule '", rule.from, "' -> '",
                                  rule.to == nullptr ? "(dropped)" : rule.to, "': ", what));
}

}  // namespace

// A trie node: children by literal segment, one child for a capture, and the
// rule that ends here (if any: an index into targets_). Captures are recorded by position in the
// walk.
struct KeyMap::Node {
  std::unordered_map<std::string, std::unique_ptr<Node>> literals;
  std::unique_ptr<Node> capture;
  std::optional<size_t> rule;
};

// The output side of a rule: literal pieces and references to captured segments
// (by their order among the source pattern's captures).
struct KeyMap::Target {
  struct Piece {
    bool capture = false;
    std::string literal;
    size_t capture_index = 0;
  };
  std::string from;  // the rule's source pattern
  std::vector<Piece> pieces;
  bool dropped = false;
  RopeProjection rope = RopeProjection::kNone;
  int split_dim = -1;
};

KeyMap::KeyMap(std::string format, RopeLayout layout, const KeyRule* rules, size_t num_rules)
    : KeyMap(std::move(format), layout, rules, num_rules, true) {}

KeyMap::KeyMap(std::string format, RopeLayout layout, const KeyRule* rules, size_t num_rules,
               bool build_inverse)
    : format_(std::move(format)), layout_(layout), root_(std::make_unique<Node>()) {
  for (size_t r = 0; r < num_rules; ++r) {
    const KeyRule& rule = rules[r];
    ParsedKeyPattern source = ParseKeyPattern(rule.from);
    if (!source.error.empty()) {
      throw RuleError(
          format_, rule,
          absl::StrCat(source.error, " (source pattern offset ", source.error_offset, ")"));
    }
    std::vector<std::string> capture_names;
    Node* node = root_.get();
    for (const KeySegment& segment : source.segments) {
      std::unique_ptr<Node>& child = segment.capture ? node->capture : node->literals[segment.text];
      if (!child) child = std::make_unique<Node>();
      node = child.get();
      if (segment.capture) capture_names.push_back(segment.text);
    }
    // The next part of the fused rule just before it.
    const bool next_part = r > 0 && rule.split_dim >= 0 && rules[r - 1].split_dim >= 0 &&
                           std::string_view(rules[r - 1].from) == rule.from;
    if (node->rule && !next_part) {
      throw RuleError(format_, rule,
                      absl::StrCat("its source pattern matches the same names as rule '",
                                   targets_[*node->rule].front().from, "'"));
    }
    if (next_part && rules[r - 1].split_dim != rule.split_dim) {
      throw RuleError(format_, rule,
                      absl::StrCat("the parts of a fused tensor split along one dimension, not ",
                                   rules[r - 1].split_dim, " and ", rule.split_dim));
    }
    if (rule.split_dim >= 0 && rule.to == nullptr) {
      throw RuleError(format_, rule, "a part of a fused tensor cannot be dropped");
    }
    if (!next_part) {
      node->rule = targets_.size();
      targets_.emplace_back();
    }

    Target target;
    target.from = rule.from;
    target.rope = rule.rope;
    target.split_dim = rule.split_dim;
    if (rule.to == nullptr) {
      target.dropped = true;
    } else {
      ParsedKeyPattern parsed = ParseKeyPattern(rule.to);
      std::string error =
          parsed.error.empty() ? CheckKeyTemplate(source, parsed).message : parsed.error;
      if (!error.empty()) throw RuleError(format_, rule, error);
      auto append_literal = [&target](std::string_view text) {
        if (target.pieces.empty() || target.pieces.back().capture) {
          target.pieces.push_back({false, "", 0});
        }
        target.pieces.back().literal += text;
      };
      for (size_t i = 0; i < parsed.segments.size(); ++i) {
        const KeySegment& segment = parsed.segments[i];
        if (i > 0) append_literal(".");
        if (segment.capture) {
          size_t index = 0;
          while (capture_names[index] != segment.text) ++index;
          target.pieces.push_back({true, "", index});
        } else {
          append_literal(segment.text);
        }
      }
    }
    targets_[*node->rule].push_back(std::move(target));
  }
  if (build_inverse) {
    std::vector<KeyRule> reversed;
    for (size_t r = 0; r < num_rules; ++r) {
      if (rules[r].to != nullptr) reversed.push_back({rules[r].to, rules[r].from});
    }
    inverse_.reset(new KeyMap(format_, layout_, reversed.data(), reversed.size(), false));
  }
}

std::optional<std::string> KeyMap::Unmap(std::string_view name) const {
  std::optional<MappedKey> key = inverse_ ? inverse_->Map(name) : std::nullopt;
  if (!key) return std::nullopt;
  return key->name;
}

KeyMap::~KeyMap() = default;
KeyMap::KeyMap(KeyMap&&) noexcept = default;
KeyMap& KeyMap::operator=(KeyMap&&) noexcept = default;

bool KeyMap::Match(const Node& node, const std::vector<std::string_view>& segments, size_t index,
                   std::vector<std::string_view>& captured, size_t* rule) const {
  if (index == segments.size()) {
    if (!node.rule) return false;
    *rule = *node.rule;
    return true;
  }
  auto literal = node.literals.find(std::string(segments[index]));
  if (literal != node.literals.end() &&
      Match(*literal->second, segments, index + 1, captured, rule)) {
    return true;
  }
  if (node.capture) {
    captured.push_back(segments[index]);
    if (Match(*node.capture, segments, index + 1, captured, rule)) return true;
    captured.pop_back();
  }
  return false;
}

std::optional<MappedKey> KeyMap::Map(std::string_view key) const {
  std::vector<std::string_view> segments;
  size_t start = 0;
  while (true) {
    size_t end = key.find('.', start);
    segments.push_back(key.substr(start, end == std::string_view::npos ? end : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  std::vector<std::string_view> captured;
  size_t rule = 0;
  if (!Match(*root_, segments, 0, captured, &rule)) return std::nullopt;
  const auto name_of = [&captured](const Target& target) {
    std::string name;
    for (const Target::Piece& piece : target.pieces) {
      if (piece.capture) {
        name.append(captured[piece.capture_index]);
      } else {
        name += piece.literal;
      }
    }
    return name;
  };
  const std::vector<Target>& targets = targets_[rule];
  MappedKey mapped;
  mapped.dropped = targets.front().dropped;
  mapped.rope = targets.front().rope;
  mapped.name = name_of(targets.front());
  mapped.split_dim = targets.front().split_dim;
  if (mapped.split_dim >= 0) {
    for (const Target& target : targets) {
      mapped.parts.push_back({name_of(target), false, target.rope, -1, {}});
    }
  }
  return mapped;
}

}  // namespace modelhub
