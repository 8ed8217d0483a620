#ifndef MODELHUB_RUNTIME_DOWNLOAD_DOWNLOAD_PROGRESS_H_
#define MODELHUB_RUNTIME_DOWNLOAD_DOWNLOAD_PROGRESS_H_

#include <chrono>
#include <cstdint>
#include <string>

namespace modelhub {

// How download progress shows on stderr.
enum class ProgressStyle {
  kSilent,  // nothing
  kLines,   // one line per finished file
  kBars,    // a bar for the file being downloaded and one for the total (bytes,
            // rate, ETA), redrawn at most ten times a second; needs a terminal
};

// kBars when `show` and stderr is a terminal, kLines when `show` or `quiet` is
// set otherwise (a log, a pipe, --quiet), kSilent when neither.
ProgressStyle ChooseProgressStyle(bool show, bool quiet);

// The progress of downloading a set of files one after another.
class DownloadProgress {
 public:
  // `total_bytes`: the size of all files to fetch (0 when unknown).
  DownloadProgress(ProgressStyle style, uint64_t total_bytes);
  ~DownloadProgress();
  DownloadProgress(const DownloadProgress&) = delete;
  DownloadProgress& operator=(const DownloadProgress&) = delete;

  // `bytes` more to fetch than the total said (files found on the way).
  void AddToTotal(uint64_t bytes) { total_ += bytes; }
  // A file of `size` bytes (0: unknown) starts downloading, `resumed` of them
  // already on disk from an earlier attempt.
  void StartFile(const std::string& name, uint64_t size, uint64_t resumed);
  // `bytes` more of the current file arrived.
  void Advance(uint64_t bytes);
  // A started download went back to byte 0 (the server ignored a range).
  void Restart();
  // The current file is complete and verified (`received` bytes came over the
  // network for it).
  void FinishFile(uint64_t received);
  // A file needed no download (already in the cache); counts towards the total.
  void Cached(const std::string& name, uint64_t size);
  // Another process holds the lock of file `name`: waiting for it.
  void Waiting(const std::string& name);

 private:
  void Draw(bool force);
  void EndBars();

  ProgressStyle style_;
  uint64_t total_;
  uint64_t total_done_ = 0;
  std::string file_;
  uint64_t file_size_ = 0;
  uint64_t file_done_ = 0;
  uint64_t file_resumed_ = 0;
  bool bars_drawn_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point file_start_;
  std::chrono::steady_clock::time_point last_draw_;
  uint64_t received_ = 0;
  uint64_t file_received_ = 0;
};

// "1.5 GB", "312 kB": a byte count in SI units with three significant digits.
std::string FormatBytes(uint64_t bytes);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DOWNLOAD_DOWNLOAD_PROGRESS_H_
