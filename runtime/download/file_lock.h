#ifndef MODELHUB_RUNTIME_DOWNLOAD_FILE_LOCK_H_
#define MODELHUB_RUNTIME_DOWNLOAD_FILE_LOCK_H_

#include <functional>
#include <string>

namespace modelhub {

// An exclusive advisory lock (flock) on the file at a path, held from
// construction to destruction; other processes (and other FileLocks in this
// one) taking the same path wait. The lock file and its folder are created when
// missing and left in place, as huggingface_hub leaves its .locks.
class FileLock {
 public:
  // Blocks until the lock is held, calling `on_wait` first when another holder
  // has it. Throws std::runtime_error when the lock file cannot be created.
  explicit FileLock(const std::string& path, const std::function<void()>& on_wait = {});
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DOWNLOAD_FILE_LOCK_H_
