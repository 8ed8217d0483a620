#ifndef MODELHUB_TESTS_TOOLS_MODELHUB_COMMAND_H_
#define MODELHUB_TESTS_TOOLS_MODELHUB_COMMAND_H_

// Running the `modelhub` binary (a data dependency of the test) as a user does.

#include <string>

namespace modelhub::testing {

// How a command ended and what it printed.
struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

// The contents of the file at `path` ("" when it cannot be read).
std::string Slurp(const std::string& path);

// Runs `command` through the shell, stdout and stderr captured apart.
CommandResult RunCommand(const std::string& command);

// Runs `modelhub args` (tools/cli/modelhub, with the machine's card folders
// out of the way); `shell` (shell commands ending in ';' or variable
// assignments) comes first in the same shell.
CommandResult Modelhub(const std::string& args, const std::string& shell = "");

}  // namespace modelhub::testing

#endif  // MODELHUB_TESTS_TOOLS_MODELHUB_COMMAND_H_
