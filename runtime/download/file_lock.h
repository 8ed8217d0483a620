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
  // has it. Throws AssetDownloadError naming `source` (what the lock guards the
  // download of: "hg://org/name", a URL), the folder or lock file and the
  // operation when the folder cannot be created (a regular file on the way, no
  // permission, a full disk), the lock file cannot be opened or created, or
  // flock fails.
  FileLock(const std::string& path, const std::string& source,
           const std::function<void()>& on_wait = {});
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_ = -1;
};

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DOWNLOAD_FILE_LOCK_H_
