#ifndef MODELHUB_RUNTIME_DISTRIBUTED_LOCAL_LAUNCHER_H_
#define MODELHUB_RUNTIME_DISTRIBUTED_LOCAL_LAUNCHER_H_

// A launcher of ranks on this machine, as `torchrun --standalone` launches
// them: each rank is a process with torchrun's environment, and the launcher
// hosts the store as torchrun's agent does (TORCHELASTIC_USE_AGENT_STORE), on
// a port the kernel picks (so launches never collide on a port).

#include <chrono>
#include <map>
#include <string>
#include <vector>

namespace modelhub {

// What to launch.
struct LocalLaunch {
  // The program and its arguments, run once per rank.
  std::vector<std::string> argv;
  int nproc = 1;
  // Variables to set in every rank, and in rank r only (these win).
  std::map<std::string, std::string> env;
  std::vector<std::map<std::string, std::string>> rank_env;
  // When not empty, rank r's stdout and stderr go to <log_dir>/rank_<r>.log
  // (else they are this process's).
  std::string log_dir;
  // Once a rank failed, how long the others get to exit on their own before
  // they are killed (SIGTERM, then SIGKILL 5 s later).
  std::chrono::milliseconds grace = std::chrono::seconds(60);
};

// How one rank ended.
struct RankExit {
  int pid = 0;
  int status = 0;  // exit status, or 128 + signal
  bool killed_by_launcher = false;
};

// Runs `launch` and waits for every rank. Prints one line to stderr for each
// rank that failed on its own ("modelhub: rank 1 (pid 123) was killed by
// signal 9"). Throws GangError when the store cannot be hosted or a rank
// cannot be started.
std::vector<RankExit> LaunchLocalRanks(const LocalLaunch& launch);

// The exit status a launch reports: 0 when every rank exited 0, else the
// status of the first rank (in rank order) that failed on its own.
int LaunchStatus(const std::vector<RankExit>& exits);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DISTRIBUTED_LOCAL_LAUNCHER_H_
