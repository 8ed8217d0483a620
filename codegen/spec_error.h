#ifndef MODELHUB_CODEGEN_SPEC_ERROR_H_
#define MODELHUB_CODEGEN_SPEC_ERROR_H_

#include <stdexcept>
#include <string>

#include "runtime/core/source_mark.h"

namespace modelhub::codegen {

// A problem in a spec file. what() reads "specs/x.yaml:LINE:COL: message", the
// form compilers use, so editors and CI logs link straight to the spot.
class SpecError : public std::runtime_error {
 public:
  SpecError(const SourceMark& mark, const std::string& message)
      : std::runtime_error(mark.ToString() + ": " + message), mark_(mark) {}
  const SourceMark& mark() const { return mark_; }

 private:
  SourceMark mark_;
};

}  // namespace modelhub::codegen

#endif  // MODELHUB_CODEGEN_SPEC_ERROR_H_
