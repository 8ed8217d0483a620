#ifndef MODELHUB_RUNTIME_DOWNLOAD_HF_HUB_H_
#define MODELHUB_RUNTIME_DOWNLOAD_HF_HUB_H_

// The Hugging Face Hub's HTTP API (as huggingface_hub uses it): a repo's file
// list, a file's metadata, and files fetched into the shared cache.

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/download/download_progress.h"
#include "runtime/download/file_download.h"
#include "runtime/download/hf_cache.h"
#include "runtime/download/http_client.h"

namespace modelhub {

// A model repo at a revision: hg://org/name[@revision].
struct HfRepoRef {
  std::string repo_id;            // "org/name"
  std::string revision = "main";  // a branch, tag or commit id
  // "hg://org/name" or "hg://org/name@rev", for messages.
  std::string uri() const;
};

// Parses "hg://org/name[@revision]". Throws AssetDownloadError for another
// scheme, an empty or malformed repo id, or an empty revision.
HfRepoRef ParseHgUri(const std::string& uri);

// Where and how to reach the Hub, from the environment.
struct HubSettings {
  std::string endpoint = "https://huggingface.co";
  std::string token;
  bool offline = false;
  std::string cache_dir;
};

// HF_ENDPOINT, HF_TOKEN (else the file HfHomeDir()/token), HF_HUB_OFFLINE
// (1/true/yes/on) and HfHubCacheDir().
HubSettings HubSettingsFromEnvironment();

// One file of a repo listing.
struct HubFile {
  std::string path;
  uint64_t size = 0;
  // The LFS SHA-256 of large files ("" for files kept in git).
  std::string lfs_sha256;
};

// A repo's files at a commit.
struct RepoListing {
  std::string commit;
  std::vector<HubFile> files;
  // The file named `path`, or nullptr.
  const HubFile* find(const std::string& path) const;
};

// What a HEAD on a file's resolve URL says.
struct HubFileMetadata {
  std::string commit;
  std::string etag;       // normalized (no quotes): the blob's name in the cache
  std::string validator;  // the ETag as sent, for If-Range
  std::optional<uint64_t> size;
};

// Talks to the Hub for one repo and keeps its cache. Makes no request in
// offline mode: the methods that would throw AssetDownloadError instead.
class HubRepoClient {
 public:
  HubRepoClient(HubSettings settings, HfRepoRef repo, HttpClient& client, RetryPolicy retry = {});

  const HfRepoRef& repo() const { return repo_; }
  const HfCacheRepo& cache() const { return cache_; }
  const HubSettings& settings() const { return settings_; }

  // GET {endpoint}/api/models/{repo}/revision/{revision}?blobs=true.
  RepoListing List();
  // HEAD {endpoint}/{repo}/resolve/{commit}/{path}, not following redirects
  // to another host (the metadata is on the Hub's answer).
  HubFileMetadata Head(const std::string& commit, const std::string& path);
  // Fetches `path` at `commit` into the cache's blobs (verified against the
  // LFS hash when the ETag is one, and `extra_sha256`) and links it into the
  // snapshot. Returns the snapshot path of the file.
  std::string Fetch(const std::string& commit, const std::string& path,
                    const std::vector<ExpectedSha256>& extra_sha256, DownloadProgress& progress,
                    FileDownloadResult* result = nullptr);

  // Requests sent so far (API, HEAD and file requests).
  int requests() const { return requests_; }

 private:
  std::string ResolveUrl(const std::string& revision, const std::string& path) const;
  // SendWithRetries (none when offline: FailOffline), then an answer of 400 or
  // more as AssetDownloadError with the server's reason (and the token hint on
  // 401/403, the repo, revision and file hint on 404).
  HttpResponse SendToHub(const HttpRequest& request, const std::string& what, std::string* body);
  [[noreturn]] void FailOffline(const std::string& what) const;

  HubSettings settings_;
  HfRepoRef repo_;
  HfCacheRepo cache_;
  HttpClient& client_;
  RetryPolicy retry_;
  int requests_ = 0;
};

// The hint added to 401 and 403 answers: how to give the Hub a token.
std::string HubTokenHint(const HubSettings& settings);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DOWNLOAD_HF_HUB_H_
