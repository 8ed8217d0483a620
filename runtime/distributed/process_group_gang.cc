#include "runtime/distributed/process_group_gang.h"

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>
#include <signal.h>
#include <torch/version.h>
#include <unistd.h>

#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <torch/csrc/distributed/c10d/PrefixStore.hpp>
#include <torch/csrc/distributed/c10d/TCPStore.hpp>
#include <vector>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "runtime/core/environment.h"
#include "runtime/core/errors.h"

#ifdef USE_C10D_GLOO
#include <torch/csrc/distributed/c10d/ProcessGroupGloo.hpp>
#endif
#ifdef USE_C10D_NCCL
#include <c10/cuda/CUDAFunctions.h>

#include <torch/csrc/distributed/c10d/ProcessGroupNCCL.hpp>
#endif

namespace modelhub {
namespace {

// The collective engine: c10d's Backend in LibTorch 2, its ProcessGroup in 1.x.
#if TORCH_VERSION_MAJOR >= 2
using Engine = c10d::Backend;
#else
using Engine = c10d::ProcessGroup;
#endif

// The first line of `text`.
std::string FirstLine(const std::string& text) { return text.substr(0, text.find('\n')); }

// A member of the launch: where it runs, to tell which one was lost.
struct Member {
  std::string host;
  int64_t pid = 0;
};

std::string HostName() {
  char name[256] = {};
  ::gethostname(name, sizeof(name) - 1);
  return name;
}

// Whether process `pid` of this host has exited (gone, or a zombie).
bool Exited(int64_t pid) {
  if (::kill(static_cast<pid_t>(pid), 0) != 0) return errno == ESRCH;
  std::ifstream stat(absl::StrCat("/proc/", pid, "/stat"));
  std::string line;
  std::getline(stat, line);
  const size_t paren = line.rfind(')');
  return paren != std::string::npos && paren + 2 < line.size() && line[paren + 2] == 'Z';
}

// A gang over a c10d process group.
class ProcessGroupGang : public Gang {
 public:
  ProcessGroupGang(std::string name, c10::intrusive_ptr<Engine> engine, int rank, int size,
                   c10::Device device, std::vector<int> root_ranks,
                   std::shared_ptr<const std::vector<Member>> members)
      : name_(std::move(name)),
        engine_(std::move(engine)),
        rank_(rank),
        size_(size),
        device_(device),
        root_ranks_(std::move(root_ranks)),
        members_(std::move(members)) {}

  int rank() const override { return rank_; }
  int size() const override { return size_; }
  c10::Device device() const override { return device_; }

 protected:
  void DoAllReduceSum(at::Tensor& tensor) override {
    Run("all-reduce", [&] {
      std::vector<at::Tensor> tensors{tensor};
      engine_->allreduce(tensors)->wait();
    });
  }

  std::vector<at::Tensor> DoAllGather(const at::Tensor& tensor) override {
    std::vector<std::vector<at::Tensor>> outputs(1);
    // Normal tensors even under inference mode: the engine writes them from
    // its own thread, where inference tensors may not be written.
    c10::InferenceMode normal(false);
    for (int r = 0; r < size_; ++r) outputs[0].push_back(at::empty_like(tensor));
    Run("all-gather", [&] {
      std::vector<at::Tensor> inputs{tensor};
      engine_->allgather(outputs, inputs)->wait();
    });
    return outputs[0];
  }

  void DoBroadcast(at::Tensor& tensor, int root) override {
    Run("broadcast", [&] {
      std::vector<at::Tensor> tensors{tensor};
      c10d::BroadcastOptions options;
      options.rootRank = root;
      engine_->broadcast(tensors, options)->wait();
    });
  }

  void DoBarrier() override {
    Run("barrier", [&] { engine_->barrier()->wait(); });
  }

 private:
  template <typename F>
  void Run(const char* operation, F run) {
    try {
      run();
    } catch (const std::exception& e) {
      const int lost = LostRank();
      const std::string why = FirstLine(e.what());
      throw GangError(
          absl::StrCat(
              operation, " over the ", name_, " gang failed on rank ", root_ranks_[rank_], ": ",
              lost >= 0 ? absl::StrCat("rank ", lost, " (pid ", (*members_)[lost].pid, " on ",
                                       (*members_)[lost].host, ") exited (", why, ")")
                        : why),
          lost);
    }
  }

  // The root rank of a member of this gang on this host that has exited, or
  // -1. The failure of a collective is seen as soon as a peer's sockets close,
  // which comes before the peer is gone: look for up to two seconds.
  int LostRank() const {
    const std::string host = HostName();
    for (int attempt = 0; attempt < 200; ++attempt) {
      for (int root : root_ranks_) {
        const Member& member = (*members_)[root];
        if (member.host == host && member.pid > 0 && member.pid != ::getpid() &&
            Exited(member.pid)) {
          return root;
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    return -1;
  }

  std::string name_;
  c10::intrusive_ptr<Engine> engine_;
  int rank_;
  int size_;
  c10::Device device_;
  std::vector<int> root_ranks_;                         // of each member, by gang rank
  std::shared_ptr<const std::vector<Member>> members_;  // of the launch, by root rank
};

// The store of the launch: the agent's, or a TCPStore rank 0 hosts.
c10::intrusive_ptr<c10d::Store> ConnectStore(const GangEnvironment& env,
                                             std::chrono::milliseconds timeout) {
  c10d::TCPStoreOptions options;
  options.port = static_cast<uint16_t>(env.master_port);
  options.timeout = timeout;
  options.isServer = !env.use_agent_store && env.rank == 0;
  // Every rank counts itself in; rank 0's store waits for all of them.
  options.numWorkers = env.world_size;
  const std::string where = absl::StrCat(env.master_addr, ":", env.master_port);
  try {
    auto store = c10::make_intrusive<c10d::TCPStore>(env.master_addr, options);
    if (!env.use_agent_store) return store;
    return c10::make_intrusive<c10d::PrefixStore>(
        absl::StrCat("/worker/attempt_", env.restart_count), store);
  } catch (const std::exception& e) {
    const std::string why = FirstLine(e.what());
    if (options.isServer && why.find("in use") != std::string::npos) {
      throw GangError(absl::StrCat("rank 0 cannot host the store on ", where,
                                   ": the port is already in use (set MASTER_PORT to a free one)"),
                      0);
    }
    if (options.isServer) {
      throw GangError(
          absl::StrCat("rank 0 hosts the store on ", where, " but not all ", env.world_size,
                       " ranks (WORLD_SIZE) joined within ", timeout.count() / 1000, " s: ", why),
          0);
    }
    throw GangError(absl::StrCat("rank ", env.rank, " cannot reach the store at ", where,
                                 " within ", timeout.count() / 1000, " s: ", why),
                    env.rank);
  }
}

// Creates a process group of `size` members (this one `rank`) over `store`.
c10::intrusive_ptr<Engine> NewEngine(const c10::intrusive_ptr<c10d::Store>& store, int rank,
                                     int size, const GangEnvironment& env,
                                     const GangOptions& options) {
  if (options.device_type == c10::kCUDA) {
#ifdef USE_C10D_NCCL
    auto nccl = c10d::ProcessGroupNCCL::Options::create();
    nccl->timeout = options.timeout;
    return c10::make_intrusive<c10d::ProcessGroupNCCL>(store, rank, size, nccl);
#else
    throw GangError(
        "this LibTorch has no NCCL process group (build against a CUDA LibTorch with "
        "LIBTORCH_HOME to run on GPUs)");
#endif
  }
  if (options.device_type != c10::kCPU) {
    throw GangError(absl::StrCat("no process group runs on ",
                                 c10::DeviceTypeName(options.device_type, true),
                                 " devices (Gloo runs on CPU, NCCL on CUDA)"));
  }
#ifdef USE_C10D_GLOO
  auto gloo = c10d::ProcessGroupGloo::Options::create(options.timeout);
  const std::string interface = GetEnv("GLOO_SOCKET_IFNAME");
  const std::string& host = env.master_addr;
  if (!interface.empty()) {
    for (absl::string_view name : absl::StrSplit(interface, ',')) {
      gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForInterface(std::string(name)));
    }
  } else if (host == "localhost" || host == "::1" || host.rfind("127.", 0) == 0) {
    gloo->devices.push_back(c10d::ProcessGroupGloo::createDeviceForHostname("127.0.0.1"));
  } else {
    gloo->devices.push_back(c10d::ProcessGroupGloo::createDefaultDevice());
  }
  return c10::make_intrusive<c10d::ProcessGroupGloo>(store, rank, size, gloo);
#else
  throw GangError(
      "this LibTorch build of modelhub has no Gloo process group (install "
      "libgloo-dev and rebuild)");
#endif
}

// Every member's host and pid, exchanged through `store`.
std::shared_ptr<const std::vector<Member>> ExchangeMembers(c10d::Store& store,
                                                           const GangEnvironment& env) {
  const std::string mine = absl::StrCat(HostName(), " ", ::getpid());
  store.set(absl::StrCat("modelhub/member/", env.rank),
            std::vector<uint8_t>(mine.begin(), mine.end()));
  auto members = std::make_shared<std::vector<Member>>(env.world_size);
  for (int r = 0; r < env.world_size; ++r) {
    const std::vector<uint8_t> value = store.get(absl::StrCat("modelhub/member/", r));
    const std::string text(value.begin(), value.end());
    const size_t space = text.rfind(' ');
    (*members)[r].host = text.substr(0, space);
    if (space == std::string::npos ||
        !absl::SimpleAtoi(text.substr(space + 1), &(*members)[r].pid)) {
      (*members)[r].pid = 0;  // unknown: never named as lost
    }
  }
  return members;
}

}  // namespace

std::chrono::milliseconds GangTimeoutFromEnvironment() {
  const std::string text = GetEnv("MODELHUB_GANG_TIMEOUT");
  if (text.empty()) return std::chrono::seconds(600);
  double seconds = 0;
  if (!absl::SimpleAtod(text, &seconds) || !(seconds > 0) || seconds > 1e7) {
    throw GangError(
        absl::StrCat("MODELHUB_GANG_TIMEOUT is '", text, "', not a positive number of seconds"));
  }
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

Gangs SetupGangs(const GangEnvironment& env, const GangOptions& options) {
  const int world = env.world_size;
  const int tp = options.tp_size == 0 ? world : options.tp_size;
  if (tp < 1 || world % tp != 0) {
    throw GangError(absl::StrCat("the tensor-parallel size ", tp, " does not divide the ", world,
                                 " processes (WORLD_SIZE)"));
  }
  const c10::Device device =
      options.device_type == c10::kCUDA
          ? c10::Device(c10::kCUDA, static_cast<c10::DeviceIndex>(env.local_rank))
          : c10::Device(options.device_type);
#ifdef USE_C10D_NCCL
  if (device.is_cuda()) c10::cuda::set_device(device.index());
#endif
  c10::intrusive_ptr<c10d::Store> store = ConnectStore(env, options.timeout);
  std::shared_ptr<const std::vector<Member>> members;
  try {
    members = ExchangeMembers(*store, env);
  } catch (const std::exception& e) {
    throw GangError(absl::StrCat("rank ", env.rank,
                                 " could not exchange its address through the "
                                 "store within ",
                                 options.timeout.count() / 1000, " s: ", FirstLine(e.what())),
                    env.rank);
  }
  // A gang of the root ranks `ranks` (this process among them), named `name`.
  auto make = [&](const std::string& name, const std::vector<int>& ranks) -> std::shared_ptr<Gang> {
    if (ranks.size() == 1) return std::make_shared<FakeGang>(device);
    int rank = 0;
    while (ranks[rank] != env.rank) ++rank;
    auto prefixed = c10::make_intrusive<c10d::PrefixStore>(
        name == "root" ? "default_pg" : absl::StrCat("modelhub/", name, "/", ranks.front()), store);
    try {
      return std::make_shared<ProcessGroupGang>(
          name, NewEngine(prefixed, rank, static_cast<int>(ranks.size()), env, options), rank,
          static_cast<int>(ranks.size()), device, ranks, members);
    } catch (const GangError&) {
      throw;
    } catch (const std::exception& e) {
      throw GangError(absl::StrCat("rank ", env.rank, " could not form the ", name, " gang of ",
                                   ranks.size(), " ranks within ", options.timeout.count() / 1000,
                                   " s: ", FirstLine(e.what())),
                      env.rank);
    }
  };
  std::vector<int> all(world), tp_ranks, dp_ranks;
  for (int r = 0; r < world; ++r) all[r] = r;
  for (int r = env.rank / tp * tp; r < env.rank / tp * tp + tp; ++r) tp_ranks.push_back(r);
  for (int r = env.rank % tp; r < world; r += tp) dp_ranks.push_back(r);
  Gangs gangs;
  gangs.root = make("root", all);
  gangs.tp = tp == world ? gangs.root : make("tp", tp_ranks);
  gangs.dp = tp == 1 ? gangs.root : make("dp", dp_ranks);
  return gangs;
}

Gangs SetupGangsFromEnvironment(const GangOptions& options) {
  std::optional<GangEnvironment> env = ReadGangEnvironment();
  if (!env) return Gangs::Single(c10::Device(options.device_type));
  return SetupGangs(*env, options);
}

}  // namespace modelhub
