#include "runtime/download/download_progress.h"

#include <unistd.h>

#include <cstdio>
#include <string>

namespace modelhub {
namespace {

using Clock = std::chrono::steady_clock;

double Seconds(Clock::time_point since) {
  return std::chrono::duration<double>(Clock::now() - since).count();
}

std::string Bar(uint64_t done, uint64_t total, int width) {
  const int filled = total == 0 ? 0 : static_cast<int>(width * static_cast<double>(done) / total);
  std::string bar(static_cast<size_t>(std::min(filled, width)), '#');
  bar.resize(static_cast<size_t>(width), '.');
  return bar;
}

// "name  [####....]  1.2 GB / 2.0 GB  450 MB/s  ETA 2s"
std::string BarLine(const std::string& name, uint64_t done, uint64_t total, double rate) {
  std::string line = name.size() > 32 ? "..." + name.substr(name.size() - 29) : name;
  line.resize(32, ' ');
  line += " [" + Bar(done, total, 24) + "] " + FormatBytes(done);
  if (total > 0) line += " / " + FormatBytes(total);
  if (rate > 0) {
    line += "  " + FormatBytes(static_cast<uint64_t>(rate)) + "/s";
    if (total > done)
      line += "  ETA " + std::to_string(static_cast<int>((total - done) / rate)) + "s";
  }
  return line;
}

}  // namespace

std::string FormatBytes(uint64_t bytes) {
  static const char* const kUnits[] = {"B", "kB", "MB", "GB", "TB", "PB"};
  double value = static_cast<double>(bytes);
  int unit = 0;
  // 999.5 and up would print as "1000": that is the next unit's "1.00".
  while (value >= 999.5 && unit < 5) {
    value /= 1000;
    ++unit;
  }
  char text[32];
  if (unit == 0) {
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  } else {
    std::snprintf(text, sizeof text,
                  value < 9.995   ? "%.2f %s"
                  : value < 99.95 ? "%.1f %s"
                                  : "%.0f %s",
                  value, kUnits[unit]);
  }
  return text;
}

ProgressStyle ChooseProgressStyle(bool show, bool quiet) {
  if (show && !quiet && ::isatty(STDERR_FILENO)) return ProgressStyle::kBars;
  return show || quiet ? ProgressStyle::kLines : ProgressStyle::kSilent;
}

DownloadProgress::DownloadProgress(ProgressStyle style, uint64_t total_bytes)
    : style_(style), total_(total_bytes), start_(Clock::now()) {}

DownloadProgress::~DownloadProgress() { EndBars(); }

void DownloadProgress::StartFile(const std::string& name, uint64_t size, uint64_t resumed) {
  file_ = name;
  file_size_ = size;
  file_done_ = resumed;
  file_resumed_ = resumed;
  file_received_ = 0;
  total_done_ += resumed;
  file_start_ = Clock::now();
  Draw(true);
}

void DownloadProgress::Advance(uint64_t bytes) {
  file_done_ += bytes;
  total_done_ += bytes;
  file_received_ += bytes;
  received_ += bytes;
  Draw(false);
}

void DownloadProgress::Restart() {
  total_done_ -= std::min(total_done_, file_done_);
  file_done_ = 0;
  file_resumed_ = 0;
  Draw(true);
}

void DownloadProgress::FinishFile(uint64_t received) {
  if (style_ == ProgressStyle::kSilent) return;
  const double seconds = Seconds(file_start_);
  std::string line = "downloaded " + file_ + " (" + FormatBytes(file_done_);
  if (seconds > 0 && received > 0) {
    line += ", " + FormatBytes(static_cast<uint64_t>(received / seconds)) + "/s";
  }
  if (file_resumed_ > 0) line += ", resumed at " + FormatBytes(file_resumed_);
  line += ")";
  if (style_ == ProgressStyle::kBars && bars_drawn_) {
    // The finished file's line stays; the total bar moves below it.
    std::fprintf(stderr, "\r\033[2K%s\n\033[2K", line.c_str());
    bars_drawn_ = false;
    Draw(true);
  } else {
    std::fprintf(stderr, "modelhub: %s\n", line.c_str());
  }
  file_.clear();
}

void DownloadProgress::Cached(const std::string& name, uint64_t size) {
  total_done_ += size;
  if (style_ == ProgressStyle::kSilent) return;
  if (style_ == ProgressStyle::kBars && bars_drawn_) {
    std::fprintf(stderr, "\r\033[2K%s (%s, in the cache)\n", name.c_str(),
                 FormatBytes(size).c_str());
    bars_drawn_ = false;
    Draw(true);
  } else {
    std::fprintf(stderr, "modelhub: %s (%s) is in the cache\n", name.c_str(),
                 FormatBytes(size).c_str());
  }
}

void DownloadProgress::Waiting(const std::string& name) {
  if (style_ == ProgressStyle::kSilent) return;
  EndBars();
  std::fprintf(stderr, "modelhub: waiting for another process downloading %s\n", name.c_str());
}

void DownloadProgress::Draw(bool force) {
  if (style_ != ProgressStyle::kBars) return;
  const Clock::time_point now = Clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double file_seconds = Seconds(file_start_);
  const double total_seconds = Seconds(start_);
  const double file_rate = file_seconds > 0.05 ? file_received_ / file_seconds : 0;
  const double total_rate = total_seconds > 0.05 ? received_ / total_seconds : 0;
  if (bars_drawn_) std::fprintf(stderr, "\033[1A");  // back to the file line
  std::fprintf(stderr, "\r\033[2K%s\n\033[2K%s\r",
               file_.empty() ? "" : BarLine(file_, file_done_, file_size_, file_rate).c_str(),
               BarLine("total", total_done_, total_, total_rate).c_str());
  std::fflush(stderr);
  bars_drawn_ = true;
}

void DownloadProgress::EndBars() {
  if (style_ == ProgressStyle::kBars && bars_drawn_) {
    Draw(true);
    std::fprintf(stderr, "\n");
    bars_drawn_ = false;
  }
}

}  // namespace modelhub
