#include "runtime/download/hf_cache.h"

#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "runtime/core/durable_file.h"
#include "runtime/core/environment.h"
#include "runtime/core/errors.h"

namespace modelhub {
namespace fs = std::filesystem;
namespace {

std::string TempName(const fs::path& path) {
  return path.string() + ".tmp." + std::to_string(::getpid());
}

}  // namespace

std::string HfHomeDir() {
  if (std::string home = GetEnv("HF_HOME"); !home.empty()) return home;
  return (fs::path(UserCacheDir()) / "huggingface").string();
}

std::string HfHubCacheDir() {
  if (std::string dir = GetEnv("HF_HUB_CACHE"); !dir.empty()) return dir;
  return (fs::path(HfHomeDir()) / "hub").string();
}

bool IsCommitHash(const std::string& revision) {
  if (revision.size() != 40) return false;
  for (char c : revision) {
    if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
  }
  return true;
}

std::string NormalizeEtag(const std::string& etag) {
  std::string value = etag;
  if (value.rfind("W/", 0) == 0) value = value.substr(2);
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    value = value.substr(1, value.size() - 2);
  }
  return value;
}

HfCacheRepo::HfCacheRepo(std::string cache_dir, const std::string& repo_id)
    : cache_dir_(std::move(cache_dir)),
      repo_id_(repo_id),
      folder_name_("models--" + absl::StrReplaceAll(repo_id, {{"/", "--"}})) {}

std::string HfCacheRepo::dir() const { return (fs::path(cache_dir_) / folder_name_).string(); }

std::string HfCacheRepo::blob_path(const std::string& etag) const {
  return (fs::path(dir()) / "blobs" / etag).string();
}

std::string HfCacheRepo::partial_blob_path(const std::string& etag) const {
  return blob_path(etag) + ".incomplete";
}

std::string HfCacheRepo::lock_path(const std::string& etag) const {
  return (fs::path(cache_dir_) / ".locks" / folder_name_ / (etag + ".lock")).string();
}

std::string HfCacheRepo::snapshot_dir(const std::string& commit) const {
  return (fs::path(dir()) / "snapshots" / commit).string();
}

std::optional<std::string> HfCacheRepo::ResolveRevision(const std::string& revision) const {
  std::error_code error;
  if (IsCommitHash(revision)) {
    if (fs::is_directory(snapshot_dir(revision), error)) return revision;
    return std::nullopt;
  }
  std::ifstream in(fs::path(dir()) / "refs" / revision);
  std::string commit;
  if (!in || !std::getline(in, commit) || !IsCommitHash(commit)) return std::nullopt;
  return commit;
}

void HfCacheRepo::Check(const std::error_code& error, const std::string& operation) const {
  if (error) {
    throw AssetDownloadError("hg://" + repo_id_,
                             absl::StrCat("cannot ", operation, ": ", error.message()));
  }
}

void HfCacheRepo::WriteRef(const std::string& revision, const std::string& commit) const {
  const fs::path ref = fs::path(dir()) / "refs" / revision;
  std::error_code error;
  fs::create_directories(ref.parent_path(), error);
  Check(error, "create the folder " + ref.parent_path().string());
  try {
    ReplaceFileAtomically(ref.string(), commit);
  } catch (const std::system_error& e) {
    Check(e.code(), "write the ref " + ref.string());
  }
}

void HfCacheRepo::LinkSnapshotFile(const std::string& commit, const std::string& path,
                                   const std::string& etag) const {
  const fs::path link = fs::path(snapshot_dir(commit)) / path;
  std::error_code error;
  fs::create_directories(link.parent_path(), error);
  Check(error, "create the folder " + link.parent_path().string());
  const fs::path target = fs::path(blob_path(etag)).lexically_relative(link.parent_path());
  const std::string temp = TempName(link);
  fs::remove(temp, error);
  fs::create_symlink(target, temp, error);
  Check(error, absl::StrCat("create the link ", temp, " to ", target.string()));
  fs::rename(temp, link, error);
  if (error) {
    std::error_code ignored;
    fs::remove(temp, ignored);
  }
  Check(error, absl::StrCat("rename ", temp, " to ", link.string()));
}

}  // namespace modelhub
