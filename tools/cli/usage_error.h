#ifndef MODELHUB_TOOLS_CLI_USAGE_ERROR_H_
#define MODELHUB_TOOLS_CLI_USAGE_ERROR_H_

#include <string>

#include "runtime/core/errors.h"

namespace modelhub::cli {

// A command line that names something that does not exist or does not fit
// (exit code 2, like a parse error).
class UsageError : public Error {
 public:
  explicit UsageError(const std::string& message) : Error(message) {}
};

}  // namespace modelhub::cli

#endif  // MODELHUB_TOOLS_CLI_USAGE_ERROR_H_
