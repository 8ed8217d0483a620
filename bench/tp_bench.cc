// Tensor-parallel loading and forward, per rank: one line per rank with its
// load time, peak resident memory growth against the bytes of its shards,
// checkpoint bytes it read against the checkpoint's, and forward tokens/s.
// bench/compare_tensor_parallel.sh runs it at tp = 1, 2 and 4 side by side.
//
//   tp_bench --dir DIR [--family qwen] [--arch qwen25_0.5b] [--nproc N]
//            [--tokens 128] [--reps 3]
//
// DIR holds a checkpoint of the arch (bench/load_bench --write-only writes
// one). With --nproc N > 1 it launches N ranks of itself (modelhub's local
// launcher, torchrun's environment); under torchrun, leave --nproc out.

#include <ATen/ATen.h>
#include <c10/core/InferenceMode.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "bench/proc_memory.h"
#include "runtime/distributed/local_launcher.h"
#include "runtime/distributed/process_group_gang.h"
#include "runtime/hub/checkpoint_loader.h"
#include "runtime/hub/model_family_registry.h"

namespace modelhub {
namespace {

using Clock = std::chrono::steady_clock;

double SecondsSince(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

int Rank(const std::string& dir, const std::string& family_name, const std::string& arch,
         int64_t tokens, int reps) {
  GangOptions gang_options;
  gang_options.timeout = GangTimeoutFromEnvironment();
  ModelPlacement placement;
  placement.dtype = at::kFloat;
  placement.gangs = SetupGangsFromEnvironment(gang_options);
  const ModelFamily& family = GetModelFamily(family_name);
  std::unique_ptr<AnyConfig> config = family.GetArchConfig(arch);
  LoadOptions options;
  options.progress = false;
  LoadStats stats;
  placement.gangs.root->Barrier();
  bench::ResetPeak();
  const uint64_t before = bench::ProcBytes("VmRSS");
  const Clock::time_point start = Clock::now();
  std::shared_ptr<DecoderModel> model =
      LoadCheckpoint(family, *config, dir, placement, options, &stats);
  const double load_seconds = SecondsSince(start);
  const uint64_t peak = bench::ProcBytes("VmHWM") - before;
  uint64_t shard_bytes = 0;
  for (const at::Tensor& parameter : model->parameters()) shard_bytes += parameter.nbytes();

  c10::InferenceMode inference;
  const at::Tensor ids =
      at::randint(0, model->blueprint().vocab_size, {1, tokens}, at::detail::createCPUGenerator(1),
                  at::TensorOptions().dtype(at::kLong));
  model->forward(ids);  // warm-up
  std::vector<double> times;
  for (int r = 0; r < reps; ++r) {
    placement.gangs.root->Barrier();
    const Clock::time_point begin = Clock::now();
    model->forward(ids);
    times.push_back(SecondsSince(begin));
  }
  std::sort(times.begin(), times.end());
  const TensorParallelRank tp = model->tp_rank();
  char line[256];
  std::snprintf(line, sizeof(line), "RANK\t%lld\t%lld\t%.3f\t%.1f\t%.1f\t%.1f\t%.1f\t%.1f\n",
                static_cast<long long>(tp.rank), static_cast<long long>(tp.size), load_seconds,
                peak / 1e6, shard_bytes / 1e6, stats.bytes / 1e6, stats.checkpoint_bytes / 1e6,
                static_cast<double>(tokens) / times[times.size() / 2]);
  std::cout << line << std::flush;
  return 0;
}

int Main(int argc, char** argv) {
  std::string dir, family = "qwen", arch = "qwen25_0.5b";
  int nproc = 1, reps = 3;
  int64_t tokens = 128;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string flag = argv[i], value = argv[i + 1];
    if (flag == "--dir") {
      dir = value;
    } else if (flag == "--family") {
      family = value;
    } else if (flag == "--arch") {
      arch = value;
    } else if (flag == "--nproc") {
      nproc = std::stoi(value);
    } else if (flag == "--tokens") {
      tokens = std::stoll(value);
    } else if (flag == "--reps") {
      reps = std::stoi(value);
    } else {
      std::cerr << "tp_bench: unknown flag " << flag << "\n";
      return 2;
    }
  }
  if (dir.empty()) {
    std::cerr << "usage: tp_bench --dir DIR [--family F] [--arch A] [--nproc N] [--tokens T] "
                 "[--reps R]\n";
    return 2;
  }
  if (nproc > 1) {
    LocalLaunch launch;
    launch.nproc = nproc;
    launch.argv = {std::filesystem::read_symlink("/proc/self/exe").string(),
                   "--dir",
                   dir,
                   "--family",
                   family,
                   "--arch",
                   arch,
                   "--tokens",
                   std::to_string(tokens),
                   "--reps",
                   std::to_string(reps)};
    return LaunchStatus(LaunchLocalRanks(launch));
  }
  return Rank(dir, family, arch, tokens, reps);
}

}  // namespace
}  // namespace modelhub

int main(int argc, char** argv) {
  try {
    return modelhub::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "tp_bench: " << e.what() << "\n";
    return 1;
  }
}
