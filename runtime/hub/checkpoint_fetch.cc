#include "runtime/hub/checkpoint_fetch.h"

#include <filesystem>
#include <functional>
#include <set>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "runtime/core/errors.h"
#include "runtime/download/download_progress.h"
#include "runtime/download/hf_hub.h"
#include "runtime/download/torch_hub_files.h"
#include "runtime/download/url_cache.h"
#include "runtime/formats/checkpoint_files.h"

namespace modelhub {
namespace fs = std::filesystem;
namespace {

// `inside` joined to `root`, refused when it leads out of `root` (through
// "..", or a symlink).
std::string JoinInside(const std::string& uri, const std::string& root,
                       const std::optional<std::string>& inside) {
  if (!inside || *inside == "." || inside->empty()) return root;
  const fs::path joined = (fs::path(root) / *inside).lexically_normal();
  std::error_code error;
  const fs::path real_root = fs::weakly_canonical(root, error);
  const fs::path real = fs::weakly_canonical(joined, error);
  const auto [end, unused] =
      std::mismatch(real_root.begin(), real_root.end(), real.begin(), real.end());
  if (error || end != real_root.end()) {
    throw AssetDownloadError(uri, absl::StrCat("checkpoint_path '", *inside, "' leads out of ",
                                               root, " (to ", real.string(), "); refused"));
  }
  if (!fs::exists(joined, error)) {
    throw AssetDownloadError(uri, absl::StrCat("checkpoint_path '", *inside, "' is not in ", root));
  }
  return joined.string();
}

// The number of checkpoint files (tensor files, index, config.json) the
// snapshot holds at `inside`, or 0 when they do not make a loadable
// checkpoint (with the repo's config.json when the checkpoint is the root).
int CompleteSnapshotFiles(const std::string& snapshot, const std::optional<std::string>& inside) {
  std::error_code error;
  if (!fs::is_directory(snapshot, error)) return 0;
  const bool at_root = !inside || inside->empty() || *inside == ".";
  if (at_root && !fs::is_regular_file(fs::path(snapshot) / "config.json", error)) return 0;
  const fs::path target = at_root ? fs::path(snapshot) : fs::path(snapshot) / *inside;
  try {
    const CheckpointFiles files = FindCheckpointFiles(target.string());
    for (const std::string& file : files.tensor_files) {
      if (!fs::is_regular_file(file, error)) return 0;
    }
    if (files.tensor_files.empty()) return 0;
    return static_cast<int>(files.tensor_files.size()) + (files.index_file.empty() ? 0 : 1) +
           (files.config_json ? 1 : 0);
  } catch (const Error&) {
    return 0;
  }
}

// The repo files to fetch for the checkpoint at `inside` (a file or folder of
// the repo) besides the shards of an index: config.json and the chosen files.
// `index` receives the chosen index file ("" for none).
std::vector<std::string> ChooseRepoFiles(const HfRepoRef& repo, const RepoListing& listing,
                                         const std::optional<std::string>& inside,
                                         std::string& index) {
  const std::string folder = !inside || *inside == "." ? "" : *inside;
  std::vector<std::string> chosen;
  auto add_if_listed = [&](const std::string& path) {
    if (listing.find(path) != nullptr) chosen.push_back(path);
  };
  if (!folder.empty() && listing.find(folder) != nullptr) {
    chosen.push_back(folder);
    if (absl::EndsWith(folder, ".index.json")) index = folder;
    add_if_listed((fs::path(folder).parent_path() / "config.json").string());
    return chosen;
  }
  const std::string prefix = folder.empty() ? "" : folder + "/";
  std::vector<std::string> names;
  for (const HubFile& file : listing.files) {
    if (!absl::StartsWith(file.path, prefix)) continue;
    const std::string name = file.path.substr(prefix.size());
    if (name.find('/') == std::string::npos) names.push_back(name);
  }
  if (names.empty()) {
    throw AssetDownloadError(repo.uri(), absl::StrCat("the repo has no file or folder '", folder,
                                                      "' at commit ", listing.commit));
  }
  const CheckpointChoice choice = ChooseCheckpointFiles(repo.uri() + "/" + folder, names);
  add_if_listed(prefix + "config.json");
  if (!choice.index.empty()) {
    index = prefix + choice.index;
    chosen.push_back(index);
  }
  for (const std::string& name : choice.files) chosen.push_back(prefix + name);
  return chosen;
}

// The files of a tokenizer that are fetched from a repo folder.
constexpr const char* kTokenizerFiles[] = {"tokenizer.json", "tokenizer_config.json",
                                           "special_tokens_map.json", "tokenizer.model"};

// The number of tokenizer files the snapshot holds at `inside`, or 0 when it
// has neither tokenizer.json nor tokenizer.model there.
int CompleteTokenizerFiles(const std::string& snapshot, const std::optional<std::string>& inside) {
  std::error_code error;
  const fs::path target =
      !inside || *inside == "." ? fs::path(snapshot) : fs::path(snapshot) / *inside;
  if (fs::is_regular_file(target, error)) return 1;
  if (!fs::is_regular_file(target / "tokenizer.json", error) &&
      !fs::is_regular_file(target / "tokenizer.model", error)) {
    return 0;
  }
  int count = 0;
  for (const char* name : kTokenizerFiles) count += fs::is_regular_file(target / name, error);
  return count;
}

// The tokenizer files of the repo folder (or the one file) `inside`.
std::vector<std::string> ChooseTokenizerFiles(const HfRepoRef& repo, const RepoListing& listing,
                                              const std::optional<std::string>& inside,
                                              std::string& index) {
  index.clear();
  const std::string folder = !inside || *inside == "." ? "" : *inside;
  if (!folder.empty() && listing.find(folder) != nullptr) return {folder};
  const std::string prefix = folder.empty() ? "" : folder + "/";
  std::vector<std::string> chosen;
  for (const char* name : kTokenizerFiles) {
    if (listing.find(prefix + name) != nullptr) chosen.push_back(prefix + name);
  }
  if (listing.find(prefix + "tokenizer.json") == nullptr &&
      listing.find(prefix + "tokenizer.model") == nullptr) {
    throw AssetDownloadError(
        repo.uri(), absl::StrCat("the repo has no tokenizer.json nor tokenizer.model in '",
                                 folder.empty() ? "/" : folder, "' at commit ", listing.commit));
  }
  return chosen;
}

std::vector<ExpectedSha256> CardHashes(const std::map<std::string, std::string>& sha256,
                                       const std::string& file) {
  auto it = sha256.find(file);
  if (it == sha256.end()) return {};
  return {{it->second, "the card's checkpoint_sha256"}};
}

void Count(const FileDownloadResult& result, FetchReport& report) {
  (result.cached ? report.files_cached : report.files_downloaded) += 1;
  report.bytes_received += result.bytes_received;
}

// What to fetch of a repo: `complete` counts the files a cached snapshot has
// of it at `inside` (0 when it lacks some), `choose` lists the repo files to
// fetch (the index among them, also in `index`, whose shards follow).
struct RepoSelection {
  const char* what;  // "checkpoint", "tokenizer"
  std::function<int(const std::string& snapshot, const std::optional<std::string>& inside)>
      complete;
  std::function<std::vector<std::string>(const HfRepoRef& repo, const RepoListing& listing,
                                         const std::optional<std::string>& inside,
                                         std::string& index)>
      choose;
};

FetchReport FetchFromHub(const std::string& uri, const std::optional<std::string>& inside,
                         const std::map<std::string, std::string>& sha256,
                         const FetchOptions& options, const RepoSelection& selection) {
  HubSettings settings = HubSettingsFromEnvironment();
  settings.offline = settings.offline || options.offline;
  const HfRepoRef repo = ParseHgUri(uri);
  if (sha256.count("") != 0) {
    throw AssetDownloadError(uri,
                             "checkpoint_sha256 of an hg:// checkpoint must map each repo "
                             "file to its hash (file: hash), not be one hash");
  }
  HttpClient client(options.timeouts);
  HubRepoClient hub(settings, repo, client, options.retry);
  FetchReport report;
  if (std::optional<std::string> commit = hub.cache().ResolveRevision(repo.revision)) {
    const std::string snapshot = hub.cache().snapshot_dir(*commit);
    report.files_cached = selection.complete(snapshot, inside);
    if (report.files_cached > 0) {
      report.path = JoinInside(uri, snapshot, inside);
      return report;
    }
    if (settings.offline) {
      throw AssetDownloadError(
          uri, absl::StrCat("offline (HF_HUB_OFFLINE or --offline), and the cached snapshot ",
                            snapshot, " lacks files of the ", selection.what,
                            inside ? absl::StrCat(" '", *inside, "'") : "",
                            "; download it once while online (modelhub download ", uri, ")"));
    }
  } else if (settings.offline) {
    throw AssetDownloadError(
        uri, absl::StrCat("offline (HF_HUB_OFFLINE or --offline), and the cache ",
                          hub.cache().dir(), " has no snapshot of revision '", repo.revision,
                          "'; download it once while online (modelhub download ", uri, ")"));
  }

  const RepoListing listing = hub.List();
  std::string index;
  std::vector<std::string> files = selection.choose(repo, listing, inside, index);
  uint64_t total = 0;
  for (const std::string& file : files) total += listing.find(file)->size;
  DownloadProgress progress(ChooseProgressStyle(options.progress, options.quiet), total);
  FileDownloadResult result;
  if (!index.empty()) {
    // The index names the shards: fetch it first.
    hub.Fetch(listing.commit, index, CardHashes(sha256, index), progress, &result);
    Count(result, report);
    const std::string local = (fs::path(hub.cache().snapshot_dir(listing.commit)) / index).string();
    std::set<std::string> shards;
    for (const auto& [tensor, shard] : ReadCheckpointIndex(local)) {
      shards.insert((fs::path(index).parent_path() / shard).string());
    }
    for (const std::string& shard : shards) {
      if (listing.find(shard) == nullptr) {
        throw AssetDownloadError(uri, absl::StrCat("the index ", index, " names the shard ", shard,
                                                   ", which the repo does not have"));
      }
      files.push_back(shard);
      progress.AddToTotal(listing.find(shard)->size);
    }
    files.erase(std::remove(files.begin(), files.end(), index), files.end());
  }
  for (const std::string& file : files) {
    hub.Fetch(listing.commit, file, CardHashes(sha256, file), progress, &result);
    Count(result, report);
  }
  if (repo.revision != listing.commit) hub.cache().WriteRef(repo.revision, listing.commit);
  report.requests = hub.requests();
  report.path = JoinInside(uri, hub.cache().snapshot_dir(listing.commit), inside);
  return report;
}

FetchReport FetchFromUrl(const std::string& uri, const std::optional<std::string>& inside,
                         const std::map<std::string, std::string>& sha256,
                         const FetchOptions& options) {
  UrlFetchOptions fetch;
  fetch.cache_dir = ModelhubCacheDir();
  fetch.offline = options.offline || HubSettingsFromEnvironment().offline;
  fetch.retry = options.retry;
  for (const std::string& key : {std::string(), UrlFileName(uri)}) {
    if (auto it = sha256.find(key); it != sha256.end()) {
      fetch.sha256.push_back({it->second, "the card's checkpoint_sha256"});
    }
  }
  // torch.hub's convention: name-<hex>.pth carries a prefix of its SHA-256.
  if (std::optional<std::string> prefix = HashPrefixOfFileName(UrlFileName(uri))) {
    fetch.sha256.push_back(
        {*prefix, "the hash prefix in the file name, torch.hub's convention", true});
  }
  HttpClient client(options.timeouts);
  DownloadProgress progress(ChooseProgressStyle(options.progress, options.quiet), 0);
  const UrlFetchResult result = FetchUrl(uri, client, fetch, progress);
  FetchReport report;
  if (!result.cached) Count(result.download, report);
  report.files_cached = result.cached ? 1 : 0;
  report.requests = result.cached ? 0 : result.download.requests + 1;
  report.path = JoinInside(uri, result.path, inside);
  return report;
}

}  // namespace

FetchReport FetchCheckpoint(const std::string& uri, const std::optional<std::string>& inside,
                            const std::map<std::string, std::string>& sha256,
                            const FetchOptions& options) {
  try {
    if (absl::StartsWith(uri, "hg://")) {
      return FetchFromHub(uri, inside, sha256, options,
                          {"checkpoint", CompleteSnapshotFiles, ChooseRepoFiles});
    }
    if (absl::StartsWith(uri, "https://") || absl::StartsWith(uri, "http://")) {
      return FetchFromUrl(uri, inside, sha256, options);
    }
  } catch (const std::system_error& e) {
    // The cache's file system failed (full disk, permissions): say where.
    throw AssetDownloadError(uri, absl::StrCat("the cache: ", e.what()));
  }
  throw AssetDownloadError(uri, "modelhub downloads hg://, https:// and http:// checkpoints only");
}

FetchReport FetchTokenizer(const std::string& uri, const std::optional<std::string>& inside,
                           const FetchOptions& options) {
  try {
    if (absl::StartsWith(uri, "hg://")) {
      return FetchFromHub(uri, inside, {}, options,
                          {"tokenizer", CompleteTokenizerFiles, ChooseTokenizerFiles});
    }
    if (absl::StartsWith(uri, "https://") || absl::StartsWith(uri, "http://")) {
      return FetchFromUrl(uri, inside, {}, options);
    }
  } catch (const std::system_error& e) {
    throw AssetDownloadError(uri, absl::StrCat("the cache: ", e.what()));
  }
  throw AssetDownloadError(uri, "modelhub downloads hg://, https:// and http:// tokenizers only");
}

}  // namespace modelhub
