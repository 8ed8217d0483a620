#include "runtime/distributed/local_launcher.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <optional>
#include <thread>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>

#include "absl/strings/str_cat.h"
#include "runtime/core/environment.h"
#include "runtime/core/errors.h"

extern char** environ;

namespace modelhub {
namespace {

// This process's environment with `overrides` applied, as "NAME=value".
std::vector<std::string> Environment(const std::map<std::string, std::string>& overrides) {
  std::map<std::string, std::string> all;
  for (char** entry = environ; *entry != nullptr; ++entry) {
    const std::string text = *entry;
    const size_t equals = text.find('=');
    if (equals != std::string::npos) all[text.substr(0, equals)] = text.substr(equals + 1);
  }
  for (const auto& [name, value] : overrides) all[name] = value;
  std::vector<std::string> lines;
  for (const auto& [name, value] : all) lines.push_back(absl::StrCat(name, "=", value));
  return lines;
}

// Starts rank `rank` of `launch`, whose store listens on `port`.
int Spawn(const LocalLaunch& launch, int rank, uint16_t port) {
  std::map<std::string, std::string> env = launch.env;
  env["RANK"] = absl::StrCat(rank);
  env["LOCAL_RANK"] = absl::StrCat(rank);
  env["WORLD_SIZE"] = absl::StrCat(launch.nproc);
  env["LOCAL_WORLD_SIZE"] = absl::StrCat(launch.nproc);
  env["GROUP_RANK"] = "0";
  env["MASTER_ADDR"] = "127.0.0.1";
  env["MASTER_PORT"] = absl::StrCat(port);
  env["TORCHELASTIC_USE_AGENT_STORE"] = "True";
  env["TORCHELASTIC_RESTART_COUNT"] = "0";
  // As torchrun: one thread per rank unless told otherwise.
  if (GetEnv("OMP_NUM_THREADS").empty() && !launch.env.count("OMP_NUM_THREADS")) {
    env["OMP_NUM_THREADS"] = "1";
  }
  if (rank < static_cast<int>(launch.rank_env.size())) {
    for (const auto& [name, value] : launch.rank_env[rank]) env[name] = value;
  }
  std::vector<std::string> lines = Environment(env);
  std::vector<char*> envp, argv;
  for (std::string& line : lines) envp.push_back(line.data());
  envp.push_back(nullptr);
  std::vector<std::string> args = launch.argv;
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  const std::string log = absl::StrCat(launch.log_dir, "/rank_", rank, ".log");
  if (!launch.log_dir.empty()) {
    posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&actions, 1, 2);
  }
  pid_t pid = 0;
  const int error = ::posix_spawnp(&pid, argv[0], &actions, nullptr, argv.data(), envp.data());
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    throw GangError(
        absl::StrCat("cannot start rank ", rank, " (", launch.argv[0], "): ", std::strerror(error)),
        rank);
  }
  return pid;
}

std::string Describe(int status) {
  if (WIFSIGNALED(status)) {
    return absl::StrCat("was killed by signal ", WTERMSIG(status), " (",
                        ::strsignal(WTERMSIG(status)), ")");
  }
  return absl::StrCat("exited with status ", WEXITSTATUS(status));
}

}  // namespace

std::vector<RankExit> LaunchLocalRanks(const LocalLaunch& launch) {
  if (launch.nproc < 1 || launch.argv.empty()) throw GangError("nothing to launch");
  c10d::TCPStoreOptions options;
  options.port = 0;
  options.isServer = true;
  options.waitWorkers = false;
  c10::intrusive_ptr<c10d::TCPStore> store;
  try {
    store = c10::make_intrusive<c10d::TCPStore>("127.0.0.1", options);
  } catch (const std::exception& e) {
    throw GangError(absl::StrCat("cannot host the store of the ranks on 127.0.0.1: ", e.what()));
  }
  std::vector<RankExit> exits(launch.nproc);
  std::vector<bool> running(launch.nproc, false);
  for (int rank = 0; rank < launch.nproc; ++rank) {
    try {
      exits[rank].pid = Spawn(launch, rank, store->getPort());
      running[rank] = true;
    } catch (const GangError&) {
      for (int r = 0; r < rank; ++r) ::kill(exits[r].pid, SIGKILL);
      for (int r = 0; r < rank; ++r) ::waitpid(exits[r].pid, nullptr, 0);
      throw;
    }
  }
  using Clock = std::chrono::steady_clock;
  std::optional<Clock::time_point> failed_at;
  int left = launch.nproc;
  int signal_sent = 0;  // 0, SIGTERM, SIGKILL
  while (left > 0) {
    bool reaped = false;
    for (int rank = 0; rank < launch.nproc; ++rank) {
      if (!running[rank]) continue;
      int status = 0;
      if (::waitpid(exits[rank].pid, &status, WNOHANG) != exits[rank].pid) continue;
      running[rank] = false;
      --left;
      reaped = true;
      exits[rank].status = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
      exits[rank].killed_by_launcher = signal_sent != 0;
      if (exits[rank].status != 0 && signal_sent == 0) {
        std::cerr << "modelhub: rank " << rank << " (pid " << exits[rank].pid << ") "
                  << Describe(status) << std::endl;
        if (!failed_at) failed_at = Clock::now();
      }
    }
    if (left == 0) break;
    if (failed_at) {
      const auto since = Clock::now() - *failed_at;
      const int signal = since > launch.grace + std::chrono::seconds(5) ? SIGKILL
                         : since > launch.grace                         ? SIGTERM
                                                                        : 0;
      if (signal != 0 && signal != signal_sent) {
        signal_sent = signal;
        for (int rank = 0; rank < launch.nproc; ++rank) {
          if (running[rank]) ::kill(exits[rank].pid, signal);
        }
      }
    }
    if (!reaped) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return exits;
}

int LaunchStatus(const std::vector<RankExit>& exits) {
  for (const RankExit& exit : exits) {
    if (exit.status != 0 && !exit.killed_by_launcher) return exit.status;
  }
  for (const RankExit& exit : exits) {
    if (exit.status != 0) return exit.status;
  }
  return 0;
}

}  // namespace modelhub
