#ifndef MODELHUB_RUNTIME_DOWNLOAD_CACHE_ADMIN_H_
#define MODELHUB_RUNTIME_DOWNLOAD_CACHE_ADMIN_H_

// What the download caches hold (the Hugging Face cache's model repos and
// modelhub's URL entries), checked against their hashes, and removed.

#include <cstdint>
#include <string>
#include <vector>

namespace modelhub {

// One cached model repo or URL.
struct CacheEntry {
  enum class Kind { kHubRepo, kUrl };
  Kind kind = Kind::kHubRepo;
  // "hg://org/name" or the URL.
  std::string uri;
  // The folder of the entry.
  std::string path;
  // Bytes of complete files (blobs, or content/), and of partial downloads.
  uint64_t bytes = 0;
  uint64_t partial_bytes = 0;
  int files = 0;
  // Hub repos: "main -> <commit>" for each ref, then snapshots without a ref.
  std::vector<std::string> revisions;
};

// The entries of the Hub cache `hub_cache_dir` (models--*) and of modelhub's
// cache `url_cache_dir` (url/*), Hub repos first, each sorted by URI. Missing
// folders hold nothing.
std::vector<CacheEntry> ListCache(const std::string& hub_cache_dir,
                                  const std::string& url_cache_dir);

// A file that failed verification.
struct CacheProblem {
  std::string file;
  std::string what;  // "SHA-256 mismatch: ...", "missing", "dangling link", ...
};

// What VerifyCacheEntry found.
struct CacheVerification {
  int verified = 0;   // files whose SHA-256 matched
  int unchecked = 0;  // files with no hash to check (git-stored Hub files)
  std::vector<CacheProblem> problems;
};

// Re-reads every file of `entry` and checks it: Hub blobs named by a SHA-256
// against that name, snapshot links for a target, URL entries against the
// sizes and hashes their manifest recorded. A file that cannot be read is a
// problem ("cannot read ...: Permission denied"), not an exception.
CacheVerification VerifyCacheEntry(const CacheEntry& entry);

// Deletes the entry's folder (and a Hub repo's locks). Throws modelhub::Error
// naming the entry, its folder and the reason when that fails.
void RemoveCacheEntry(const CacheEntry& entry, const std::string& hub_cache_dir);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DOWNLOAD_CACHE_ADMIN_H_
