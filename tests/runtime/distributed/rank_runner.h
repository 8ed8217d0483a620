#ifndef MODELHUB_TESTS_RUNTIME_DISTRIBUTED_RANK_RUNNER_H_
#define MODELHUB_TESTS_RUNTIME_DISTRIBUTED_RANK_RUNNER_H_

// Multi-process tests: a test runs its own body as N ranks, each a copy of
// the test binary started by modelhub's local launcher with only that test
// selected. In the parent, InRank() is false and RunAsRanks launches; in a
// rank, InRank() is true and the body runs there (its gtest failures make the
// rank exit non-zero).

#include <map>
#include <string>
#include <vector>

#include "runtime/distributed/local_launcher.h"

namespace modelhub::testing {

// Whether this process is a rank launched by RunAsRanks.
bool InRank();

// How each rank of a RunAsRanks ended, and what it printed.
struct RankResults {
  std::vector<RankExit> exits;
  std::vector<std::string> logs;

  // Every rank's log, for failure messages.
  std::string AllLogs() const;
};

// Runs the current test as `nproc` ranks (each with torchrun's environment,
// plus `env`, plus `rank_env[r]` in rank r) and waits for them.
RankResults RunAsRanks(int nproc, const std::map<std::string, std::string>& env = {},
                       const std::vector<std::map<std::string, std::string>>& rank_env = {});

}  // namespace modelhub::testing

#endif  // MODELHUB_TESTS_RUNTIME_DISTRIBUTED_RANK_RUNNER_H_
