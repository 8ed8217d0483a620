#ifndef MODELHUB_CODEGEN_SPEC_PARSER_H_
#define MODELHUB_CODEGEN_SPEC_PARSER_H_

#include <string>

#include "codegen/spec.h"

namespace modelhub::codegen {

// Parses and checks a family spec. `file` is the path used in error messages.
// Every key is consumed or rejected; types, defaults, arch settings, decoder
// references and key patterns are all checked here, so that generated code
// always compiles. Throws SpecError on the first problem.
FamilySpec ParseSpec(const std::string& text, const std::string& file);

}  // namespace modelhub::codegen

#endif  // MODELHUB_CODEGEN_SPEC_PARSER_H_
