#ifndef MODELHUB_TOOLS_CLI_ARCH_COMMANDS_H_
#define MODELHUB_TOOLS_CLI_ARCH_COMMANDS_H_

#include <ostream>
#include <string>

#include "runtime/hub/model_family.h"

namespace modelhub::cli {

// The family a command line names; UsageError (with the known names) when no
// family has that name.
const ModelFamily& FamilyNamed(const std::string& name);

// `modelhub archs [FAMILY] [--params]`: one line per arch, "FAMILY ARCH", with
// --params followed by the exact parameter count of the model built on meta.
// Throws UsageError for an unknown family.
void ListArchs(const std::string& family, bool with_params, std::ostream& out);

// `modelhub config ARCH [--family F]`: the resolved config of ARCH as YAML.
// Without --family, ARCH must belong to exactly one family. Throws
// ModelArchitectureNotKnownError (naming the closest archs) or UsageError.
void PrintArchConfig(const std::string& arch, const std::string& family, std::ostream& out);

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_ARCH_COMMANDS_H_
