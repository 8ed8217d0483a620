#include "runtime/download/torch_hub_files.h"

#include <filesystem>
#include <mutex>

#include "absl/strings/str_cat.h"
#include "runtime/core/environment.h"
#include "runtime/core/errors.h"
#include "runtime/download/download_progress.h"
#include "runtime/download/file_lock.h"
#include "runtime/download/http_client.h"
#include "runtime/download/sha256.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;

std::mutex hub_dir_mutex;
std::string& HubDirOverride() {
  static std::string path;
  return path;
}

// `path` with a leading "~" or "~/" as the home folder.
std::string ExpandUser(const std::string& path) {
  if (path == "~" || path.rfind("~/", 0) == 0) return GetEnv("HOME") + path.substr(1);
  return path;
}

bool IsLowerHex(char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); }

}  // namespace

std::string GetHubDir() {
  {
    std::lock_guard<std::mutex> lock(hub_dir_mutex);
    if (!HubDirOverride().empty()) return HubDirOverride();
  }
  if (std::string torch_home = GetEnv("TORCH_HOME"); !torch_home.empty()) {
    return (fs::path(ExpandUser(torch_home)) / "hub").string();
  }
  return (fs::path(UserCacheDir()) / "torch" / "hub").string();
}

void SetHubDir(const std::string& path) {
  std::lock_guard<std::mutex> lock(hub_dir_mutex);
  HubDirOverride() = ExpandUser(path);
}

std::optional<std::string> HashPrefixOfFileName(const std::string& name) {
  // The first "-" followed by hex digits and a ".", as re.search finds it.
  for (size_t dash = name.find('-'); dash != std::string::npos; dash = name.find('-', dash + 1)) {
    size_t end = dash + 1;
    while (end < name.size() && IsLowerHex(name[end])) ++end;
    if (end < name.size() && name[end] == '.') {
      std::string prefix = name.substr(dash + 1, end - dash - 1);
      if (prefix.size() < 8) return std::nullopt;
      return prefix;
    }
  }
  return std::nullopt;
}

std::string TempLockPath(const std::string& path) {
  return (fs::temp_directory_path() / "modelhub-locks" /
          (Sha256OfText(path).substr(0, 16) + ".lock"))
      .string();
}

std::string DownloadUrlToFile(const std::string& url, const std::string& dst,
                              const DownloadUrlOptions& options) {
  const fs::path target = fs::absolute(ExpandUser(dst)).lexically_normal();
  if (target.filename().empty()) {
    throw AssetDownloadError(url, absl::StrCat("the destination ", dst, " names no file"));
  }
  std::error_code error;
  fs::create_directories(target.parent_path(), error);
  if (error) {
    throw AssetDownloadError(
        url, absl::StrCat("cannot create the folder ", target.parent_path().string(), ": ",
                          error.message()));
  }
  HttpClient client;
  FileDownload download = ResumableDownload(client, url, target.string(), options.retry);
  download.lock_path = TempLockPath(target.string());
  download.replace = true;
  if (!options.hash_prefix.empty()) {
    download.sha256.push_back({options.hash_prefix, "the hash prefix", true});
  }
  download.auth_hint =
      "the server wants credentials modelhub cannot give; download the file yourself";
  DownloadProgress progress(ChooseProgressStyle(options.progress, false),
                            download.size.value_or(0));
  return DownloadFile(client, download, options.retry, progress).sha256;
}

}  // namespace modelhub
