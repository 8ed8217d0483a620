#ifndef MODELHUB_RUNTIME_DISTRIBUTED_GANG_ENVIRONMENT_H_
#define MODELHUB_RUNTIME_DISTRIBUTED_GANG_ENVIRONMENT_H_

// Where a process stands in a multi-process run, as launchers tell it through
// the environment: torchrun's variables, which Slurm, MPI and Kubernetes
// wrappers export too.

#include <optional>
#include <string>

namespace modelhub {

// A process's place in a launch.
struct GangEnvironment {
  int rank = 0;              // RANK
  int world_size = 1;        // WORLD_SIZE
  int local_rank = 0;        // LOCAL_RANK (default: RANK)
  int local_world_size = 1;  // LOCAL_WORLD_SIZE (default: WORLD_SIZE)
  std::string master_addr;   // MASTER_ADDR: the host of the store
  int master_port = 0;       // MASTER_PORT
  // TORCHELASTIC_USE_AGENT_STORE=True: the launcher's agent hosts the store
  // and every rank is its client, under /worker/attempt_<restart_count>
  // (TORCHELASTIC_RESTART_COUNT); otherwise rank 0 hosts it.
  bool use_agent_store = false;
  int restart_count = 0;
};

// The launch this process is part of, read from the environment; nullopt
// when neither RANK nor WORLD_SIZE is set (a plain, single-process run).
// Throws GangError with one line naming the variable when one is missing
// (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT) or invalid (not a number, a
// rank outside [0, WORLD_SIZE), a port outside 1..65535).
std::optional<GangEnvironment> ReadGangEnvironment();

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DISTRIBUTED_GANG_ENVIRONMENT_H_
