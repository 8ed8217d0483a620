#include "runtime/download/file_lock.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <system_error>

#include "absl/strings/str_cat.h"
#include "runtime/core/errors.h"

namespace modelhub {

FileLock::FileLock(const std::string& path, const std::string& source,
                   const std::function<void()>& on_wait) {
  const std::filesystem::path folder = std::filesystem::path(path).parent_path();
  if (!folder.empty()) {
    std::error_code error;
    std::filesystem::create_directories(folder, error);
    if (error) {
      throw AssetDownloadError(
          source, absl::StrCat("cannot create the folder ", folder.string(), " of the lock file ",
                               path, ": ", error.message()));
    }
  }
  fd_ = ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd_ < 0) {
    throw AssetDownloadError(
        source, absl::StrCat("cannot create the lock file ", path, ": ", std::strerror(errno)));
  }
  if (::flock(fd_, LOCK_EX | LOCK_NB) == 0) return;
  if (errno != EWOULDBLOCK && errno != EINTR) {
    const std::string why = std::strerror(errno);
    ::close(fd_);
    throw AssetDownloadError(source, absl::StrCat("cannot lock ", path, ": ", why));
  }
  if (on_wait) on_wait();
  while (::flock(fd_, LOCK_EX) != 0) {
    if (errno != EINTR) {
      const std::string why = std::strerror(errno);
      ::close(fd_);
      throw AssetDownloadError(source, absl::StrCat("cannot lock ", path, ": ", why));
    }
  }
}

FileLock::~FileLock() {
  ::flock(fd_, LOCK_UN);
  ::close(fd_);
}

}  // namespace modelhub
