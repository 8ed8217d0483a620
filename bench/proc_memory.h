#ifndef MODELHUB_BENCH_PROC_MEMORY_H_
#define MODELHUB_BENCH_PROC_MEMORY_H_

// Resident memory of this process, from /proc/self, for the benchmarks.

#include <cstdint>

namespace modelhub::bench {

// A "Key:   123 kB" field of /proc/self/status (or another such file), in
// bytes ("VmRSS", "VmHWM"). Throws std::runtime_error when it is missing.
uint64_t ProcBytes(const char* key, const char* file = "/proc/self/status");

// Resets VmHWM to the current VmRSS (Linux 4.0+). Throws std::runtime_error
// when /proc/self/clear_refs cannot be written.
void ResetPeak();

}  // namespace modelhub::bench

#endif  // MODELHUB_BENCH_PROC_MEMORY_H_
