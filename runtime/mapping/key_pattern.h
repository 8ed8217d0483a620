#ifndef MODELHUB_RUNTIME_CHECKPOINT_KEY_PATTERN_H_
#define MODELHUB_RUNTIME_CHECKPOINT_KEY_PATTERN_H_

// The pattern language of checkpoint key maps. A pattern is a dotted tensor name
// whose segments are either literal ("self_attn") or a capture ("{layer}") that
// matches exactly one whole segment. The same parser serves codegen (which
// rejects bad patterns at build time, with their column) and the runtime matcher.

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace modelhub {

// One segment of a parsed pattern.
struct KeySegment {
  bool capture = false;
  std::string text;  // the literal, or the capture's name
};

// A parsed pattern, or the first problem found in it.
struct ParsedKeyPattern {
  std::vector<KeySegment> segments;
  std::string error;        // empty when the pattern parsed
  size_t error_offset = 0;  // 0-based character offset of the problem
};

// True for [A-Za-z_][A-Za-z0-9_]*: a capture name, and what codegen accepts as
// a C++ name.
bool IsIdentifier(std::string_view name);

// Parses `pattern`. Segments are non-empty; literals use [A-Za-z0-9_-]; captures
// are `{identifier}` and fill a whole segment; a capture name appears once.
ParsedKeyPattern ParseKeyPattern(std::string_view pattern);

// Where CheckKeyTemplate found a problem: which pattern, and the character offset.
struct KeyTemplateError {
  std::string message;  // empty when the patterns fit
  bool in_source = false;
  size_t offset = 0;
};

// Checks that `target` is a pattern whose captures all come from `source`, and
// that every capture of `source` is used by it (so that distinct keys never map
// to one name).
KeyTemplateError CheckKeyTemplate(const ParsedKeyPattern& source, const ParsedKeyPattern& target);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CHECKPOINT_KEY_PATTERN_H_
