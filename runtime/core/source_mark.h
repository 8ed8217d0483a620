#ifndef MODELHUB_RUNTIME_CORE_SOURCE_MARK_H_
#define MODELHUB_RUNTIME_CORE_SOURCE_MARK_H_

#include <string>

namespace modelhub {

// A position in a text input (a spec, a card, a config file): file, 1-based line
// and column. An empty file means "not from a file" (for example a config built
// in code); line 0 means the position is unknown.
struct SourceMark {
  std::string file;
  int line = 0;
  int column = 0;

  // True when the mark names at least a line.
  bool known() const { return line > 0; }

  // "file:line:col", "file", "<input>:line:col" or "" depending on what is known.
  std::string ToString() const;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CORE_SOURCE_MARK_H_
