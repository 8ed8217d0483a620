#include "runtime/core/source_mark.h"

#include "absl/strings/str_cat.h"

namespace modelhub {

std::string SourceMark::ToString() const {
  if (!known()) return file;
  return absl::StrCat(file.empty() ? "<input>" : file, ":", line, ":", column);
}

}  // namespace modelhub
