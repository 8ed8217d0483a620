// Downloads one checkpoint repeatedly into fresh caches and prints the rate:
// the Hub path (hg://, listing + HEAD + verified blob) or a plain URL, SHA-256
// computed while receiving, fsync and rename included. Run by
// bench/compare_download.sh against the loopback fake Hub, beside curl.
//
//   download_bench URI --reps N --cache DIR

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "runtime/hub/checkpoint_fetch.h"

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: download_bench URI [--reps N] [--cache DIR]\n");
    return 2;
  }
  const std::string uri = argv[1];
  int reps = 3;
  std::string cache = "/tmp/modelhub-download-bench";
  for (int i = 2; i + 1 < argc; i += 2) {
    const std::string flag = argv[i];
    if (flag == "--reps") reps = std::atoi(argv[i + 1]);
    if (flag == "--cache") cache = argv[i + 1];
  }
  setenv("HF_HUB_CACHE", (cache + "/hf").c_str(), 1);
  setenv("MODELHUB_CACHE_DIR", (cache + "/modelhub").c_str(), 1);
  double best = 0;
  for (int rep = 0; rep < reps; ++rep) {
    std::filesystem::remove_all(cache);
    const auto start = std::chrono::steady_clock::now();
    const modelhub::FetchReport report =
        modelhub::FetchCheckpoint(uri, std::nullopt, {}, modelhub::FetchOptions{});
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    const double rate = report.bytes_received / seconds / 1e9;
    best = std::max(best, rate);
    std::printf("rep %d: %.3f GB in %.3f s = %.2f GB/s\n", rep, report.bytes_received / 1e9,
                seconds, rate);
  }
  std::filesystem::remove_all(cache);
  std::printf("best %.2f GB/s\n", best);
  return 0;
}
