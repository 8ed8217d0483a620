// Remote checkpoints against a loopback fake of the Hugging Face Hub and of a
// file server: first download into the shared cache layout, the cached second
// run with no request, resume, retries, corruption, tokens, offline mode,
// archives with checkpoint_path, path escapes; then the downloaded model loads
// with the same logits as the local copy.

#include "runtime/hub/checkpoint_fetch.h"

#include <ATen/ATen.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "runtime/assets/asset_store.h"
#include "runtime/core/errors.h"
#include "runtime/download/sha256.h"
#include "runtime/hub/model_loader.h"
#include "tests/testing/archive_writer.h"
#include "tests/testing/fake_hub.h"
#include "tests/testing/tiny_model.h"

namespace modelhub {
namespace {

namespace fs = std::filesystem;
using testing::ArchiveEntry;
using testing::FakeHub;
using testing::ReadFileBytes;

class Environment : public ::testing::Environment {
 public:
  void SetUp() override { testing::IsolateFromMachine(); }
};
const auto* const kEnvironment = ::testing::AddGlobalTestEnvironment(new Environment);

const char* const kTinyFiles[] = {"config.json", "model-00001-of-00002.safetensors",
                                  "model-00002-of-00002.safetensors",
                                  "model.safetensors.index.json"};

std::string TinyDir() { return (fs::path(BuiltinCardsDir()) / "tiny").string(); }

// A fake Hub serving org/tiny (the tiny checkpoint, a README and a stray
// pytorch_model.bin that must not be fetched) and files/ with archives of it;
// the caches empty, HF_ENDPOINT pointing at the fake.
class CheckpointFetchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path root = testing::FreshDir("fetch");
    const fs::path repo = root / "repos" / "org" / "tiny";
    fs::create_directories(repo);
    std::vector<ArchiveEntry> archive = {{"tiny-v1/", "", ArchiveEntry::Type::kFolder}};
    for (const char* file : kTinyFiles) {
      fs::copy_file(fs::path(TinyDir()) / file, repo / file);
      archive.push_back({std::string("tiny-v1/") + file, ReadFileBytes(repo / file)});
    }
    std::ofstream(repo / "README.md") << "# tiny\n";
    std::ofstream(repo / "pytorch_model.bin") << "not fetched";
    fs::create_directories(root / "files");
    testing::WriteArchive((root / "files" / "tiny.tar").string(), "tar", archive);
    testing::WriteArchive((root / "files" / "tiny.tar.gz").string(), "tar.gz", archive);
    hub_cache_ = root / "hf";
    url_cache_ = root / "modelhub";
    setenv("HF_HUB_CACHE", hub_cache_.c_str(), 1);
    setenv("MODELHUB_CACHE_DIR", url_cache_.c_str(), 1);
    unsetenv("HF_HUB_OFFLINE");
    unsetenv("HF_TOKEN");
    Start("");
  }

  void TearDown() override { setenv("HF_HUB_OFFLINE", "1", 1); }

  void Start(const std::string& token) {
    const fs::path root = fs::path(::testing::TempDir()) / "fetch";
    hub_.reset();
    hub_ = std::make_unique<FakeHub>(
        FakeHub::Options{(root / "repos").string(), (root / "files").string(), token});
    setenv("HF_ENDPOINT", hub_->endpoint().c_str(), 1);
  }

  static FetchOptions Options() {
    FetchOptions options;
    options.retry.first_delay = std::chrono::milliseconds(10);
    return options;
  }

  FetchReport Fetch(const std::string& uri, const std::optional<std::string>& inside = {},
                    const std::map<std::string, std::string>& sha256 = {}) {
    return FetchCheckpoint(uri, inside, sha256, Options());
  }

  fs::path RepoCache() const { return hub_cache_ / "models--org--tiny"; }

  // Bytes the fake sent for requests whose path contains `part`.
  int64_t BytesSent(const std::string& part) const {
    int64_t bytes = 0;
    for (const FakeHub::Request& request : hub_->Requests()) {
      if (request.path.find(part) != std::string::npos) bytes += request.bytes_sent;
    }
    return bytes;
  }

  static int64_t TinyLfsBytes() {
    return static_cast<int64_t>(
        fs::file_size(fs::path(TinyDir()) / "model-00001-of-00002.safetensors") +
        fs::file_size(fs::path(TinyDir()) / "model-00002-of-00002.safetensors"));
  }

  fs::path hub_cache_;
  fs::path url_cache_;
  std::unique_ptr<FakeHub> hub_;
};

TEST_F(CheckpointFetchTest, FirstDownloadFillsTheSharedCacheLayoutAndTheSecondMakesNoRequest) {
  const FetchReport first = Fetch("hg://org/tiny");
  EXPECT_EQ(first.files_downloaded, 4);
  EXPECT_GT(first.requests, 4);
  const std::string commit = ReadFileBytes(RepoCache() / "refs" / "main");
  ASSERT_EQ(commit.size(), 40u);
  EXPECT_EQ(first.path, (RepoCache() / "snapshots" / commit).string());
  for (const char* file : kTinyFiles) {
    const fs::path link = RepoCache() / "snapshots" / commit / file;
    ASSERT_TRUE(fs::is_symlink(link)) << file;
    EXPECT_EQ(fs::read_symlink(link).parent_path(), fs::path("../../blobs")) << file;
    EXPECT_EQ(ReadFileBytes(link), ReadFileBytes(fs::path(TinyDir()) / file)) << file;
  }
  // LFS files are stored under their SHA-256, as huggingface_hub does.
  const std::string shard = ReadFileBytes(fs::path(TinyDir()) / "model-00001-of-00002.safetensors");
  EXPECT_TRUE(fs::exists(RepoCache() / "blobs" / Sha256OfText(shard)));
  EXPECT_FALSE(fs::exists(RepoCache() / "snapshots" / commit / "pytorch_model.bin"));
  EXPECT_FALSE(fs::exists(RepoCache() / "snapshots" / commit / "README.md"));
  for (const FakeHub::Request& request : hub_->Requests()) {
    EXPECT_EQ(request.path.find("pytorch_model.bin"), std::string::npos);
    EXPECT_EQ(request.path.find("README"), std::string::npos);
  }

  hub_->ClearRequests();
  const FetchReport second = Fetch("hg://org/tiny");
  EXPECT_EQ(second.requests, 0);
  EXPECT_EQ(second.path, first.path);
  EXPECT_TRUE(hub_->Requests().empty());
  // A pinned commit is served from the cache too.
  EXPECT_EQ(Fetch("hg://org/tiny@" + commit).requests, 0);
  EXPECT_TRUE(hub_->Requests().empty());
}

TEST_F(CheckpointFetchTest, TheDownloadedModelHasTheLogitsOfTheLocalCopy) {
  const fs::path cards = testing::FreshDir("fetch-cards");
  std::ofstream(cards / "tiny.yaml") << "name: remote_tiny\nbase: tiny\n"
                                        "checkpoint: hg://org/tiny\n";
  std::ofstream(cards / "archive.yaml")
      << "name: archived_tiny\nbase: tiny\ncheckpoint: " << hub_->file_url("tiny.tar.gz")
      << "\ncheckpoint_path: tiny-v1\n";
  const AssetStore store(
      {AssetSource{"built-in", BuiltinCardsDir()}, AssetSource{"test", cards.string()}});
  LoadOptions options;
  options.progress = false;
  const at::Tensor local =
      testing::FixedLogits(*LoadModelFromCard(store.card("tiny"), {}, options));
  for (const char* name : {"remote_tiny", "archived_tiny"}) {
    const at::Tensor remote =
        testing::FixedLogits(*LoadModelFromCard(store.card(name), {}, options));
    EXPECT_TRUE(at::equal(local, remote)) << name;
  }
  // Offline, both load from the cache.
  hub_->ClearRequests();
  options.offline = true;
  EXPECT_TRUE(at::equal(
      local, testing::FixedLogits(*LoadModelFromCard(store.card("remote_tiny"), {}, options))));
  EXPECT_TRUE(hub_->Requests().empty());
}

TEST_F(CheckpointFetchTest, ADroppedConnectionResumesWhereItStopped) {
  hub_->SetFaults(R"([{"match": "/cdn/", "kind": "drop", "after_bytes": 1000, "times": 1}])");
  const FetchReport report = Fetch("hg://org/tiny");
  EXPECT_EQ(report.files_downloaded, 4);
  bool resumed = false;
  for (const FakeHub::Request& request : hub_->Requests()) {
    if (request.path.rfind("/cdn/", 0) == 0 && request.range == "bytes=1000-") {
      resumed = true;
      EXPECT_EQ(request.status, 206);
      EXPECT_FALSE(request.if_range.empty());
    }
  }
  EXPECT_TRUE(resumed);
  // Every byte crossed the wire once.
  EXPECT_EQ(BytesSent("/cdn/"), TinyLfsBytes());
  EXPECT_EQ(report.bytes_received,
            static_cast<uint64_t>(BytesSent("/resolve/") + BytesSent("/cdn/")));
}

TEST_F(CheckpointFetchTest, APartialFileResumesInALaterRun) {
  hub_->SetFaults(R"([{"match": "/cdn/", "kind": "drop", "after_bytes": 1000, "times": 1}])");
  FetchOptions options = Options();
  options.retry.attempts = 1;
  EXPECT_THROW(FetchCheckpoint("hg://org/tiny", {}, {}, options), AssetDownloadError);
  std::vector<fs::path> partial;
  for (const auto& entry : fs::directory_iterator(RepoCache() / "blobs")) {
    if (entry.path().extension() == ".incomplete") partial.push_back(entry.path());
  }
  ASSERT_EQ(partial.size(), 1u);
  EXPECT_EQ(fs::file_size(partial.front()), 1000u);
  hub_->ClearRequests();
  const FetchReport report = Fetch("hg://org/tiny");
  EXPECT_EQ(report.files_downloaded, 2);  // the shards; the index and config.json came first
  EXPECT_EQ(report.files_cached, 2);
  EXPECT_EQ(BytesSent("/cdn/"), TinyLfsBytes() - 1000);
  EXPECT_FALSE(fs::exists(partial.front()));
}

TEST_F(CheckpointFetchTest, ServerErrorsAreRetriedAndAnIgnoredRangeRestartsCleanly) {
  hub_->SetFaults(R"([
    {"match": "/cdn/", "kind": "status", "status": 500, "times": 2},
    {"match": "/cdn/", "kind": "drop", "after_bytes": 500, "times": 1},
    {"match": "/cdn/", "kind": "ignore_range", "times": 1}])");
  const FetchReport report = Fetch("hg://org/tiny");
  EXPECT_EQ(report.files_downloaded, 4);
  int errors = 0;
  int restarts = 0;
  for (const FakeHub::Request& request : hub_->Requests()) {
    errors += request.status == 500;
    restarts += request.fault == "ignore_range" && request.status == 200;
  }
  EXPECT_EQ(errors, 2);
  EXPECT_EQ(restarts, 1);
  const std::string commit = ReadFileBytes(RepoCache() / "refs" / "main");
  for (const char* file : kTinyFiles) {
    EXPECT_EQ(ReadFileBytes(RepoCache() / "snapshots" / commit / file),
              ReadFileBytes(fs::path(TinyDir()) / file));
  }
}

TEST_F(CheckpointFetchTest, CorruptBytesAreDetectedAndNothingStays) {
  hub_->SetFaults(R"([{"match": "/cdn/", "kind": "corrupt", "times": -1}])");
  const std::string shard = ReadFileBytes(fs::path(TinyDir()) / "model-00001-of-00002.safetensors");
  try {
    Fetch("hg://org/tiny");
    ADD_FAILURE() << "corruption not detected";
  } catch (const AssetDownloadError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("model-00001-of-00002.safetensors"), std::string::npos) << message;
    EXPECT_NE(message.find("expected " + Sha256OfText(shard)), std::string::npos) << message;
    EXPECT_NE(message.find("got "), std::string::npos) << message;
    EXPECT_EQ(e.uri(), "hg://org/tiny");
  }
  for (const auto& entry : fs::directory_iterator(RepoCache() / "blobs")) {
    EXPECT_NE(entry.path().filename(), Sha256OfText(shard));
    EXPECT_NE(entry.path().extension(), ".incomplete");
  }
  EXPECT_FALSE(fs::exists(RepoCache() / "refs" / "main"));
}

TEST_F(CheckpointFetchTest, AStalledBodyIsAbandonedAndResumed) {
  hub_->SetFaults(R"([{"match": "/cdn/", "kind": "stall", "after_bytes": 700, "seconds": 30}])");
  FetchOptions options = Options();
  options.timeouts.stall = std::chrono::seconds(1);
  EXPECT_EQ(FetchCheckpoint("hg://org/tiny", {}, {}, options).files_downloaded, 4);
  bool resumed = false;
  for (const FakeHub::Request& request : hub_->Requests()) {
    resumed = resumed || request.range == "bytes=700-";
  }
  EXPECT_TRUE(resumed);
}

TEST_F(CheckpointFetchTest, TheTokenGoesToTheHubOnlyAndItsAbsenceIsExplained) {
  Start("secret");
  try {
    Fetch("hg://org/tiny");
    ADD_FAILURE() << "no token, no files";
  } catch (const AssetDownloadError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("401"), std::string::npos) << message;
    EXPECT_NE(message.find("HF_TOKEN"), std::string::npos) << message;
  }
  setenv("HF_TOKEN", "secret", 1);
  EXPECT_EQ(Fetch("hg://org/tiny").files_downloaded, 4);
  unsetenv("HF_TOKEN");
  int cdn = 0;
  for (const FakeHub::Request& request : hub_->Requests()) {
    if (request.path.rfind("/cdn/", 0) == 0) {
      ++cdn;
      EXPECT_EQ(request.host.rfind("localhost", 0), 0u);
      EXPECT_EQ(request.authorization, "") << "token forwarded to " << request.host;
    } else if (request.status == 200 || request.status == 302) {
      EXPECT_EQ(request.authorization, "Bearer secret") << request.path;
    }
  }
  EXPECT_EQ(cdn, 2);
}

TEST_F(CheckpointFetchTest, MissingReposFilesAndFoldersAreNamed) {
  try {
    Fetch("hg://org/missing");
    ADD_FAILURE();
  } catch (const AssetDownloadError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("404"), std::string::npos) << message;
    EXPECT_NE(message.find("hg://org/missing"), std::string::npos) << message;
  }
  try {
    Fetch("hg://org/tiny", std::string("weights"));
    ADD_FAILURE();
  } catch (const AssetDownloadError& e) {
    EXPECT_NE(std::string(e.what()).find("no file or folder 'weights'"), std::string::npos)
        << e.what();
  }
  EXPECT_THROW(Fetch("hg://org/tiny@no-such-branch"), AssetDownloadError);
  EXPECT_THROW(Fetch("hg://org//tiny"), AssetDownloadError);
  EXPECT_THROW(Fetch(hub_->file_url("missing.tar")), AssetDownloadError);
}

TEST_F(CheckpointFetchTest, OfflineMeansNoRequestAtAll) {
  setenv("HF_HUB_OFFLINE", "1", 1);
  try {
    Fetch("hg://org/tiny");
    ADD_FAILURE();
  } catch (const AssetDownloadError& e) {
    const std::string message = e.what();
    EXPECT_NE(message.find("offline"), std::string::npos) << message;
    EXPECT_NE(message.find(RepoCache().string()), std::string::npos) << message;
  }
  EXPECT_THROW(Fetch(hub_->file_url("tiny.tar"), std::string("tiny-v1")), AssetDownloadError);
  EXPECT_TRUE(hub_->Requests().empty());
  unsetenv("HF_HUB_OFFLINE");
  Fetch("hg://org/tiny");
  Fetch(hub_->file_url("tiny.tar"), std::string("tiny-v1"));
  hub_->ClearRequests();
  FetchOptions offline = Options();
  offline.offline = true;
  EXPECT_EQ(FetchCheckpoint("hg://org/tiny", {}, {}, offline).requests, 0);
  EXPECT_EQ(
      FetchCheckpoint(hub_->file_url("tiny.tar"), std::string("tiny-v1"), {}, offline).requests, 0);
  EXPECT_TRUE(hub_->Requests().empty());
}

TEST_F(CheckpointFetchTest, ArchivesUnpackAndCheckpointPathLeadsInside) {
  const FetchReport report = Fetch(hub_->file_url("tiny.tar"), std::string("tiny-v1"));
  EXPECT_EQ(fs::path(report.path).filename(), "tiny-v1");
  for (const char* file : kTinyFiles) {
    EXPECT_EQ(ReadFileBytes(fs::path(report.path) / file),
              ReadFileBytes(fs::path(TinyDir()) / file));
  }
  const fs::path entry = fs::path(report.path).parent_path().parent_path();
  EXPECT_TRUE(fs::exists(entry / "manifest.json"));
  EXPECT_FALSE(fs::exists(entry / "download" / "tiny.tar"));  // the unpacked files are kept
  hub_->ClearRequests();
  EXPECT_EQ(Fetch(hub_->file_url("tiny.tar"), std::string("tiny-v1")).requests, 0);
  EXPECT_TRUE(hub_->Requests().empty());
  // checkpoint_path may not climb out, not even through a link.
  EXPECT_THROW(Fetch(hub_->file_url("tiny.tar"), std::string("tiny-v1/../..")), AssetDownloadError);
  fs::create_symlink("/", entry / "content" / "escape");
  try {
    Fetch(hub_->file_url("tiny.tar"), std::string("escape/etc"));
    ADD_FAILURE();
  } catch (const AssetDownloadError& e) {
    EXPECT_NE(std::string(e.what()).find("leads out of"), std::string::npos) << e.what();
  }
}

TEST_F(CheckpointFetchTest, ArchiveEntriesThatEscapeAreRefusedAndNothingIsUnpacked) {
  const fs::path files = fs::path(::testing::TempDir()) / "fetch" / "files";
  testing::WriteArchive((files / "climb.tar").string(), "tar",
                        {{"ok.txt", "fine"}, {"../evil.txt", "escaped"}});
  testing::WriteArchive((files / "link.zip").string(), "zip",
                        {{"etc", "/etc", ArchiveEntry::Type::kSymlink}});
  for (const char* name : {"climb.tar", "link.zip"}) {
    try {
      Fetch(hub_->file_url(name));
      ADD_FAILURE() << name;
    } catch (const AssetDownloadError& e) {
      EXPECT_NE(std::string(e.what()).find("refused"), std::string::npos) << e.what();
    }
  }
  for (const auto& entry : fs::recursive_directory_iterator(url_cache_)) {
    EXPECT_NE(entry.path().filename(), "evil.txt") << entry.path();
    EXPECT_NE(entry.path().filename(), "ok.txt") << entry.path();
    EXPECT_NE(entry.path().filename(), "manifest.json") << entry.path();
  }
}

TEST_F(CheckpointFetchTest, TheCardsHashesAreChecked) {
  const std::string tar = ReadFileBytes(fs::path(::testing::TempDir()) / "fetch/files/tiny.tar");
  EXPECT_NO_THROW(
      Fetch(hub_->file_url("tiny.tar"), std::string("tiny-v1"), {{"", Sha256OfText(tar)}}));
  const std::string wrong(64, 'a');
  try {
    Fetch(hub_->file_url("tiny.tar.gz"), std::string("tiny-v1"), {{"tiny.tar.gz", wrong}});
    ADD_FAILURE();
  } catch (const AssetDownloadError& e) {
    EXPECT_NE(std::string(e.what()).find("expected " + wrong + " (the card's checkpoint_sha256)"),
              std::string::npos)
        << e.what();
  }
  try {
    Fetch("hg://org/tiny", {}, {{"model-00002-of-00002.safetensors", wrong}});
    ADD_FAILURE();
  } catch (const AssetDownloadError& e) {
    EXPECT_NE(std::string(e.what()).find("model-00002-of-00002.safetensors"), std::string::npos);
  }
  EXPECT_THROW(Fetch("hg://org/tiny", {}, {{"", wrong}}), AssetDownloadError);
}

// A URL named as torch.hub names its files (name-<hex>.ext) is checked against
// that prefix of its SHA-256, with no checkpoint_sha256 on the card.
TEST_F(CheckpointFetchTest, TorchHubStyleNamesCarryTheirHashPrefix) {
  const fs::path files = fs::path(::testing::TempDir()) / "fetch" / "files";
  const std::string tar = ReadFileBytes(files / "tiny.tar");
  const std::string good = "tiny-" + Sha256OfText(tar).substr(0, 8) + ".tar";
  fs::copy_file(files / "tiny.tar", files / good);
  fs::copy_file(files / "tiny.tar", files / "tiny-00000000.tar");
  EXPECT_NO_THROW(Fetch(hub_->file_url(good), std::string("tiny-v1")));
  try {
    Fetch(hub_->file_url("tiny-00000000.tar"), std::string("tiny-v1"));
    ADD_FAILURE();
  } catch (const AssetDownloadError& e) {
    EXPECT_NE(std::string(e.what()).find("expected a hash starting with 00000000 (the hash prefix "
                                         "in the file name, torch.hub's convention)"),
              std::string::npos)
        << e.what();
  }
}

}  // namespace
}  // namespace modelhub
