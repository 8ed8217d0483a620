#ifndef MODELHUB_RUNTIME_CORE_PROGRESS_BAR_H_
#define MODELHUB_RUNTIME_CORE_PROGRESS_BAR_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace modelhub {

// A one-line byte progress bar on stderr, drawn only when stderr is a terminal
// and the caller asked for it; otherwise every call does nothing. Redraws at
// most ten times a second; the destructor ends the line.
class ProgressBar {
 public:
  ProgressBar(std::string label, uint64_t total_bytes, bool requested);
  ~ProgressBar();
  ProgressBar(const ProgressBar&) = delete;
  ProgressBar& operator=(const ProgressBar&) = delete;

  // Counts `bytes` more as done.
  void Advance(uint64_t bytes);

 private:
  void Draw();

  std::string label_;
  uint64_t total_;
  uint64_t done_ = 0;
  bool enabled_;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_CORE_PROGRESS_BAR_H_
