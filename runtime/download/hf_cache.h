#ifndef MODELHUB_RUNTIME_DOWNLOAD_HF_CACHE_H_
#define MODELHUB_RUNTIME_DOWNLOAD_HF_CACHE_H_

// The Hugging Face cache layout, shared with huggingface_hub so that files
// either tool downloaded serve the other:
//   <cache>/models--<org>--<name>/blobs/<etag>             file contents
//   <cache>/models--<org>--<name>/blobs/<etag>.incomplete  a partial download
//   <cache>/models--<org>--<name>/snapshots/<commit>/<path> relative symlinks
//   <cache>/models--<org>--<name>/refs/<revision>         the commit of a branch
//   <cache>/.locks/models--<org>--<name>/<etag>.lock

#include <optional>
#include <string>
#include <system_error>
#include <vector>

namespace modelhub {

// Hugging Face's folder: $HF_HOME, else $XDG_CACHE_HOME/huggingface, else
// ~/.cache/huggingface (as huggingface_hub).
std::string HfHomeDir();

// The Hub cache folder: $HF_HUB_CACHE, else HfHomeDir()/hub.
std::string HfHubCacheDir();

// True when the string is a full commit id (40 hex digits).
bool IsCommitHash(const std::string& revision);

// One model repo in the cache.
class HfCacheRepo {
 public:
  // `repo_id` is "org/name" (or "name").
  HfCacheRepo(std::string cache_dir, const std::string& repo_id);

  // models--org--name
  const std::string& folder_name() const { return folder_name_; }
  // <cache>/models--org--name
  std::string dir() const;
  std::string blob_path(const std::string& etag) const;
  std::string partial_blob_path(const std::string& etag) const;
  std::string lock_path(const std::string& etag) const;
  std::string snapshot_dir(const std::string& commit) const;

  // The commit `revision` names here: itself when it is a commit id, else the
  // content of refs/<revision>; nullopt when the cache does not know it.
  std::optional<std::string> ResolveRevision(const std::string& revision) const;
  // Records that `revision` (a branch or tag) is at `commit` (atomic write).
  // Throws AssetDownloadError naming hg://<repo>, the ref file and the
  // operation when the file system refuses.
  void WriteRef(const std::string& revision, const std::string& commit) const;
  // Makes snapshots/<commit>/<path> a relative symlink to blobs/<etag>
  // (replacing what was there, atomically). Throws AssetDownloadError naming
  // hg://<repo>, the link and the operation when the file system refuses.
  void LinkSnapshotFile(const std::string& commit, const std::string& path,
                        const std::string& etag) const;

 private:
  // Throws AssetDownloadError for `operation` when `error` is set.
  void Check(const std::error_code& error, const std::string& operation) const;

  std::string cache_dir_;
  std::string repo_id_;
  std::string folder_name_;
};

// An ETag as the cache names blobs: without W/ and quotes.
std::string NormalizeEtag(const std::string& etag);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DOWNLOAD_HF_CACHE_H_
