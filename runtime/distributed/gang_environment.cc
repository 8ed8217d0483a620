#include "runtime/distributed/gang_environment.h"

#include <cstdint>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/environment.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace {

constexpr const char* kLaunchers = "torchrun, srun or mpirun exporting torchrun's variables";

// The integer in variable `name`, at least `low` and at most `high`; `fallback`
// when unset and `fallback` is given.
int ReadInt(const char* name, int64_t low, int64_t high, std::optional<int> fallback = {}) {
  const std::string text = GetEnv(name);
  if (text.empty()) {
    if (fallback) return *fallback;
    throw GangError(absl::StrCat("the environment variable ", name,
                                 " is not set: a multi-process run is launched by ", kLaunchers));
  }
  int64_t value = 0;
  if (!absl::SimpleAtoi(text, &value) || value < low || value > high) {
    throw GangError(absl::StrCat("the environment variable ", name, " is '", text,
                                 "', not an integer in [", low, ", ", high, "]"));
  }
  return static_cast<int>(value);
}

}  // namespace

std::optional<GangEnvironment> ReadGangEnvironment() {
  if (GetEnv("RANK").empty() && GetEnv("WORLD_SIZE").empty()) return std::nullopt;
  GangEnvironment env;
  env.world_size = ReadInt("WORLD_SIZE", 1, 1 << 20);
  env.rank = ReadInt("RANK", 0, env.world_size - 1);
  env.local_world_size = ReadInt("LOCAL_WORLD_SIZE", 1, env.world_size, env.world_size);
  env.local_rank = ReadInt("LOCAL_RANK", 0, env.local_world_size - 1,
                           env.rank < env.local_world_size ? env.rank : 0);
  env.master_addr = GetEnv("MASTER_ADDR");
  if (env.master_addr.empty()) {
    throw GangError(
        absl::StrCat("the environment variable MASTER_ADDR is not set: a "
                     "multi-process run is launched by ",
                     kLaunchers));
  }
  env.master_port = ReadInt("MASTER_PORT", 1, 65535);
  env.use_agent_store = GetEnv("TORCHELASTIC_USE_AGENT_STORE") == "True";
  env.restart_count = ReadInt("TORCHELASTIC_RESTART_COUNT", 0, 1 << 20, 0);
  return env;
}

}  // namespace modelhub
