#ifndef MODELHUB_CODEGEN_SPEC_PARSER_H_
#define MODELHUB_CODEGEN_SPEC_PARSER_H_

#include <functional>
#include <optional>
#include <string>

#include "codegen/spec.h"

namespace modelhub::codegen {

// The text of the spec file at `path` (a path as the importing spec names it,
// joined to that spec's folder and normalized), or nullopt when it is not one
// the compiler was given.
using SpecFileReader = std::function<std::optional<std::string>(const std::string& path)>;

// Parses and checks a family spec. `file` is the path used in error messages.
// Every key is consumed or rejected; types, defaults, arch settings, decoder
// references and key patterns are all checked here, so that generated code
// always compiles. `checkpoints: {import: llama.yaml}` (or a list of files)
// adds the key maps of another spec's checkpoints section, read through
// `read`: its formats come first, a format both there and here takes the rules
// of both (with the same rope_layout), and a rule for keys another rule
// already maps is an error naming both places, as is an import cycle.
// Throws SpecError on the first problem.
FamilySpec ParseSpec(const std::string& text, const std::string& file,
                     const SpecFileReader& read = nullptr);

}  // namespace modelhub::codegen

#endif  // MODELHUB_CODEGEN_SPEC_PARSER_H_
