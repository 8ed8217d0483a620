#include "runtime/download/github_repo.h"

#include <unistd.h>

#include <filesystem>
#include <nlohmann/json.hpp>
#include <system_error>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/strip.h"
#include "runtime/core/environment.h"
#include "runtime/core/errors.h"
#include "runtime/download/archive_extract.h"
#include "runtime/download/file_lock.h"
#include "runtime/download/http_client.h"
#include "runtime/download/torch_hub_files.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;

// The most pages of 100 branches (or tags) read while checking a ref.
constexpr int kMaxListingPages = 1000;

bool IsNamePart(std::string_view part) {
  if (part.empty() || part == "." || part == "..") return false;
  for (char c : part) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.';
    if (!ok) return false;
  }
  return true;
}

// A ref modelhub puts into URLs and folder names as it is: letters, digits and
// "._-+/", without "..", an empty segment or a leading '/'.
bool IsRefText(std::string_view ref) {
  if (ref.empty() || ref.front() == '/' || ref.back() == '/') return false;
  if (ref.find("..") != std::string_view::npos || ref.find("//") != std::string_view::npos) {
    return false;
  }
  for (char c : ref) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '-' || c == '_' || c == '.' || c == '+' || c == '/';
    if (!ok) return false;
  }
  return true;
}

std::string WithoutTrailingSlash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

std::string RepoUrl(const GithubSettings& settings, const GithubRepoRef& repo) {
  return absl::StrCat(settings.url, "/", repo.owner, "/", repo.repo);
}

// What to add to the message of a refused API request.
std::string ApiHint(long status) {
  if (status == 401 || status == 403 || status == 429) {
    return "; GitHub's API allows 60 requests an hour without a token: set GITHUB_TOKEN, or "
           "skip the ref check (skip_validation, --skip-validation)";
  }
  if (status == 404)
    return "; check the owner and repository names (a private one needs GITHUB_TOKEN)";
  return "";
}

// main or master, as torch.hub's _parse_repo_info decides.
std::string DefaultBranch(HttpClient& client, const GithubRepoRef& repo,
                          const GithubSettings& settings, const GithubFetchOptions& options) {
  const auto cached = [&]() -> std::string {
    for (const char* branch : {"main", "master"}) {
      GithubRepoRef at = repo;
      at.ref = branch;
      std::error_code error;
      if (fs::is_directory(GithubRepoCacheDir(at), error)) return branch;
    }
    return "";
  };
  if (settings.offline) {
    if (std::string branch = cached(); !branch.empty()) return branch;
    throw CardRepositoryError(
        repo.ToString(),
        absl::StrCat("no network (HF_HUB_OFFLINE=1) and neither a main nor a master folder of it "
                     "in ",
                     GetHubDir(), "; name the ref (owner/repo:ref) or go online"));
  }
  HttpRequest request;
  request.url = absl::StrCat(RepoUrl(settings, repo), "/tree/main/");
  HttpResponse response;
  try {
    response = SendWithRetries(client, request, options.retry, repo.ToString(),
                               "asking whether it has a main branch");
  } catch (const AssetDownloadError&) {
    if (std::string branch = cached(); !branch.empty()) return branch;
    throw;
  }
  if (response.status < 300) return "main";
  if (response.status == 404) return "master";
  throw AssetDownloadError(
      request.url, absl::StrCat("HTTP ", response.status, ": ", ServerReason(response),
                                " (asking whether ", repo.ToString(), " has a main branch)"));
}

// torch.hub's _validate_not_a_forked_repo: the ref is the name or a commit id
// prefix of one of the repository's branches or tags.
void CheckRefIsOfRepo(HttpClient& client, const GithubRepoRef& repo, const GithubSettings& settings,
                      const GithubFetchOptions& options) {
  // A qualified ref (refs/heads/x, refs/tags/x) is looked for in its listing.
  absl::string_view ref = repo.ref;
  std::vector<const char*> kinds = {"branches", "tags"};
  if (absl::ConsumePrefix(&ref, "refs/heads/")) kinds = {"branches"};
  if (absl::ConsumePrefix(&ref, "refs/tags/")) kinds = {"tags"};
  for (const char* kind : kinds) {
    for (int page = 1; page <= kMaxListingPages; ++page) {
      HttpRequest request;
      request.url = absl::StrCat(settings.api_url, "/repos/", repo.owner, "/", repo.repo, "/", kind,
                                 "?per_page=100&page=", page);
      request.bearer_token = settings.token;
      std::string body;
      const HttpResponse response =
          SendWithRetries(client, request, options.retry, request.url,
                          absl::StrCat("the ", kind, " of ", repo.ToString()), &body);
      if (response.status >= 300) {
        throw AssetDownloadError(
            request.url, absl::StrCat("HTTP ", response.status, ": ", ServerReason(response),
                                      ApiHint(response.status)));
      }
      const auto malformed = [&](const std::string& why) {
        return AssetDownloadError(
            request.url, absl::StrCat("the answer is not a list of {name, commit: {sha}}: ", why));
      };
      nlohmann::json listing;
      try {
        listing = nlohmann::json::parse(body);
        if (!listing.is_array()) throw malformed("it is not a list");
        for (const nlohmann::json& entry : listing) {
          const std::string name = entry.at("name").get<std::string>();
          const std::string sha = entry.at("commit").at("sha").get<std::string>();
          if (name == ref || absl::StartsWith(sha, ref)) return;
        }
      } catch (const nlohmann::json::exception& e) {
        throw malformed(e.what());
      }
      if (listing.size() < 100) break;
    }
  }
  throw CardRepositoryError(
      repo.ToString(),
      absl::StrCat("cannot find ", repo.ref, " in ", RepoUrl(settings, repo),
                   ": it is no branch, tag or commit of it (a commit of a fork: name the fork)"));
}

// The archive URL of `repo`: <url>/<owner>/<repo>/zipball/<ref>, or, when
// GitHub answers that the ref is both a branch and a tag (300 Multiple
// Choices), the branch's (zipball/refs/heads/<ref>), as torch.hub and git
// decide, with a warning on options.log.
std::string ArchiveUrl(HttpClient& client, const GithubRepoRef& repo,
                       const GithubSettings& settings, const GithubFetchOptions& options) {
  const std::string url = absl::StrCat(RepoUrl(settings, repo), "/zipball/", repo.ref);
  HttpRequest request;
  request.url = url;
  request.head = true;
  request.redirects = Redirects::kNone;
  const HttpResponse response =
      SendWithRetries(client, request, options.retry, url, "asking for the archive");
  if (response.status != 300) return url;
  if (options.log != nullptr) {
    *options.log << "Warning: " << repo.ref << " is both a branch and a tag of " << repo.owner
                 << "/" << repo.repo << "; taking the branch (name refs/tags/" << repo.ref
                 << " for the tag)\n";
  }
  return absl::StrCat(RepoUrl(settings, repo), "/zipball/refs/heads/", repo.ref);
}

// Downloads the archive of `repo` and makes its top folder `dir`.
void DownloadAndUnpack(HttpClient& client, const GithubRepoRef& repo, const std::string& dir,
                       const GithubSettings& settings, const GithubFetchOptions& options) {
  const fs::path target(dir);
  const fs::path hub = target.parent_path();
  const std::string name = target.filename().string();
  const std::string url = ArchiveUrl(client, repo, settings, options);
  const fs::path archive = hub / (name + ".zip");
  if (options.log != nullptr) {
    *options.log << "Downloading: \"" << url << "\" to " << archive.string() << "\n";
  }
  DownloadUrlOptions download;
  download.progress = false;
  download.retry = options.retry;
  DownloadUrlToFile(url, archive.string(), download);

  const std::string tag = absl::StrCat(".", name, ".", ::getpid());
  const fs::path unpacked = hub / (tag + ".unpacking");
  const fs::path previous = hub / (tag + ".previous");
  std::error_code ignored;
  fs::remove_all(unpacked, ignored);
  fs::remove_all(previous, ignored);
  try {
    ExtractArchive(archive.string(), unpacked.string(), url);
  } catch (...) {
    fs::remove(archive, ignored);
    throw;
  }
  fs::remove(archive, ignored);
  std::vector<fs::path> top;
  for (const fs::directory_entry& entry : fs::directory_iterator(unpacked)) {
    top.push_back(entry.path());
  }
  if (top.size() != 1 || !fs::is_directory(top[0])) {
    fs::remove_all(unpacked, ignored);
    throw AssetDownloadError(
        url, absl::StrCat("the archive holds ", top.size(), " entries at its top, not one folder"));
  }
  std::error_code error;
  const bool replacing = fs::exists(target);
  if (replacing) fs::rename(target, previous, error);
  if (!error) fs::rename(top[0], target, error);
  if (error) {
    if (replacing && !fs::exists(target)) fs::rename(previous, target, ignored);
    fs::remove_all(unpacked, ignored);
    throw AssetDownloadError(
        url, absl::StrCat("cannot move the unpacked files to ", dir, ": ", error.message()));
  }
  fs::remove_all(previous, ignored);
  fs::remove_all(unpacked, ignored);
}

}  // namespace

std::string GithubRepoRef::ToString() const {
  return ref.empty() ? absl::StrCat(owner, "/", repo) : absl::StrCat(owner, "/", repo, ":", ref);
}

GithubRepoRef ParseGithubRepoRef(std::string_view text) {
  GithubRepoRef parsed;
  std::string_view rest = text;
  if (const size_t colon = rest.find(':'); colon != std::string_view::npos) {
    parsed.ref = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
  }
  const size_t slash = rest.find('/');
  if (slash != std::string_view::npos) {
    parsed.owner = std::string(rest.substr(0, slash));
    parsed.repo = std::string(rest.substr(slash + 1));
  }
  const bool ref_ok =
      parsed.ref.empty() ? text.find(':') == std::string_view::npos : IsRefText(parsed.ref);
  if (!IsNamePart(parsed.owner) || !IsNamePart(parsed.repo) || !ref_ok) {
    throw CardRepositoryError(
        std::string(text),
        "expected owner/repo or owner/repo:ref (owner and repo of letters, digits, '-', '_' and "
        "'.'; a ref of those, '+' and '/', without '..')");
  }
  return parsed;
}

GithubSettings GithubSettingsFromEnvironment() {
  GithubSettings settings;
  if (std::string url = GetEnv("MODELHUB_GITHUB_URL"); !url.empty()) {
    settings.url = WithoutTrailingSlash(url);
  }
  if (std::string url = GetEnv("MODELHUB_GITHUB_API_URL"); !url.empty()) {
    settings.api_url = WithoutTrailingSlash(url);
  }
  settings.token = GetEnv("GITHUB_TOKEN");
  settings.offline = EnvFlag("HF_HUB_OFFLINE");
  return settings;
}

std::string GithubRepoCacheDir(const GithubRepoRef& repo) {
  std::string ref = repo.ref;
  for (char& c : ref) {
    if (c == '/') c = '_';
  }
  return (fs::path(GetHubDir()) / absl::StrCat(repo.owner, "_", repo.repo, "_", ref)).string();
}

FetchedGithubRepo FetchGithubRepo(const GithubRepoRef& repo, const GithubSettings& settings,
                                  const GithubFetchOptions& options) {
  HttpClient client;
  FetchedGithubRepo fetched;
  fetched.ref = repo;
  if (fetched.ref.ref.empty()) fetched.ref.ref = DefaultBranch(client, repo, settings, options);
  fetched.dir = GithubRepoCacheDir(fetched.ref);
  std::error_code error;
  fs::create_directories(GetHubDir(), error);
  if (error) {
    throw CardRepositoryError(
        fetched.ref.ToString(),
        absl::StrCat("cannot create the hub folder ", GetHubDir(), ": ", error.message()));
  }
  FileLock lock(TempLockPath(fetched.dir), fetched.ref.ToString());
  if (!options.force_reload && fs::is_directory(fetched.dir, error)) {
    if (options.log != nullptr) *options.log << "Using cache found in " << fetched.dir << "\n";
    return fetched;
  }
  if (settings.offline) {
    throw CardRepositoryError(
        fetched.ref.ToString(),
        absl::StrCat("no network (HF_HUB_OFFLINE=1)",
                     options.force_reload ? " to reload it"
                                          : absl::StrCat(" and ", fetched.dir, " is not there")));
  }
  if (!options.skip_validation) CheckRefIsOfRepo(client, fetched.ref, settings, options);
  DownloadAndUnpack(client, fetched.ref, fetched.dir, settings, options);
  fetched.downloaded = true;
  return fetched;
}

}  // namespace modelhub
