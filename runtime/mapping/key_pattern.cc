#include "runtime/mapping/key_pattern.h"

#include <algorithm>

namespace modelhub {
namespace {

bool IsLiteralChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
         c == '-';
}

// Offsets of each segment's first character, for error positions.
std::vector<size_t> SegmentOffsets(const std::vector<KeySegment>& segments) {
  std::vector<size_t> offsets;
  size_t offset = 0;
  for (const KeySegment& segment : segments) {
    offsets.push_back(offset);
    offset += segment.text.size() + (segment.capture ? 2 : 0) + 1;
  }
  return offsets;
}

}  // namespace

bool IsIdentifier(std::string_view name) {
  if (name.empty() || (name[0] >= '0' && name[0] <= '9')) return false;
  return std::all_of(name.begin(), name.end(), [](char c) { return IsLiteralChar(c) && c != '-'; });
}

ParsedKeyPattern ParseKeyPattern(std::string_view pattern) {
  ParsedKeyPattern parsed;
  auto fail = [&parsed](size_t offset, std::string message) {
    parsed.segments.clear();
    parsed.error = std::move(message);
    parsed.error_offset = offset;
    return parsed;
  };
  if (pattern.empty()) return fail(0, "empty key pattern");
  size_t start = 0;
  while (true) {
    size_t end = pattern.find('.', start);
    std::string_view segment =
        pattern.substr(start, end == std::string_view::npos ? std::string_view::npos : end - start);
    if (segment.empty()) return fail(start, "empty segment in key pattern");
    if (segment.front() == '{' || segment.back() == '}') {
      if (segment.size() < 2 || segment.front() != '{' || segment.back() != '}') {
        return fail(start, "a capture must fill a whole segment, as in '{layer}'");
      }
      std::string_view name = segment.substr(1, segment.size() - 2);
      if (!IsIdentifier(name)) {
        return fail(start + 1, "capture name '" + std::string(name) + "' is not an identifier");
      }
      for (const KeySegment& previous : parsed.segments) {
        if (previous.capture && previous.text == name) {
          return fail(start + 1, "capture '{" + std::string(name) + "}' appears twice");
        }
      }
      parsed.segments.push_back(KeySegment{true, std::string(name)});
    } else {
      for (size_t i = 0; i < segment.size(); ++i) {
        if (!IsLiteralChar(segment[i])) {
          return fail(start + i,
                      std::string("unexpected character '") + segment[i] + "' in key pattern");
        }
      }
      parsed.segments.push_back(KeySegment{false, std::string(segment)});
    }
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return parsed;
}

KeyTemplateError CheckKeyTemplate(const ParsedKeyPattern& source, const ParsedKeyPattern& target) {
  auto has_capture = [](const ParsedKeyPattern& pattern, const std::string& name) {
    return std::any_of(pattern.segments.begin(), pattern.segments.end(),
                       [&](const KeySegment& s) { return s.capture && s.text == name; });
  };
  std::vector<size_t> target_offsets = SegmentOffsets(target.segments);
  for (size_t i = 0; i < target.segments.size(); ++i) {
    const KeySegment& segment = target.segments[i];
    if (segment.capture && !has_capture(source, segment.text)) {
      return {"capture '{" + segment.text + "}' is not captured by the source pattern", false,
              target_offsets[i]};
    }
  }
  std::vector<size_t> source_offsets = SegmentOffsets(source.segments);
  for (size_t i = 0; i < source.segments.size(); ++i) {
    const KeySegment& segment = source.segments[i];
    if (segment.capture && !has_capture(target, segment.text)) {
      return {"capture '{" + segment.text + "}' is not used by the target", true,
              source_offsets[i]};
    }
  }
  return {};
}

}  // namespace modelhub
