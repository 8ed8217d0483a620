#include "runtime/download/file_download.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <exception>
#include <filesystem>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/durable_file.h"
#include "runtime/core/errors.h"
#include "runtime/download/file_lock.h"
#include "runtime/download/sha256.h"

namespace modelhub {
namespace fs = std::filesystem;
namespace {

// The partial file being written, positioned at its end.
class PartialFile {
 public:
  PartialFile(const std::string& path, const std::string& name, const std::string& source)
      : path_(path), name_(name), source_(source) {
    fd_ = ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
    if (fd_ < 0) Fail("cannot create");
    struct stat info {};
    if (::fstat(fd_, &info) != 0) Fail("cannot stat");
    size_ = static_cast<uint64_t>(info.st_size);
    if (::lseek(fd_, 0, SEEK_END) < 0) Fail("cannot seek in");
  }
  ~PartialFile() {
    if (fd_ >= 0) ::close(fd_);
  }
  PartialFile(const PartialFile&) = delete;
  PartialFile& operator=(const PartialFile&) = delete;

  uint64_t size() const { return size_; }

  void Append(const char* data, size_t bytes) {
    while (bytes > 0) {
      const ssize_t written = ::write(fd_, data, bytes);
      if (written < 0 && errno == EINTR) continue;
      if (written <= 0) Fail("cannot write");
      data += written;
      bytes -= static_cast<size_t>(written);
      size_ += static_cast<uint64_t>(written);
    }
    // Start writing back what is complete, so the final fsync finds little
    // left to do (the kernel writes while the download goes on).
    if (size_ - synced_ >= kWritebackBytes) {
      ::sync_file_range(fd_, static_cast<off_t>(synced_), static_cast<off_t>(size_ - synced_),
                        SYNC_FILE_RANGE_WRITE);
      synced_ = size_;
    }
  }

  void Truncate() {
    if (::ftruncate(fd_, 0) != 0 || ::lseek(fd_, 0, SEEK_SET) != 0) Fail("cannot truncate");
    size_ = 0;
    synced_ = 0;
  }

  // fsync, close, then rename to `final_path` and fsync its folder.
  void Commit(const std::string& final_path) {
    if (::fsync(fd_) != 0) Fail("cannot fsync");
    ::close(fd_);
    fd_ = -1;
    if (::rename(path_.c_str(), final_path.c_str()) != 0) Fail("cannot rename");
    SyncFolder(fs::path(final_path).parent_path().string());
  }

  void Remove() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    ::unlink(path_.c_str());
  }

 private:
  [[noreturn]] void Fail(const char* what) {
    throw AssetDownloadError(source_, absl::StrCat(what, " the partial file ", path_, " of ", name_,
                                                   ": ", std::strerror(errno)));
  }

  std::string path_;
  std::string name_;
  std::string source_;
  static constexpr uint64_t kWritebackBytes = 64 << 20;
  int fd_ = -1;
  uint64_t size_ = 0;
  uint64_t synced_ = 0;
};

// Hashes and writes the bytes of a download on two more threads, so that
// receiving (the caller's thread), hashing and writing overlap. Bytes are
// copied into one of a few blocks; a full block goes to both workers, and is
// free again once both are done with it. size() counts the bytes accepted;
// Drain() waits until they are all hashed and written and rethrows what a
// worker threw.
class PipelinedWriter {
 public:
  PipelinedWriter(PartialFile& file, Sha256& hash) : file_(file), hash_(hash), size_(file.size()) {
    for (auto& block : blocks_) {
      block.data.reset(new char[kBlockBytes]);
      free_.push_back(&block);
    }
    for (int stage = 0; stage < kStages; ++stage) {
      workers_[stage] = std::thread([this, stage] { Work(stage); });
    }
  }
  ~PipelinedWriter() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stopping_ = true;
    }
    changed_.notify_all();
    for (std::thread& worker : workers_) worker.join();
  }

  uint64_t size() const { return size_; }

  void Append(const char* data, size_t bytes) {
    while (bytes > 0) {
      if (current_ == nullptr) current_ = TakeFree();
      const size_t take = std::min(bytes, kBlockBytes - current_->used);
      std::memcpy(current_->data.get() + current_->used, data, take);
      current_->used += take;
      size_ += take;
      data += take;
      bytes -= take;
      if (current_->used == kBlockBytes) Submit();
    }
  }

  void Drain() {
    if (current_ != nullptr) Submit();
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return free_.size() == kBlocks || failure_; });
    if (failure_) std::rethrow_exception(failure_);
  }

  // Drops everything: the file and the hash start over.
  void Restart() {
    Drain();
    file_.Truncate();
    hash_.Reset();
    size_ = 0;
  }

 private:
  static constexpr size_t kBlockBytes = 4 << 20;
  static constexpr size_t kBlocks = 6;
  static constexpr int kStages = 2;  // 0 hashes, 1 writes
  struct Block {
    std::unique_ptr<char[]> data;
    size_t used = 0;
    int pending = 0;  // stages still to see it
  };

  Block* TakeFree() {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [this] { return !free_.empty() || failure_; });
    if (failure_) std::rethrow_exception(failure_);
    Block* block = free_.back();
    free_.pop_back();
    block->used = 0;
    return block;
  }

  void Submit() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      current_->pending = kStages;
      for (auto& queue : queues_) queue.push_back(current_);
    }
    current_ = nullptr;
    changed_.notify_all();
  }

  void Work(int stage) {
    std::unique_lock<std::mutex> lock(mutex_);
    for (;;) {
      changed_.wait(lock, [&] { return !queues_[stage].empty() || stopping_; });
      if (queues_[stage].empty()) return;
      Block* block = queues_[stage].front();
      queues_[stage].pop_front();
      const bool skip = static_cast<bool>(failure_);
      lock.unlock();
      std::exception_ptr failure;
      try {
        if (!skip && stage == 0) hash_.Update(block->data.get(), block->used);
        if (!skip && stage == 1) file_.Append(block->data.get(), block->used);
      } catch (...) {
        failure = std::current_exception();
      }
      lock.lock();
      if (failure && !failure_) failure_ = failure;
      if (--block->pending == 0) free_.push_back(block);
      changed_.notify_all();
    }
  }

  PartialFile& file_;
  Sha256& hash_;
  uint64_t size_;
  Block blocks_[kBlocks];
  Block* current_ = nullptr;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Block*> free_;
  std::deque<Block*> queues_[kStages];
  bool stopping_ = false;
  std::exception_ptr failure_;
  std::thread workers_[kStages];
};

// The start and total of "Content-Range: bytes START-END/TOTAL"; nullopt when
// it does not parse.
std::optional<std::pair<uint64_t, uint64_t>> ParseContentRange(const std::string& value) {
  unsigned long long start = 0, end = 0, total = 0;
  if (std::sscanf(value.c_str(), "bytes %llu-%llu/%llu", &start, &end, &total) != 3) {
    return std::nullopt;
  }
  return std::make_pair(static_cast<uint64_t>(start), static_cast<uint64_t>(total));
}

std::string DescribeStatus(const HttpResponse& response, const FileDownload& download) {
  std::string message = absl::StrCat("HTTP ", response.status, " for ", download.name, " (",
                                     response.url, "): ", ServerReason(response));
  if ((response.status == 401 || response.status == 403) && !download.auth_hint.empty()) {
    absl::StrAppend(&message, "; ", download.auth_hint);
  }
  return message;
}

}  // namespace

std::chrono::milliseconds BackoffDelay(const RetryPolicy& retry, int failures) {
  const auto delay = retry.first_delay * (1 << std::min(std::max(failures, 1) - 1, 16));
  return std::min<std::chrono::milliseconds>(delay, retry.max_delay);
}

void SleepBeforeRetry(const RetryPolicy& retry, int failures) {
  std::this_thread::sleep_for(BackoffDelay(retry, failures));
}

bool RetriableStatus(long status) { return status >= 500 || status == 429 || status == 408; }

HttpResponse SendWithRetries(HttpClient& client, const HttpRequest& request,
                             const RetryPolicy& retry, const std::string& source,
                             const std::string& what, std::string* body, int* requests) {
  for (int failures = 1;; ++failures) {
    std::string failure;
    if (body != nullptr) body->clear();
    try {
      if (requests != nullptr) ++*requests;
      HttpResponse response = client.Send(request, [&](const char* data, size_t size) {
        if (body != nullptr) body->append(data, size);
      });
      if (!RetriableStatus(response.status)) return response;
      failure = absl::StrCat("HTTP ", response.status, ": ", ServerReason(response));
    } catch (const HttpTransportError& e) {
      failure = e.what();
    }
    if (failures >= retry.attempts) {
      throw AssetDownloadError(
          source, absl::StrCat(what, ": gave up after ", failures, " attempts; last: ", failure));
    }
    SleepBeforeRetry(retry, failures);
  }
}

std::string ServerReason(const HttpResponse& response) {
  std::string reason = response.header("x-error-message");
  if (reason.empty()) {
    reason = response.error_body.substr(0, 300);
    reason.erase(std::remove(reason.begin(), reason.end(), '\n'), reason.end());
  }
  if (reason.empty()) reason = "no reason given";
  return reason;
}

FileDownloadResult DownloadFile(HttpClient& client, const FileDownload& download,
                                const RetryPolicy& retry, DownloadProgress& progress) {
  FileDownloadResult result;
  std::error_code error;
  fs::create_directories(fs::path(download.final_path).parent_path(), error);
  const FileLock lock(download.lock_path, download.source,
                      [&] { progress.Waiting(download.name); });
  if (!download.replace && fs::exists(download.final_path, error)) {
    // In the cache already, maybe fetched by the process this one waited for.
    result.cached = true;
    progress.Cached(download.name, download.size.value_or(0));
    return result;
  }

  PartialFile partial(download.partial_path, download.name, download.source);
  Sha256 hash;
  if (download.size && partial.size() > *download.size) partial.Truncate();
  if (partial.size() > 0) {
    try {
      HashFilePrefix(download.partial_path, partial.size(), hash);
    } catch (const std::runtime_error& e) {
      throw AssetDownloadError(download.source, e.what());
    }
    result.resumed_from = partial.size();
  }
  progress.StartFile(download.name, download.size.value_or(0), partial.size());
  PipelinedWriter writer(partial, hash);

  std::optional<uint64_t> total = download.size;
  int failures = 0;
  while (!(total && writer.size() == *total)) {
    HttpRequest request;
    request.url = download.url;
    request.bearer_token = download.bearer_token;
    const uint64_t offset = writer.size();
    if (offset > 0) {
      request.range_start = offset;
      request.if_range = download.validator;
    }
    // Where the body goes is decided by the status: 206 continues the partial
    // file, 200 starts it over.
    auto on_headers = [&](const HttpResponse& response) {
      std::optional<uint64_t> length = ParseSizeHeader(response.header("content-length"));
      if (response.status == 206) {
        const auto range = ParseContentRange(response.header("content-range"));
        if (!range || range->first != offset) {
          throw AssetDownloadError(
              download.source, absl::StrCat(download.name, ": asked for the bytes from ", offset,
                                            " on, the server answered with the range '",
                                            response.header("content-range"), "'"));
        }
        length = range->second;
      } else if (writer.size() > 0) {
        writer.Restart();  // a 200: the whole file comes again
        progress.Restart();
      }
      if (length && total && *length != *total) {
        throw AssetDownloadError(download.source,
                                 absl::StrCat(download.name, ": the server says it has ", *length,
                                              " bytes, expected ", *total));
      }
      if (length) total = length;
    };
    auto on_body = [&](const char* data, size_t bytes) {
      if (total && writer.size() + bytes > *total) {
        throw AssetDownloadError(
            download.source, absl::StrCat(download.name, ": the server sent more than the ", *total,
                                          " bytes the file has"));
      }
      writer.Append(data, bytes);
      progress.Advance(bytes);
    };
    const uint64_t received_before = client.bytes_received();
    std::string failure;
    ++result.requests;
    try {
      const HttpResponse response = client.Send(request, on_body, on_headers);
      if (response.status == 416 && offset > 0) {
        // The partial file is not a prefix of what the server has: start over.
        writer.Restart();
        progress.Restart();
        failure = "the server refused the range of the partial file";
      } else if (RetriableStatus(response.status)) {
        failure = DescribeStatus(response, download);
      } else if (response.status < 200 || response.status >= 300) {
        throw AssetDownloadError(download.source, DescribeStatus(response, download));
      } else if (!total) {
        total = writer.size();  // no length given: the body is the file
      }
    } catch (const HttpTransportError& e) {
      failure = e.what();
    }
    writer.Drain();
    const uint64_t received = client.bytes_received() - received_before;
    result.bytes_received += received;
    if (failure.empty()) continue;
    failures = received > 0 ? 1 : failures + 1;
    if (failures >= retry.attempts) {
      throw AssetDownloadError(
          download.source,
          absl::StrCat(download.name, ": gave up after ", failures,
                       " attempts in a row without progress (", writer.size(), " bytes kept in ",
                       download.partial_path, " for a later resume); last: ", failure));
    }
    SleepBeforeRetry(retry, failures);
  }

  writer.Drain();
  result.sha256 = hash.HexDigest();
  for (const ExpectedSha256& expected : download.sha256) {
    const std::string hex = absl::AsciiStrToLower(expected.hex);
    const bool matches = expected.prefix ? result.sha256.rfind(hex, 0) == 0 : hex == result.sha256;
    if (!expected.hex.empty() && !matches) {
      partial.Remove();
      throw AssetDownloadError(download.source,
                               absl::StrCat(download.name, ": SHA-256 mismatch: expected ",
                                            expected.prefix ? "a hash starting with " : "",
                                            expected.hex, " (", expected.source, "), got ",
                                            result.sha256, "; the downloaded bytes were deleted"));
    }
  }
  partial.Commit(download.final_path);
  progress.FinishFile(result.bytes_received);
  return result;
}

FileDownload ResumableDownload(HttpClient& client, const std::string& url,
                               const std::string& final_path, const RetryPolicy& retry) {
  HttpRequest head;
  head.url = url;
  head.head = true;
  const HttpResponse response =
      SendWithRetries(client, head, retry, url, "the file's size and ETag (HEAD)");
  if (response.status >= 400) {
    throw AssetDownloadError(url,
                             absl::StrCat("HTTP ", response.status, ": ", ServerReason(response)));
  }
  FileDownload download;
  download.url = url;
  download.name = fs::path(final_path).filename().string();
  download.source = url;
  download.final_path = final_path;
  download.validator = response.header("etag");
  download.size = ParseSizeHeader(response.header("content-length"));
  const std::string tag =
      download.validator.empty() ? "any" : Sha256OfText(download.validator).substr(0, 12);
  download.partial_path = absl::StrCat(final_path, ".", tag, ".incomplete");
  // A partial file of another version cannot be resumed. (Best effort: a file
  // that cannot be removed or listed is left alone.)
  const std::string own = download.name + ".";
  const std::string partial_name = fs::path(download.partial_path).filename().string();
  std::error_code error;
  for (fs::directory_iterator file(fs::path(final_path).parent_path(), error), end;
       !error && file != end; file.increment(error)) {
    const std::string name = file->path().filename().string();
    if (name != partial_name && name.rfind(own, 0) == 0 && name.size() > 11 &&
        name.compare(name.size() - 11, 11, ".incomplete") == 0) {
      std::error_code ignored;
      fs::remove(file->path(), ignored);
    }
  }
  return download;
}

}  // namespace modelhub
