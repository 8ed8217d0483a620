#include "tests/runtime/distributed/rank_runner.h"

#include <gtest/gtest.h>
#include <stdlib.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "absl/strings/str_cat.h"

namespace modelhub::testing {

bool InRank() {
  const char* value = std::getenv("MODELHUB_TEST_IN_RANK");
  return value != nullptr && std::string(value) == "1";
}

std::string RankResults::AllLogs() const {
  std::string text;
  for (size_t r = 0; r < logs.size(); ++r) {
    absl::StrAppend(&text, "---- rank ", r, " (status ", exits[r].status, ")\n", logs[r]);
  }
  return text;
}

RankResults RunAsRanks(int nproc, const std::map<std::string, std::string>& env,
                       const std::vector<std::map<std::string, std::string>>& rank_env) {
  const ::testing::TestInfo* test = ::testing::UnitTest::GetInstance()->current_test_info();
  const char* tmp = std::getenv("TEST_TMPDIR");
  std::string dir = absl::StrCat(tmp != nullptr ? tmp : "/tmp", "/ranks_XXXXXX");
  if (::mkdtemp(dir.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  LocalLaunch launch;
  launch.argv = {std::filesystem::read_symlink("/proc/self/exe").string(),
                 absl::StrCat("--gtest_filter=", test->test_suite_name(), ".", test->name()),
                 absl::StrCat("--gtest_output=xml:", dir, "/")};
  launch.nproc = nproc;
  launch.env = env;
  launch.env["MODELHUB_TEST_IN_RANK"] = "1";
  launch.rank_env = rank_env;
  launch.log_dir = dir;
  RankResults results;
  results.exits = LaunchLocalRanks(launch);
  for (int r = 0; r < nproc; ++r) {
    std::ifstream in(absl::StrCat(dir, "/rank_", r, ".log"));
    std::stringstream text;
    text << in.rdbuf();
    results.logs.push_back(text.str());
  }
  return results;
}

}  // namespace modelhub::testing
