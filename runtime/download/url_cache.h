#ifndef MODELHUB_RUNTIME_DOWNLOAD_URL_CACHE_H_
#define MODELHUB_RUNTIME_DOWNLOAD_URL_CACHE_H_

// Checkpoints at plain http(s) URLs, cached by modelhub:
//   <cache>/url/<file name>-<16 hex of sha256(url)>/
//     manifest.json   written last: the URL, the download's size and SHA-256,
//                     and every file of content/ with its size and SHA-256
//     content/        the file, or an archive's unpacked files
//     download/       the file while it downloads (<name>.<tag>.incomplete)
//     .lock, download/<name>.lock

#include <cstdint>
#include <string>
#include <vector>

#include "runtime/download/download_progress.h"
#include "runtime/download/file_download.h"
#include "runtime/download/http_client.h"

namespace modelhub {

// $MODELHUB_CACHE_DIR, else $XDG_CACHE_HOME/modelhub, else ~/.cache/modelhub.
std::string ModelhubCacheDir();

// The cache folder of `url` under `cache_dir`.
std::string UrlCacheEntry(const std::string& cache_dir, const std::string& url);

// A file recorded in a cache entry's manifest.
struct CachedFile {
  std::string path;  // relative to content/
  uint64_t size = 0;
  std::string sha256;
};

// A cache entry's manifest.
struct UrlManifest {
  std::string url;
  uint64_t size = 0;      // of the download (the archive, for archives)
  std::string sha256;     // of the download
  bool unpacked = false;  // content/ is an unpacked archive
  std::vector<CachedFile> files;
};

// Reads `<entry>/manifest.json`; false when there is none (an incomplete
// entry). Throws AssetDownloadError for a manifest that does not parse.
bool ReadUrlManifest(const std::string& entry, UrlManifest& manifest);

// How to fetch a URL.
struct UrlFetchOptions {
  std::string cache_dir;
  bool offline = false;
  // Hashes the downloaded file must have.
  std::vector<ExpectedSha256> sha256;
  RetryPolicy retry;
};

// What FetchUrl did.
struct UrlFetchResult {
  // The file, or the unpacked archive's folder.
  std::string path;
  bool cached = false;
  FileDownloadResult download;
};

// Makes `url` available in the cache and returns where: downloads it (resuming
// a partial file of the same ETag), checks its size and hashes, unpacks an
// archive (by its name: see IsArchiveName) and deletes the archive, writes the
// manifest. With a complete entry, makes no request. Throws
// AssetDownloadError (offline with no entry, HTTP failures, hash mismatch,
// a bad archive, and a cache that cannot be written: the path and operation).
UrlFetchResult FetchUrl(const std::string& url, HttpClient& client, const UrlFetchOptions& options,
                        DownloadProgress& progress);

// The file name a URL's path ends with ("model.tar" for ".../model.tar?x=1"),
// "download" when it has none.
std::string UrlFileName(const std::string& url);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DOWNLOAD_URL_CACHE_H_
