#ifndef MODELHUB_RUNTIME_DOWNLOAD_TORCH_HUB_FILES_H_
#define MODELHUB_RUNTIME_DOWNLOAD_TORCH_HUB_FILES_H_

// torch.hub's file conventions in C++: its cache folder (get_dir/set_dir),
// download_url_to_file with a hash prefix, and the hash prefix torch.hub's
// check_hash reads from a file name. Downloads go through modelhub's
// downloader: resumed across runs, retried, verified, renamed into place.

#include <optional>
#include <string>

#include "runtime/download/file_download.h"

namespace modelhub {

// torch.hub's folder (torch.hub.get_dir): the SetHubDir path when one was
// set in this process, else $TORCH_HOME/hub, else $XDG_CACHE_HOME/torch/hub,
// else ~/.cache/torch/hub.
std::string GetHubDir();

// Makes GetHubDir return `path` in this process (torch.hub.set_dir); a
// leading "~/" is the home folder. An empty path restores the default.
void SetHubDir(const std::string& path);

// How DownloadUrlToFile fetches.
struct DownloadUrlOptions {
  // Hex digits the file's SHA-256 must start with ("": not checked).
  std::string hash_prefix;
  // Progress on stderr (bars on a terminal, a line otherwise).
  bool progress = true;
  RetryPolicy retry;
};

// Downloads `url` to `dst` (torch.hub.download_url_to_file): into a partial
// file beside `dst` (`<dst>.<tag>.incomplete`, resumed by a later call against
// the same version of the file), retried, then renamed onto `dst`, replacing
// a file there. On a hash-prefix mismatch the partial file is deleted, `dst`
// is left as it was, and the AssetDownloadError names the expected prefix and
// the actual SHA-256; other failures keep the partial file for a resume.
// Concurrent calls for one `dst` wait for each other (a lock file under
// $TMPDIR/modelhub-locks). Returns the file's SHA-256.
std::string DownloadUrlToFile(const std::string& url, const std::string& dst,
                              const DownloadUrlOptions& options = {});

// The lock file that serializes work on `path` across processes:
// $TMPDIR/modelhub-locks/<16 hex digits of the path's SHA-256>.lock, so that
// nothing is left beside `path` and no other folder needs to be writable.
std::string TempLockPath(const std::string& path);

// The hash prefix torch.hub's check_hash reads from file name `name`: the
// hex digits of its first "-<hex>." (the regex -([a-f0-9]*)\.), "f37072fd" for
// "resnet18-f37072fd.pth"; nullopt when there is none or it has fewer than 8
// digits (torch.hub would then check nothing: modelhub refuses instead).
std::optional<std::string> HashPrefixOfFileName(const std::string& name);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DOWNLOAD_TORCH_HUB_FILES_H_
