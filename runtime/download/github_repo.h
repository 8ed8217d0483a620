#ifndef MODELHUB_RUNTIME_DOWNLOAD_GITHUB_REPO_H_
#define MODELHUB_RUNTIME_DOWNLOAD_GITHUB_REPO_H_

// GitHub repositories fetched as torch.hub fetches them (its
// _get_cache_or_reload): the archive of a ref, unpacked into
// <hub dir>/<owner>_<repo>_<ref> and reused from there. Only files are
// fetched; nothing in them is run.

#include <ostream>
#include <string>
#include <string_view>

#include "runtime/download/file_download.h"

namespace modelhub {

// A repository at a ref, as torch.hub names one: "owner/repo[:ref]".
struct GithubRepoRef {
  std::string owner;
  std::string repo;
  // A branch, a tag or a commit; "" for the default branch (main when the
  // repository has one, else master, as torch.hub decides).
  std::string ref;

  // "owner/repo" or "owner/repo:ref".
  std::string ToString() const;
};

// Parses "owner/repo[:ref]": one '/', owner and repo made of letters, digits,
// '-', '_' and '.' (not "." or ".."), a ref without spaces, "..", or control
// characters. Throws CardRepositoryError naming `text` and the expected form.
GithubRepoRef ParseGithubRepoRef(std::string_view text);

// Where GitHub is: $MODELHUB_GITHUB_URL (default https://github.com) serves
// tree pages and archives, $MODELHUB_GITHUB_API_URL (default
// https://api.github.com) the REST API, which gets $GITHUB_TOKEN when set;
// HF_HUB_OFFLINE=1 makes no request at all.
struct GithubSettings {
  std::string url = "https://github.com";
  std::string api_url = "https://api.github.com";
  std::string token;
  bool offline = false;
};

// The settings the environment gives (see GithubSettings).
GithubSettings GithubSettingsFromEnvironment();

// How FetchGithubRepo fetches.
struct GithubFetchOptions {
  // Download the archive even when the folder is there, and replace it.
  bool force_reload = false;
  // Skip the check (two API listings) that the ref is a branch, tag or commit
  // of this repository rather than of a fork.
  bool skip_validation = false;
  // Where "Using cache found in ..." and "Downloading ..." go (nullptr: nowhere).
  std::ostream* log = nullptr;
  RetryPolicy retry;
};

// A fetched repository.
struct FetchedGithubRepo {
  GithubRepoRef ref;  // with the ref decided (never "")
  std::string dir;    // <hub dir>/<owner>_<repo>_<ref, '/' as '_'>
  bool downloaded = false;
};

// The folder torch.hub keeps `repo` in: <GetHubDir()>/<owner>_<repo>_<ref>
// with each '/' of the ref as '_'. `repo.ref` must not be "".
std::string GithubRepoCacheDir(const GithubRepoRef& repo);

// Makes the files of `repo` at its ref available in GithubRepoCacheDir, as
// torch.hub does: the default branch decided by asking for
// <url>/<owner>/<repo>/tree/main/ (200: main, 404: master; the cached main or
// master folder, in that order, when the network fails or is off); the folder
// used as it is unless options.force_reload; otherwise the ref checked against
// the API's branches and tags (name, or commit id prefix) unless
// options.skip_validation, <url>/<owner>/<repo>/zipball/<ref> (the branch's,
// zipball/refs/heads/<ref>, when the ref names a branch and a tag) downloaded into
// the hub folder (resumable, retried), unpacked beside it and renamed into
// place (replacing the old folder only once the new one is complete; the
// archive is deleted). Concurrent calls for one folder wait for each other.
// Throws CardRepositoryError for a ref the repository does not have (or a
// default branch that cannot be decided), AssetDownloadError for failed
// requests (naming the URL and the server's reason; a 401/403/rate limit says
// to set GITHUB_TOKEN) and for archives that do not unpack (links, paths
// outside the folder, not one top folder).
FetchedGithubRepo FetchGithubRepo(const GithubRepoRef& repo, const GithubSettings& settings,
                                  const GithubFetchOptions& options = {});

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DOWNLOAD_GITHUB_REPO_H_
