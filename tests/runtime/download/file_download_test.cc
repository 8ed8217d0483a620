// DownloadFile's paths that need no server (a file already in place, a
// partial file that is already complete, hash checks on it, retries used up
// on a refused connection, file-system failures), RetriableStatus,
// ServerReason, BackoffDelay and SleepBeforeRetry.

#include "runtime/download/file_download.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cctype>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "runtime/core/errors.h"
#include "runtime/download/sha256.h"
#include "tests/testing/error_of.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using ::testing::HasSubstr;

constexpr char kAbc[] = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
// Nothing listens here: a request would fail, and a test asserts none is made.
constexpr char kNowhere[] = "http://127.0.0.1:1/model.bin";

fs::path FreshDir(const std::string& name) {
  const fs::path dir = fs::path(::testing::TempDir()) / "file_download_test" / name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void WriteText(const fs::path& path, const std::string& text) {
  fs::create_directories(path.parent_path());
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::string ReadText(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

FileDownload DownloadIn(const fs::path& dir) {
  FileDownload download;
  download.url = kNowhere;
  download.name = "model.bin";
  download.source = "https://example.test/card";
  download.final_path = (dir / "blobs" / "model.bin").string();
  download.partial_path = (dir / "blobs" / "model.bin.incomplete").string();
  download.lock_path = (dir / "locks" / "model.bin.lock").string();
  return download;
}

RetryPolicy FastRetry(int attempts) {
  RetryPolicy retry;
  retry.attempts = attempts;
  retry.first_delay = std::chrono::milliseconds(1);
  retry.max_delay = std::chrono::milliseconds(2);
  return retry;
}

TEST(RetriableStatusTest, ServerErrorsTooManyRequestsAndTimeouts) {
  for (long status : {500, 502, 503, 504, 599, 429, 408}) {
    EXPECT_TRUE(RetriableStatus(status)) << status;
  }
  for (long status : {200, 206, 302, 304, 400, 401, 403, 404, 410, 416}) {
    EXPECT_FALSE(RetriableStatus(status)) << status;
  }
}

TEST(ServerReasonTest, HeaderThenBodyThenNothing) {
  HttpResponse response;
  response.status = 403;
  EXPECT_EQ(ServerReason(response), "no reason given");
  response.error_body = "line one\nline two\n";
  EXPECT_EQ(ServerReason(response), "line oneline two");
  response.headers["x-error-message"] = "Access to model org/name is restricted";
  EXPECT_EQ(ServerReason(response), "Access to model org/name is restricted");
}

TEST(ServerReasonTest, LongBodyIsCut) {
  HttpResponse response;
  response.error_body = std::string(4000, 'x');
  EXPECT_EQ(ServerReason(response).size(), 300u);
}

TEST(BackoffDelayTest, DoublesUpToTheMaximum) {
  using std::chrono::milliseconds;
  RetryPolicy retry;
  retry.first_delay = milliseconds(5);
  retry.max_delay = milliseconds(10000);
  EXPECT_EQ(BackoffDelay(retry, 1), milliseconds(5));
  EXPECT_EQ(BackoffDelay(retry, 2), milliseconds(10));
  EXPECT_EQ(BackoffDelay(retry, 3), milliseconds(20));
  EXPECT_EQ(BackoffDelay(retry, 11), milliseconds(5120));
  EXPECT_EQ(BackoffDelay(retry, 12), milliseconds(10000));
  // Capped: without the cap retry 40 would wait for years (and overflow).
  EXPECT_EQ(BackoffDelay(retry, 40), milliseconds(10000));
  EXPECT_EQ(BackoffDelay(retry, 1 << 30), milliseconds(10000));
  // 0 and less count as the first retry.
  EXPECT_EQ(BackoffDelay(retry, 0), milliseconds(5));
  EXPECT_EQ(BackoffDelay(retry, -3), milliseconds(5));
  // The defaults: 250 ms, doubling, at most 8 s.
  EXPECT_EQ(BackoffDelay(RetryPolicy{}, 1), milliseconds(250));
  EXPECT_EQ(BackoffDelay(RetryPolicy{}, 10), milliseconds(8000));
}

TEST(SleepBeforeRetryTest, SleepsAtLeastTheBackoff) {
  RetryPolicy retry;
  retry.first_delay = std::chrono::milliseconds(5);
  const auto start = std::chrono::steady_clock::now();
  SleepBeforeRetry(retry, 3);  // 5 ms * 2^2; a lower bound only, true on any machine
  EXPECT_GE(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(20));
}

TEST(DownloadFileTest, FileInPlaceIsCachedWithoutRequest) {
  const fs::path dir = FreshDir("in_place");
  FileDownload download = DownloadIn(dir);
  download.size = 3;
  WriteText(download.final_path, "abc");
  HttpClient client;
  DownloadProgress progress(ProgressStyle::kSilent, 0);
  const FileDownloadResult result = DownloadFile(client, download, FastRetry(1), progress);
  EXPECT_TRUE(result.cached);
  EXPECT_EQ(result.requests, 0);
  EXPECT_EQ(result.bytes_received, 0u);
  EXPECT_EQ(result.sha256, "");
  EXPECT_EQ(ReadText(download.final_path), "abc");
  EXPECT_TRUE(fs::exists(download.lock_path));  // the lock's folder was made
}

TEST(DownloadFileTest, CompletePartialFileIsVerifiedAndCommittedWithoutRequest) {
  const fs::path dir = FreshDir("complete_partial");
  FileDownload download = DownloadIn(dir);
  download.size = 3;
  download.sha256 = {{kAbc, "the test"}, {"", "no hash given"}};
  WriteText(download.partial_path, "abc");
  HttpClient client;
  DownloadProgress progress(ProgressStyle::kSilent, 0);
  const FileDownloadResult result = DownloadFile(client, download, FastRetry(1), progress);
  EXPECT_FALSE(result.cached);
  EXPECT_EQ(result.requests, 0);
  EXPECT_EQ(result.resumed_from, 3u);
  EXPECT_EQ(result.sha256, kAbc);
  EXPECT_EQ(ReadText(download.final_path), "abc");
  EXPECT_FALSE(fs::exists(download.partial_path));
}

TEST(DownloadFileTest, ExpectedHashIsCaseInsensitive) {
  const fs::path dir = FreshDir("uppercase");
  FileDownload download = DownloadIn(dir);
  download.size = 3;
  std::string upper = kAbc;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  download.sha256 = {{upper, "an uppercase card"}};
  WriteText(download.partial_path, "abc");
  HttpClient client;
  DownloadProgress progress(ProgressStyle::kSilent, 0);
  EXPECT_EQ(DownloadFile(client, download, FastRetry(1), progress).sha256, kAbc);
  EXPECT_TRUE(fs::exists(download.final_path));
}

TEST(DownloadFileTest, HashMismatchDeletesThePartialFile) {
  const fs::path dir = FreshDir("mismatch");
  FileDownload download = DownloadIn(dir);
  download.size = 3;
  const std::string wrong(64, '0');
  download.sha256 = {{kAbc, "the Hub's LFS SHA-256"}, {wrong, "the card's checkpoint_sha256"}};
  WriteText(download.partial_path, "abc");
  HttpClient client;
  DownloadProgress progress(ProgressStyle::kSilent, 0);
  try {
    DownloadFile(client, download, FastRetry(1), progress);
    FAIL() << "a file with the wrong SHA-256 was accepted";
  } catch (const AssetDownloadError& e) {
    EXPECT_EQ(e.uri(), "https://example.test/card");
    EXPECT_THAT(e.what(), HasSubstr("SHA-256 mismatch"));
    EXPECT_THAT(e.what(), HasSubstr(wrong));
    EXPECT_THAT(e.what(), HasSubstr(kAbc));
    EXPECT_THAT(e.what(), HasSubstr("the card's checkpoint_sha256"));
    EXPECT_THAT(e.what(), HasSubstr("model.bin"));
  }
  EXPECT_FALSE(fs::exists(download.partial_path));
  EXPECT_FALSE(fs::exists(download.final_path));
}

TEST(DownloadFileTest, RefusedConnectionGivesUpAndKeepsThePartialFile) {
  const fs::path dir = FreshDir("refused");
  FileDownload download = DownloadIn(dir);
  download.size = 10;
  WriteText(download.partial_path, "abcd");  // resumable later
  HttpClient client(HttpTimeouts{std::chrono::seconds(5), std::chrono::seconds(5)});
  DownloadProgress progress(ProgressStyle::kSilent, 0);
  try {
    DownloadFile(client, download, FastRetry(2), progress);
    FAIL() << "nothing listens on port 1";
  } catch (const AssetDownloadError& e) {
    EXPECT_THAT(e.what(), HasSubstr("gave up after 2 attempts"));
    EXPECT_THAT(e.what(), HasSubstr(download.partial_path));
  }
  EXPECT_EQ(ReadText(download.partial_path), "abcd");
  EXPECT_FALSE(fs::exists(download.final_path));
}

TEST(DownloadFileTest, UncreatableLockIsAnAssetDownloadError) {
  const fs::path dir = FreshDir("bad_lock");
  FileDownload download = DownloadIn(dir);
  WriteText(dir / "plain_file", "x");
  download.lock_path = (dir / "plain_file" / "model.bin.lock").string();
  HttpClient client;
  DownloadProgress progress(ProgressStyle::kSilent, 0);
  const std::string message = testing::ErrorOf<AssetDownloadError>(
      [&] { DownloadFile(client, download, FastRetry(1), progress); });
  EXPECT_EQ(message, "cannot download https://example.test/card: cannot create the folder " +
                         (dir / "plain_file").string() + " of the lock file " + download.lock_path +
                         ": Not a directory");
}

// The cache's blob folder is a regular file: the partial file cannot be made.
TEST(DownloadFileTest, UncreatablePartialFileIsAnAssetDownloadError) {
  const fs::path dir = FreshDir("bad_partial");
  FileDownload download = DownloadIn(dir);
  WriteText(dir / "blobs", "x");
  HttpClient client;
  DownloadProgress progress(ProgressStyle::kSilent, 0);
  const std::string message = testing::ErrorOf<AssetDownloadError>(
      [&] { DownloadFile(client, download, FastRetry(1), progress); });
  EXPECT_EQ(message, "cannot download https://example.test/card: cannot create the partial file " +
                         download.partial_path + " of model.bin: Not a directory");
  EXPECT_EQ(client.bytes_received(), 0u);
}

}  // namespace
}  // namespace modelhub
