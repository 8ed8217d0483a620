#include "runtime/core/progress_bar.h"

#include <unistd.h>

#include <cstdio>
#include <utility>

namespace modelhub {

ProgressBar::ProgressBar(std::string label, uint64_t total_bytes, bool requested)
    : label_(std::move(label)),
      total_(total_bytes),
      enabled_(requested && isatty(STDERR_FILENO) == 1),
      start_(std::chrono::steady_clock::now()),
      last_draw_(start_) {}

ProgressBar::~ProgressBar() {
  if (!enabled_) return;
  Draw();
  std::fputc('\n', stderr);
}

void ProgressBar::Advance(uint64_t bytes) {
  done_ += bytes;
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (now - last_draw_ < std::chrono::milliseconds(100) && done_ < total_) return;
  last_draw_ = now;
  Draw();
}

void ProgressBar::Draw() {
  constexpr int kWidth = 30;
  const double fraction = total_ == 0 ? 1.0 : static_cast<double>(done_) / total_;
  const int filled = static_cast<int>(fraction * kWidth);
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
  const double gb = done_ / 1e9;
  std::fprintf(stderr, "\r%s [%.*s%*s] %3d%% %.2f/%.2f GB %.2f GB/s", label_.c_str(), filled,
               "==============================", kWidth - filled, "",
               static_cast<int>(fraction * 100), gb, total_ / 1e9,
               seconds > 0 ? gb / seconds : 0.0);
  std::fflush(stderr);
}

}  // namespace modelhub
