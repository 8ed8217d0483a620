#include "tools/cli/download_commands.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/assets/asset_card.h"
#include "runtime/download/cache_admin.h"
#include "runtime/download/download_progress.h"
#include "runtime/download/hf_cache.h"
#include "runtime/download/torch_hub_files.h"
#include "runtime/download/url_cache.h"
#include "runtime/hub/checkpoint_fetch.h"
#include "runtime/hub/model_loader.h"
#include "runtime/hub/state_dict_url.h"
#include "tools/cli/usage_error.h"

namespace modelhub::cli {
namespace {

// The entries `target` names: its URI, or a card's checkpoint URI.
std::vector<CacheEntry> Matching(const std::string& target) {
  std::string uri = target;
  if (!IsRemoteUri(target)) uri = DefaultAssetStore().card(target).ResolvePath("checkpoint");
  std::vector<CacheEntry> found;
  for (CacheEntry& entry : ListCache(HfHubCacheDir(), ModelhubCacheDir())) {
    // hg://org/name matches the repo whatever revision a card asks for.
    const std::string repo_uri = uri.substr(0, uri.find('@'));
    if (entry.uri == uri || (entry.kind == CacheEntry::Kind::kHubRepo && entry.uri == repo_uri)) {
      found.push_back(std::move(entry));
    }
  }
  if (found.empty()) throw Error(absl::StrCat("nothing in the cache for ", uri));
  return found;
}

}  // namespace

void RunDownload(const std::string& target, bool quiet, std::ostream& out) {
  FetchOptions options;
  options.progress = true;
  options.quiet = quiet;
  const FetchReport report = IsRemoteUri(target)
                                 ? FetchCheckpoint(target, std::nullopt, {}, options)
                                 : FetchCardCheckpoint(DefaultAssetStore().card(target), options);
  out << report.files_downloaded << " files downloaded (" << FormatBytes(report.bytes_received)
      << "), " << report.files_cached << " in the cache\n"
      << report.path << "\n";
}

bool IsHttpUrl(const std::string& target) {
  return target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0;
}

void RunDownloadTo(const std::string& url, const std::string& dst, const std::string& hash_prefix,
                   bool quiet, std::ostream& out) {
  if (!IsHttpUrl(url)) {
    throw UsageError(absl::StrCat("--to downloads an http(s) URL, not '", url, "'"));
  }
  DownloadUrlOptions options;
  options.hash_prefix = hash_prefix;
  options.progress = !quiet;
  out << "sha256 " << DownloadUrlToFile(url, dst, options) << "\n" << dst << "\n";
}

std::string FetchInspectedUrl(const std::string& url, bool check_hash) {
  LoadStateDictOptions options;
  options.check_hash = check_hash;
  return FetchStateDictFile(url, options);
}

void ListCacheEntries(std::ostream& out) {
  const std::string hub = HfHubCacheDir();
  const std::string urls = ModelhubCacheDir();
  for (const CacheEntry& entry : ListCache(hub, urls)) {
    out << entry.uri << "  " << FormatBytes(entry.bytes) << "  " << entry.files << " files";
    if (entry.partial_bytes > 0) out << "  (" << FormatBytes(entry.partial_bytes) << " partial)";
    if (!entry.revisions.empty()) out << "  " << absl::StrJoin(entry.revisions, ", ");
    out << "\n";
  }
  out << "# Hugging Face cache: " << hub << "\n# modelhub cache: " << urls << "/url\n";
}

void RemoveCacheEntries(const std::string& target, std::ostream& out) {
  for (const CacheEntry& entry : Matching(target)) {
    RemoveCacheEntry(entry, HfHubCacheDir());
    out << "removed " << entry.uri << " (" << FormatBytes(entry.bytes + entry.partial_bytes) << ", "
        << entry.path << ")\n";
  }
}

bool VerifyCacheEntries(const std::string& target, std::ostream& out) {
  const std::vector<CacheEntry> entries =
      target.empty() ? ListCache(HfHubCacheDir(), ModelhubCacheDir()) : Matching(target);
  bool good = true;
  for (const CacheEntry& entry : entries) {
    const CacheVerification result = VerifyCacheEntry(entry);
    for (const CacheProblem& problem : result.problems) {
      out << "BAD " << problem.file << ": " << problem.what << "\n";
    }
    out << (result.problems.empty() ? "ok  " : "BAD ") << entry.uri << "  " << result.verified
        << " files verified";
    if (result.unchecked > 0) out << ", " << result.unchecked << " without a hash to check";
    out << "\n";
    good = good && result.problems.empty();
  }
  return good;
}

}  // namespace modelhub::cli
