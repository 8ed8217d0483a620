#include "runtime/download/cache_admin.h"

#include <algorithm>
#include <filesystem>
#include <fstream>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "runtime/core/errors.h"
#include "runtime/download/hf_cache.h"
#include "runtime/download/sha256.h"
#include "runtime/download/url_cache.h"

namespace modelhub {
namespace fs = std::filesystem;
namespace {

// The entries of `folder`, as far as it can be listed: a folder that is
// missing or unreadable, or fails midway, lists as what was read (no throw).
std::vector<fs::directory_entry> ListFolder(const fs::path& folder) {
  std::vector<fs::directory_entry> entries;
  std::error_code error;
  for (fs::directory_iterator it(folder, error), end; !error && it != end; it.increment(error)) {
    entries.push_back(*it);
  }
  return entries;
}

// ListFolder, recursively; unreadable subfolders are skipped.
std::vector<fs::directory_entry> ListTree(const fs::path& folder) {
  std::vector<fs::directory_entry> entries;
  std::error_code error;
  for (fs::recursive_directory_iterator
           it(folder, fs::directory_options::skip_permission_denied, error),
       end;
       !error && it != end; it.increment(error)) {
    entries.push_back(*it);
  }
  return entries;
}

CacheEntry HubEntry(const fs::path& folder) {
  CacheEntry entry;
  entry.kind = CacheEntry::Kind::kHubRepo;
  // models--org--name -> org/name
  entry.uri = "hg://" + absl::StrReplaceAll(folder.filename().string().substr(8), {{"--", "/"}});
  entry.path = folder.string();
  std::error_code error;
  for (const auto& blob : ListFolder(folder / "blobs")) {
    const uint64_t size = blob.file_size(error);
    if (blob.path().extension() == ".incomplete") {
      entry.partial_bytes += size;
    } else {
      entry.bytes += size;
      ++entry.files;
    }
  }
  std::vector<std::string> referenced;
  for (const auto& ref : ListTree(folder / "refs")) {
    if (!ref.is_regular_file(error)) continue;
    std::ifstream in(ref.path());
    std::string commit;
    std::getline(in, commit);
    entry.revisions.push_back(
        absl::StrCat(ref.path().lexically_relative(folder / "refs").string(), " -> ", commit));
    referenced.push_back(commit);
  }
  std::sort(entry.revisions.begin(), entry.revisions.end());
  for (const auto& snapshot : ListFolder(folder / "snapshots")) {
    const std::string commit = snapshot.path().filename().string();
    if (std::find(referenced.begin(), referenced.end(), commit) == referenced.end()) {
      entry.revisions.push_back(commit);
    }
  }
  return entry;
}

CacheEntry UrlEntry(const fs::path& folder, const UrlManifest& manifest) {
  CacheEntry entry;
  entry.kind = CacheEntry::Kind::kUrl;
  entry.uri = manifest.url;
  entry.path = folder.string();
  for (const CachedFile& file : manifest.files) entry.bytes += file.size;
  entry.files = static_cast<int>(manifest.files.size());
  std::error_code error;
  for (const auto& file : ListFolder(folder / "download")) {
    if (file.path().extension() == ".incomplete") entry.partial_bytes += file.file_size(error);
  }
  return entry;
}

void Check(const std::string& file, const std::string& expected, uint64_t size,
           CacheVerification& result) {
  std::error_code error;
  if (!fs::is_regular_file(file, error)) {
    result.problems.push_back({file, "missing"});
    return;
  }
  const uint64_t actual_size = fs::file_size(file, error);
  if (size != UINT64_MAX && actual_size != size) {
    result.problems.push_back(
        {file, absl::StrCat("size ", actual_size, ", the manifest says ", size)});
    return;
  }
  std::string actual;
  try {
    actual = Sha256OfFile(file);
  } catch (const std::runtime_error& e) {
    result.problems.push_back({file, e.what()});  // "cannot read ...: Permission denied"
    return;
  }
  if (actual != expected) {
    result.problems.push_back(
        {file, absl::StrCat("SHA-256 mismatch: expected ", expected, ", got ", actual)});
    return;
  }
  ++result.verified;
}

}  // namespace

std::vector<CacheEntry> ListCache(const std::string& hub_cache_dir,
                                  const std::string& url_cache_dir) {
  std::vector<CacheEntry> hub;
  std::vector<CacheEntry> urls;
  std::error_code error;
  for (const auto& folder : ListFolder(hub_cache_dir)) {
    if (folder.is_directory(error) &&
        absl::StartsWith(folder.path().filename().string(), "models--")) {
      hub.push_back(HubEntry(folder.path()));
    }
  }
  for (const auto& folder : ListFolder(fs::path(url_cache_dir) / "url")) {
    UrlManifest manifest;
    if (folder.is_directory(error) && ReadUrlManifest(folder.path().string(), manifest)) {
      urls.push_back(UrlEntry(folder.path(), manifest));
    }
  }
  auto by_uri = [](const CacheEntry& a, const CacheEntry& b) { return a.uri < b.uri; };
  std::sort(hub.begin(), hub.end(), by_uri);
  std::sort(urls.begin(), urls.end(), by_uri);
  hub.insert(hub.end(), urls.begin(), urls.end());
  return hub;
}

CacheVerification VerifyCacheEntry(const CacheEntry& entry) {
  CacheVerification result;
  const fs::path folder(entry.path);
  std::error_code error;
  if (entry.kind == CacheEntry::Kind::kUrl) {
    UrlManifest manifest;
    if (!ReadUrlManifest(entry.path, manifest)) {
      result.problems.push_back({(folder / "manifest.json").string(), "missing"});
      return result;
    }
    for (const CachedFile& file : manifest.files) {
      Check((folder / "content" / file.path).string(), file.sha256, file.size, result);
    }
    return result;
  }
  for (const auto& blob : ListFolder(folder / "blobs")) {
    const std::string name = blob.path().filename().string();
    if (blob.path().extension() == ".incomplete") continue;
    if (LooksLikeSha256(name)) {
      Check(blob.path().string(), name, UINT64_MAX, result);
    } else {
      ++result.unchecked;
    }
  }
  for (const auto& link : ListTree(folder / "snapshots")) {
    if (link.is_symlink(error) && !fs::exists(link.path(), error)) {
      result.problems.push_back({link.path().string(), "dangling link (its blob is gone)"});
    }
  }
  return result;
}

void RemoveCacheEntry(const CacheEntry& entry, const std::string& hub_cache_dir) {
  std::error_code error;
  fs::remove_all(entry.path, error);
  if (!error && entry.kind == CacheEntry::Kind::kHubRepo) {
    fs::remove_all(fs::path(hub_cache_dir) / ".locks" / fs::path(entry.path).filename(), error);
  }
  if (error) {
    throw Error(absl::StrCat("cannot remove the cache entry ", entry.uri, " (", entry.path,
                             "): ", error.message()));
  }
}

}  // namespace modelhub
