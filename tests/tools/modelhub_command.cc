#include "tests/tools/modelhub_command.h"

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>

namespace modelhub::testing {

std::string Slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

CommandResult RunCommand(const std::string& command) {
  const std::string dir = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";
  const std::string out = dir + "/out.txt", err = dir + "/err.txt";
  const int status = std::system(("{ " + command + "; } >" + out + " 2>" + err).c_str());
  CommandResult run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = Slurp(out);
  run.err = Slurp(err);
  return run;
}

CommandResult Modelhub(const std::string& args, const std::string& shell) {
  return RunCommand(shell +
                    " MODELHUB_ASSET_DIR=/nonexistent MODELHUB_USER_ASSET_DIR=/nonexistent "
                    "tools/cli/modelhub " +
                    args);
}

}  // namespace modelhub::testing
