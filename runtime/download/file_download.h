#ifndef MODELHUB_RUNTIME_DOWNLOAD_FILE_DOWNLOAD_H_
#define MODELHUB_RUNTIME_DOWNLOAD_FILE_DOWNLOAD_H_

// One file from a URL into a cache, safely: a lock per file, a partial file
// that later runs resume (Range + If-Range), retries with backoff, SHA-256
// computed while the bytes arrive, size and hash checked, then fsync and an
// atomic rename. Nothing half-written ever carries the final name.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "runtime/download/download_progress.h"
#include "runtime/download/http_client.h"

namespace modelhub {

// A SHA-256 a download must have, and who says so (for the error message:
// "the Hub's LFS hash", "the card's checkpoint_sha256").
struct ExpectedSha256 {
  std::string hex;
  std::string source;
  // `hex` is a prefix the hash must start with (torch.hub's hash prefixes).
  bool prefix = false;
};

// When to retry and how long to wait.
struct RetryPolicy {
  // Attempts in a row that make no progress before giving up. An attempt that
  // received bytes resets the count.
  int attempts = 5;
  // Backoff before retry n: first_delay * 2^(n-1), at most max_delay.
  std::chrono::milliseconds first_delay{250};
  std::chrono::milliseconds max_delay{8000};
};

// The backoff `retry` sets before retry number `failures` (1 = the first
// retry; less than 1 counts as 1): first_delay * 2^(failures-1), at most
// max_delay.
std::chrono::milliseconds BackoffDelay(const RetryPolicy& retry, int failures);

// Sleeps BackoffDelay(retry, failures).
void SleepBeforeRetry(const RetryPolicy& retry, int failures);

// True for statuses worth retrying: 5xx, 429 and 408.
bool RetriableStatus(long status);

// Sends a request whose body is small (an API answer, a HEAD), retrying
// transport errors and RetriableStatus answers as `retry` says. `body`, when
// given, receives the body of the answer returned; `requests`, when given,
// counts the requests sent. Returns the first answer not worth retrying, of
// any status (callers report a 4xx their own way). Throws AssetDownloadError
// naming `source` ("<what>: gave up after N attempts; last: ...") when the
// attempts are used up.
HttpResponse SendWithRetries(HttpClient& client, const HttpRequest& request,
                             const RetryPolicy& retry, const std::string& source,
                             const std::string& what, std::string* body = nullptr,
                             int* requests = nullptr);

// A file to fetch.
struct FileDownload {
  std::string url;
  // Sent to the URL's host only (see HttpRequest::bearer_token).
  std::string bearer_token;
  // For messages: the file's name as users know it ("model.safetensors").
  std::string name;
  // What the error names as the source ("hg://org/repo", the card's URL).
  std::string source;
  // Where the verified file goes, the partial file meanwhile, and the lock
  // file that serializes downloads of `final_path` across processes.
  std::string final_path;
  std::string partial_path;
  std::string lock_path;
  // The validator sent as If-Range when resuming (an ETag, quotes included);
  // without one a resume sends Range alone.
  std::string validator;
  // The size the file must have, when known before downloading.
  std::optional<uint64_t> size;
  std::vector<ExpectedSha256> sha256;
  // Added to the message of a 401 or 403 (how to give credentials).
  std::string auth_hint;
  // Download even when a file is at final_path, and replace it.
  bool replace = false;
};

// What a download did.
struct FileDownloadResult {
  // The file was in place already (no request made).
  bool cached = false;
  // Bytes received over the network for this file (all attempts).
  uint64_t bytes_received = 0;
  // Bytes of an earlier partial file the download resumed from (0: none).
  uint64_t resumed_from = 0;
  // Requests made (1 when nothing went wrong).
  int requests = 0;
  // The file's SHA-256 in hex ("" when cached).
  std::string sha256;
};

// Fetches `download` into its final path unless a file is there already (or
// download.replace).
// Throws AssetDownloadError naming the file and the source: a 4xx answer (at
// once, with the server's message), retries used up on connection errors, 5xx
// or 429 (keeping the partial file for a later resume), a size other than the
// expected one, or a SHA-256 mismatch (naming expected and actual hashes; the
// partial file is deleted).
FileDownloadResult DownloadFile(HttpClient& client, const FileDownload& download,
                                const RetryPolicy& retry, DownloadProgress& progress);

// A download of `url` into `final_path` that resumes only against the same
// version of the file: asks the server (HEAD) for its ETag and size, names the
// partial file `<final_path>.<12 hex of the ETag's SHA-256, or "any">.incomplete`
// and removes partial files of other versions of it beside it (best effort).
// Sets url, name and source (the URL), final_path, partial_path, validator and
// size; the caller adds the lock path and hashes. Throws AssetDownloadError
// naming the URL for a HEAD answered 4xx/5xx or retries used up.
FileDownload ResumableDownload(HttpClient& client, const std::string& url,
                               const std::string& final_path, const RetryPolicy& retry);

// The server's reason for a failed response: its X-Error-Message header, else
// the start of its body, else the status text.
std::string ServerReason(const HttpResponse& response);

}  // namespace modelhub

#endif  // MODELHUB_RUNTIME_DOWNLOAD_FILE_DOWNLOAD_H_
