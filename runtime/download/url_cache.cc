#include "runtime/download/url_cache.h"

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <optional>
#include <sstream>
#include <system_error>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/durable_file.h"
#include "runtime/core/environment.h"
#include "runtime/core/errors.h"
#include "runtime/download/archive_extract.h"
#include "runtime/download/file_lock.h"
#include "runtime/download/sha256.h"

namespace modelhub {
namespace fs = std::filesystem;
using Json = nlohmann::json;
namespace {

void WriteManifest(const std::string& entry, const UrlManifest& manifest) {
  Json json;
  json["url"] = manifest.url;
  json["size"] = manifest.size;
  json["sha256"] = manifest.sha256;
  json["unpacked"] = manifest.unpacked;
  json["files"] = Json::array();
  for (const CachedFile& file : manifest.files) {
    json["files"].push_back({{"path", file.path}, {"size", file.size}, {"sha256", file.sha256}});
  }
  try {
    ReplaceFileAtomically((fs::path(entry) / "manifest.json").string(), json.dump(2) + "\n");
  } catch (const std::system_error& e) {
    throw AssetDownloadError(manifest.url, e.what());
  }
}

// Throws AssetDownloadError naming `url`, the operation and the file-system
// error when `error` is set.
void CheckFileSystem(const std::error_code& error, const std::string& url,
                     const std::string& operation) {
  if (error) {
    throw AssetDownloadError(url, absl::StrCat("cannot ", operation, ": ", error.message()));
  }
}

// Where content/ of a complete entry leads: the file or the unpacked folder.
std::string ContentPath(const std::string& entry, const UrlManifest& manifest) {
  const fs::path content = fs::path(entry) / "content";
  if (manifest.unpacked || manifest.files.size() != 1) return content.string();
  return (content / manifest.files.front().path).string();
}

}  // namespace

std::string ModelhubCacheDir() {
  if (std::string dir = GetEnv("MODELHUB_CACHE_DIR"); !dir.empty()) return dir;
  return (fs::path(UserCacheDir()) / "modelhub").string();
}

std::string UrlFileName(const std::string& url) {
  std::string path = url.substr(0, url.find_first_of("?#"));
  if (const size_t scheme = path.find("://"); scheme != std::string::npos) {
    const size_t slash = path.find('/', scheme + 3);
    path = slash == std::string::npos ? "" : path.substr(slash);
  }
  std::string name = path.substr(path.find_last_of('/') + 1);
  for (char& c : name) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_')) {
      c = '_';
    }
  }
  if (name.empty() || name == "." || name == "..") return "download";
  return name;
}

std::string UrlCacheEntry(const std::string& cache_dir, const std::string& url) {
  return (fs::path(cache_dir) / "url" /
          absl::StrCat(UrlFileName(url), "-", Sha256OfText(url).substr(0, 16)))
      .string();
}

bool ReadUrlManifest(const std::string& entry, UrlManifest& manifest) {
  const fs::path path = fs::path(entry) / "manifest.json";
  std::ifstream in(path);
  if (!in) return false;
  try {
    const Json json = Json::parse(in);
    manifest.url = json.at("url").get<std::string>();
    manifest.size = json.at("size").get<uint64_t>();
    manifest.sha256 = json.at("sha256").get<std::string>();
    manifest.unpacked = json.at("unpacked").get<bool>();
    manifest.files.clear();
    for (const Json& file : json.at("files")) {
      manifest.files.push_back({file.at("path").get<std::string>(), file.at("size").get<uint64_t>(),
                                file.at("sha256").get<std::string>()});
    }
  } catch (const Json::exception& e) {
    throw AssetDownloadError(path.string(),
                             absl::StrCat("the cache manifest is damaged (", e.what(),
                                          "); remove the entry with modelhub "
                                          "cache rm"));
  }
  return true;
}

UrlFetchResult FetchUrl(const std::string& url, HttpClient& client, const UrlFetchOptions& options,
                        DownloadProgress& progress) {
  const std::string entry = UrlCacheEntry(options.cache_dir, url);
  const std::string name = UrlFileName(url);
  UrlFetchResult result;
  UrlManifest manifest;
  // A complete entry (its manifest written) is used as it is.
  auto cached = [&] {
    if (!ReadUrlManifest(entry, manifest)) return false;
    result.path = ContentPath(entry, manifest);
    result.cached = true;
    progress.Cached(name, manifest.size);
    return true;
  };
  if (cached()) return result;
  if (options.offline) {
    throw AssetDownloadError(url, absl::StrCat("offline (HF_HUB_OFFLINE or --offline), and the "
                                               "file is not in the cache ",
                                               entry, "; download it once while online"));
  }
  std::error_code error;
  // FileLock creates the entry's folder, or says why it cannot.
  FileLock lock((fs::path(entry) / ".lock").string(), url, [&] { progress.Waiting(name); });
  if (cached()) return result;  // another process finished it

  const fs::path download_dir = fs::path(entry) / "download";
  fs::create_directories(download_dir, error);
  CheckFileSystem(error, url, "create the folder " + download_dir.string());
  FileDownload download =
      ResumableDownload(client, url, (download_dir / name).string(), options.retry);
  download.lock_path = (download_dir / (name + ".lock")).string();
  download.sha256 = options.sha256;
  download.auth_hint =
      "the server wants credentials modelhub cannot give; download the file "
      "yourself and point the card's checkpoint at it";
  result.download = DownloadFile(client, download, options.retry, progress);

  manifest = UrlManifest{};
  manifest.url = url;
  manifest.size = fs::file_size(download.final_path, error);
  CheckFileSystem(error, url, "read the size of " + download.final_path);
  manifest.sha256 = result.download.sha256;
  if (manifest.sha256.empty()) {  // downloaded by another process meanwhile
    try {
      manifest.sha256 = Sha256OfFile(download.final_path);
    } catch (const std::runtime_error& e) {
      throw AssetDownloadError(url, e.what());
    }
  }
  const fs::path content = fs::path(entry) / "content";
  fs::remove_all(content, error);
  CheckFileSystem(error, url, "remove the old " + content.string());
  if (IsArchiveName(name)) {
    const std::string staging = content.string() + ".tmp." + std::to_string(::getpid());
    fs::remove_all(staging, error);
    std::vector<ExtractedFile> files;
    try {
      files = ExtractArchive(download.final_path, staging, url);
    } catch (const AssetDownloadError&) {
      fs::remove(download.final_path, error);  // nothing unusable stays in the cache
      throw;
    }
    for (ExtractedFile& file : files) manifest.files.push_back({file.path, file.size, file.sha256});
    fs::rename(staging, content, error);
    CheckFileSystem(error, url, absl::StrCat("rename ", staging, " to ", content.string()));
    fs::remove(download.final_path, error);  // the unpacked files are what is kept
    manifest.unpacked = true;
  } else {
    fs::create_directories(content, error);
    CheckFileSystem(error, url, "create the folder " + content.string());
    fs::rename(download.final_path, content / name, error);
    CheckFileSystem(
        error, url,
        absl::StrCat("rename ", download.final_path, " to ", (content / name).string()));
    manifest.files.push_back({name, manifest.size, manifest.sha256});
  }
  WriteManifest(entry, manifest);
  result.path = ContentPath(entry, manifest);
  return result;
}

}  // namespace modelhub
