#include "runtime/download/hf_hub.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "absl/strings/ascii.h"
#include "absl/strings/str_cat.h"
#include "runtime/core/environment.h"
#include "runtime/core/errors.h"
#include "runtime/download/sha256.h"

namespace modelhub {
namespace fs = std::filesystem;
namespace {

bool ValidRepoPart(const std::string& part) {
  if (part.empty() || part == "." || part == ".." || part.size() > 96) return false;
  for (char c : part) {
    if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.')) {
      return false;
    }
  }
  return true;
}

// Percent-encodes a revision for a URL path segment (branch names may hold '/').
std::string EncodeSegment(const std::string& text) {
  std::string out;
  for (unsigned char c : text) {
    if (absl::ascii_isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      absl::StrAppend(&out, "%",
                      absl::AsciiStrToUpper(absl::StrCat(absl::Hex(c, absl::kZeroPad2))));
    }
  }
  return out;
}

}  // namespace

std::string HfRepoRef::uri() const {
  return revision == "main" ? "hg://" + repo_id : "hg://" + repo_id + "@" + revision;
}

HfRepoRef ParseHgUri(const std::string& uri) {
  const std::string kScheme = "hg://";
  if (uri.rfind(kScheme, 0) != 0) throw AssetDownloadError(uri, "not an hg:// URI");
  std::string rest = uri.substr(kScheme.size());
  HfRepoRef ref;
  if (const size_t at = rest.find('@'); at != std::string::npos) {
    ref.revision = rest.substr(at + 1);
    rest = rest.substr(0, at);
    if (ref.revision.empty()) throw AssetDownloadError(uri, "the revision after '@' is empty");
    // Branch and tag names: letters, digits, '-', '_', '.', '/' (refs/pr/1), no "..".
    for (char c : ref.revision) {
      if (!(absl::ascii_isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' ||
            c == '.' || c == '/')) {
        throw AssetDownloadError(uri, absl::StrCat("the revision '", ref.revision,
                                                   "' holds a character a git ref cannot"));
      }
    }
    if (ref.revision.find("..") != std::string::npos || ref.revision.front() == '/' ||
        ref.revision.back() == '/') {
      throw AssetDownloadError(uri, absl::StrCat("the revision '", ref.revision,
                                                 "' is not a branch, tag or commit name"));
    }
  }
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  const size_t slash = rest.find('/');
  const bool valid = slash == std::string::npos ? ValidRepoPart(rest)
                                                : ValidRepoPart(rest.substr(0, slash)) &&
                                                      ValidRepoPart(rest.substr(slash + 1));
  if (!valid) {
    throw AssetDownloadError(
        uri, "a Hugging Face repo is hg://org/name[@revision] (letters, digits, '-', '_', '.')");
  }
  ref.repo_id = rest;
  return ref;
}

HubSettings HubSettingsFromEnvironment() {
  HubSettings settings;
  if (std::string endpoint = GetEnv("HF_ENDPOINT"); !endpoint.empty()) {
    while (!endpoint.empty() && endpoint.back() == '/') endpoint.pop_back();
    settings.endpoint = endpoint;
  }
  settings.token = GetEnv("HF_TOKEN");
  if (settings.token.empty()) {
    std::ifstream in(fs::path(HfHomeDir()) / "token");
    std::getline(in, settings.token);
    settings.token = std::string(absl::StripAsciiWhitespace(settings.token));
  }
  settings.offline = EnvFlag("HF_HUB_OFFLINE");
  settings.cache_dir = HfHubCacheDir();
  return settings;
}

std::string HubTokenHint(const HubSettings& settings) {
  return settings.token.empty()
             ? "the repo needs a token: set HF_TOKEN or write it to $HF_HOME/token "
               "(and ask for access on the model's page if it is gated)"
             : "the token (from HF_TOKEN or $HF_HOME/token) was refused: check it, and that "
               "it was granted access to this repo";
}

const HubFile* RepoListing::find(const std::string& path) const {
  for (const HubFile& file : files) {
    if (file.path == path) return &file;
  }
  return nullptr;
}

HubRepoClient::HubRepoClient(HubSettings settings, HfRepoRef repo, HttpClient& client,
                             RetryPolicy retry)
    : settings_(std::move(settings)),
      repo_(std::move(repo)),
      cache_(settings_.cache_dir, repo_.repo_id),
      client_(client),
      retry_(retry) {}

std::string HubRepoClient::ResolveUrl(const std::string& revision, const std::string& path) const {
  return absl::StrCat(settings_.endpoint, "/", repo_.repo_id, "/resolve/", EncodeSegment(revision),
                      "/", path);
}

void HubRepoClient::FailOffline(const std::string& what) const {
  throw AssetDownloadError(
      repo_.uri(),
      absl::StrCat("offline (HF_HUB_OFFLINE or --offline), and ", what, " is not in the cache ",
                   cache_.dir(), "; download it once while online (modelhub download ", repo_.uri(),
                   ")"));
}

HttpResponse HubRepoClient::SendToHub(const HttpRequest& request, const std::string& what,
                                      std::string* body) {
  if (settings_.offline) FailOffline(what);
  HttpResponse response =
      SendWithRetries(client_, request, retry_, repo_.uri(), what, body, &requests_);
  if (response.status < 400) return response;
  std::string message =
      absl::StrCat(what, ": HTTP ", response.status, ": ", ServerReason(response));
  if (response.status == 401 || response.status == 403) {
    absl::StrAppend(&message, "; ", HubTokenHint(settings_));
  } else if (response.status == 404) {
    const std::string code = response.header("x-error-code");
    absl::StrAppend(&message, code.empty() ? "" : absl::StrCat(" (", code, ")"),
                    "; check the repo id, revision and file name");
  }
  throw AssetDownloadError(repo_.uri(), message);
}

RepoListing HubRepoClient::List() {
  HttpRequest request;
  request.url = absl::StrCat(settings_.endpoint, "/api/models/", repo_.repo_id, "/revision/",
                             EncodeSegment(repo_.revision), "?blobs=true");
  request.bearer_token = settings_.token;
  std::string body;
  SendToHub(request, absl::StrCat("the file list of ", repo_.uri()), &body);
  RepoListing listing;
  try {
    const nlohmann::json json = nlohmann::json::parse(body);
    listing.commit = json.at("sha").get<std::string>();
    for (const nlohmann::json& sibling : json.at("siblings")) {
      HubFile file;
      file.path = sibling.at("rfilename").get<std::string>();
      file.size = sibling.value("size", uint64_t{0});
      if (sibling.contains("lfs") && sibling["lfs"].is_object()) {
        file.lfs_sha256 = sibling["lfs"].value("sha256", "");
        file.size = sibling["lfs"].value("size", file.size);
      }
      listing.files.push_back(std::move(file));
    }
  } catch (const nlohmann::json::exception& e) {
    throw AssetDownloadError(repo_.uri(), absl::StrCat("the Hub's file list is not what the API "
                                                       "returns: ",
                                                       e.what()));
  }
  if (!IsCommitHash(listing.commit)) {
    throw AssetDownloadError(repo_.uri(), "the Hub's file list names no commit ('sha')");
  }
  return listing;
}

HubFileMetadata HubRepoClient::Head(const std::string& commit, const std::string& path) {
  HttpRequest request;
  request.url = ResolveUrl(commit, path);
  request.head = true;
  request.bearer_token = settings_.token;
  request.redirects = Redirects::kSameHost;
  const HttpResponse response = SendToHub(request, absl::StrCat("file '", path, "'"), nullptr);
  HubFileMetadata metadata;
  metadata.commit = response.header("x-repo-commit");
  metadata.validator = response.header("x-linked-etag");
  if (metadata.validator.empty()) metadata.validator = response.header("etag");
  metadata.etag = NormalizeEtag(metadata.validator);
  std::string size = response.header("x-linked-size");
  if (size.empty()) size = response.header("content-length");
  metadata.size = ParseSizeHeader(size);
  if (metadata.etag.empty() || metadata.etag.find('/') != std::string::npos) {
    throw AssetDownloadError(repo_.uri(),
                             absl::StrCat("file '", path,
                                          "': the Hub sent no usable "
                                          "ETag, so the file has no name in the cache"));
  }
  return metadata;
}

std::string HubRepoClient::Fetch(const std::string& commit, const std::string& path,
                                 const std::vector<ExpectedSha256>& extra_sha256,
                                 DownloadProgress& progress, FileDownloadResult* result) {
  const std::string snapshot_file = (fs::path(cache_.snapshot_dir(commit)) / path).string();
  std::error_code error;
  if (fs::exists(snapshot_file, error)) {
    progress.Cached(path, fs::file_size(snapshot_file, error));
    if (result != nullptr) *result = FileDownloadResult{true, 0, 0, 0, ""};
    return snapshot_file;
  }
  const HubFileMetadata metadata = Head(commit, path);
  FileDownload download;
  download.url = ResolveUrl(commit, path);
  download.bearer_token = settings_.token;
  download.name = path;
  download.source = repo_.uri();
  download.final_path = cache_.blob_path(metadata.etag);
  download.partial_path = cache_.partial_blob_path(metadata.etag);
  download.lock_path = cache_.lock_path(metadata.etag);
  download.validator = metadata.validator;
  download.size = metadata.size;
  download.auth_hint = HubTokenHint(settings_);
  if (LooksLikeSha256(metadata.etag)) {
    download.sha256.push_back({metadata.etag, "the Hub's LFS SHA-256"});
  }
  download.sha256.insert(download.sha256.end(), extra_sha256.begin(), extra_sha256.end());
  FileDownloadResult done = DownloadFile(client_, download, retry_, progress);
  requests_ += done.requests;
  cache_.LinkSnapshotFile(commit, path, metadata.etag);
  if (result != nullptr) *result = done;
  return snapshot_file;
}

}  // namespace modelhub
