#ifndef MODELHUB_RUNTIME_DISTRIBUTED_PROCESS_GROUP_GANG_H_
#define MODELHUB_RUNTIME_DISTRIBUTED_PROCESS_GROUP_GANG_H_

// Gangs over LibTorch's c10d: a TCPStore for rendezvous (hosted by rank 0, or
// the launcher's agent store) and process groups for collectives: Gloo on CPU,
// NCCL on CUDA where LibTorch was built with it (one GPU per local rank; this
// path compiles against a CUDA LibTorch but is untested here: these machines
// have no GPU).

#include <c10/core/Device.h>

#include <chrono>

#include "runtime/distributed/gang.h"
#include "runtime/distributed/gang_environment.h"

namespace modelhub {

// How the gangs of a launch are formed.
struct GangOptions {
  // Processes per tensor-parallel gang; 0: all of them. Must divide the world
  // size.
  int tp_size = 0;
  // How long store operations and collectives wait for other ranks before
  // failing (a rank that exited is noticed at once).
  std::chrono::milliseconds timeout = std::chrono::minutes(10);
  // CPU: Gloo. CUDA: NCCL on cuda:LOCAL_RANK.
  c10::DeviceType device_type = c10::kCPU;
};

// The timeout of MODELHUB_GANG_TIMEOUT (seconds), else 600 s. Throws GangError
// naming the variable when it is not a positive number.
std::chrono::milliseconds GangTimeoutFromEnvironment();

// Forms the gangs of the process at `env` in the launch: connects to (or
// hosts) the store, then creates the root, tensor-parallel and data-parallel
// process groups; every rank of the launch must call it with the same options.
// Throws GangError with one line for each way this fails: MASTER_PORT already
// in use on rank 0, a store that cannot be reached, ranks missing when the
// timeout passes (a wrong WORLD_SIZE), a tp_size that does not divide the
// world size, a device type this LibTorch has no process group for.
Gangs SetupGangs(const GangEnvironment& env, const GangOptions& options);

// SetupGangs for the launch the environment describes (ReadGangEnvironment),
// or Gangs::Single on the options' device type when there is none.
Gangs SetupGangsFromEnvironment(const GangOptions& options);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DISTRIBUTED_PROCESS_GROUP_GANG_H_
