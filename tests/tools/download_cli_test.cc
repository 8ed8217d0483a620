// `modelhub download` and `modelhub cache` run as a user runs them, against
// the loopback fake Hub: the summary and path, per-file lines on a
// non-terminal stderr and bars on a terminal, four processes downloading one model at once, offline
// loads, a Mistral-shaped card (a tar and checkpoint_path), cache ls, verify
// (catching a damaged blob) and rm, and caches that cannot be written.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/wait.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <string>

#include "tests/testing/archive_writer.h"
#include "tests/testing/fake_hub.h"

namespace {

namespace fs = std::filesystem;
using modelhub::testing::ArchiveEntry;
using modelhub::testing::FakeHub;
using modelhub::testing::ReadFileBytes;
using ::testing::HasSubstr;

struct CommandResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

const fs::path kTmp = std::getenv("TEST_TMPDIR") ? std::getenv("TEST_TMPDIR") : "/tmp";

// Runs `tools/cli/modelhub ARGS` through the shell (stderr not a terminal).
CommandResult Modelhub(const std::string& args, const std::string& tag = "run") {
  const fs::path out = kTmp / (tag + ".out"), err = kTmp / (tag + ".err");
  const std::string command =
      "tools/cli/modelhub " + args + " >" + out.string() + " 2>" + err.string();
  const int status = std::system(command.c_str());
  CommandResult run;
  run.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  run.out = ReadFileBytes(out.string());
  run.err = ReadFileBytes(err.string());
  return run;
}

std::string LastLine(const std::string& text) {
  const size_t end = text.find_last_not_of('\n');
  if (end == std::string::npos) return "";
  return text.substr(text.rfind('\n', end) + 1, end - text.rfind('\n', end));
}

class DownloadCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = kTmp / "download-cli";
    fs::remove_all(root_);
    const fs::path repo = root_ / "repos" / "org" / "tiny";
    fs::create_directories(repo);
    for (const auto& file : fs::directory_iterator("cards/tiny")) {
      fs::copy_file(file.path(), repo / file.path().filename());
    }
    fs::create_directories(root_ / "files");
    std::vector<ArchiveEntry> meta = {{"tiny-meta/", "", ArchiveEntry::Type::kFolder}};
    for (const char* file : {"consolidated.00.pth", "consolidated.01.pth"}) {
      meta.push_back({std::string("tiny-meta/") + file,
                      ReadFileBytes("tests/runtime/hub/tiny_torch/meta/" + std::string(file))});
    }
    modelhub::testing::WriteArchive((root_ / "files" / "tiny-meta.tar").string(), "tar", meta);
    hub_ = std::make_unique<FakeHub>(
        FakeHub::Options{(root_ / "repos").string(), (root_ / "files").string(), ""});
    setenv("HF_ENDPOINT", hub_->endpoint().c_str(), 1);
    setenv("HF_HUB_CACHE", (root_ / "hf").c_str(), 1);
    setenv("MODELHUB_CACHE_DIR", (root_ / "modelhub").c_str(), 1);
    setenv("MODELHUB_ASSET_DIR", "/nonexistent", 1);
    setenv("MODELHUB_USER_ASSET_DIR", "/nonexistent", 1);
    unsetenv("HF_HUB_OFFLINE");
    unsetenv("HF_TOKEN");
    std::ofstream(root_ / "cards.yaml")
        << "name: remote_tiny\nbase: tiny\ncheckpoint: hg://org/tiny\n---\n"
        << "name: meta_tiny\nbase: tiny\ncheckpoint: " << hub_->file_url("tiny-meta.tar")
        << "\ncheckpoint_path: tiny-meta\n";
  }

  std::string Cards() const { return "--asset-dir " + (root_ / "cards.yaml").string() + " "; }

  fs::path root_;
  std::unique_ptr<FakeHub> hub_;
};

TEST_F(DownloadCliTest, DownloadPrintsThePathAndASecondRunIsServedByTheCache) {
  CommandResult first = Modelhub("download hg://org/tiny");
  ASSERT_EQ(first.exit_code, 0) << first.err;
  EXPECT_THAT(first.out, HasSubstr("4 files downloaded"));
  EXPECT_TRUE(fs::is_directory(LastLine(first.out))) << first.out;
  EXPECT_TRUE(fs::exists(fs::path(LastLine(first.out)) / "model.safetensors.index.json"));
  // Not a terminal: one line per finished file.
  EXPECT_THAT(first.err, HasSubstr("downloaded model-00001-of-00002.safetensors ("));
  EXPECT_THAT(first.err, HasSubstr("downloaded config.json ("));
  EXPECT_EQ(first.err.find('\033'), std::string::npos);

  hub_->ClearRequests();
  CommandResult second = Modelhub("download hg://org/tiny --quiet");
  ASSERT_EQ(second.exit_code, 0) << second.err;
  EXPECT_THAT(second.out, HasSubstr("0 files downloaded (0 B), 4 in the cache"));
  EXPECT_EQ(LastLine(second.out), LastLine(first.out));
  EXPECT_TRUE(hub_->Requests().empty());
}

TEST_F(DownloadCliTest, ATerminalGetsAFileBarAndATotalBar) {
  // `script` gives the command a pseudo-terminal; its output is what the terminal got.
  const std::string command = "script -qec 'tools/cli/modelhub download hg://org/tiny' " +
                              (kTmp / "typescript").string() + " >/dev/null 2>&1";
  ASSERT_EQ(std::system(command.c_str()), 0);
  const std::string screen = ReadFileBytes((kTmp / "typescript").string());
  EXPECT_THAT(screen, HasSubstr("\033[2K"));  // lines redrawn in place
  EXPECT_THAT(screen, HasSubstr("total"));
  EXPECT_THAT(screen, HasSubstr("model-00001-of-00002.safetensors"));
  EXPECT_THAT(screen, HasSubstr(" / 16.3 MB"));  // the total bar knows the size
  EXPECT_THAT(screen, HasSubstr("downloaded model-00002-of-00002.safetensors ("));
}

TEST_F(DownloadCliTest, FourProcessesDownloadingOneModelFetchEachFileOnce) {
  // Slow enough that the four overlap.
  hub_->SetFaults(R"([{"match": "/cdn/", "kind": "slow", "bytes_per_second": 20000000,
                       "times": -1}])");
  std::ostringstream script;
  script << "for i in 1 2 3 4; do (tools/cli/modelhub download hg://org/tiny --quiet >"
         << kTmp.string() << "/p$i.out 2>" << kTmp.string() << "/p$i.err; echo $? >"
         << kTmp.string() << "/p$i.rc) & done; wait";
  ASSERT_EQ(std::system(script.str().c_str()), 0);
  std::string path;
  for (int i = 1; i <= 4; ++i) {
    const std::string tag = kTmp.string() + "/p" + std::to_string(i);
    EXPECT_EQ(ReadFileBytes(tag + ".rc"), "0\n") << ReadFileBytes(tag + ".err");
    const std::string printed = LastLine(ReadFileBytes(tag + ".out"));
    if (path.empty()) path = printed;
    EXPECT_EQ(printed, path);
  }
  std::map<std::string, int> gets;
  for (const FakeHub::Request& request : hub_->Requests()) {
    if (request.method == "GET" && request.path.rfind("/cdn/", 0) == 0) ++gets[request.path];
  }
  EXPECT_EQ(gets.size(), 2u);
  for (const auto& [file, count] : gets) EXPECT_EQ(count, 1) << file;
  EXPECT_EQ(std::system(("tools/cli/modelhub cache verify hg://org/tiny >/dev/null")), 0);
}

TEST_F(DownloadCliTest, CardsDownloadByNameAndLoadOfflineWithTheLocalLogits) {
  CommandResult local = Modelhub("forward tiny --tokens 3,1,4,1,5");
  ASSERT_EQ(local.exit_code, 0) << local.err;
  for (const char* card : {"remote_tiny", "meta_tiny"}) {
    CommandResult download = Modelhub(Cards() + "download " + std::string(card));
    ASSERT_EQ(download.exit_code, 0) << download.err;
    hub_->ClearRequests();
    CommandResult offline =
        Modelhub(Cards() + "--offline forward " + std::string(card) + " --tokens 3,1,4,1,5");
    ASSERT_EQ(offline.exit_code, 0) << offline.err;
    // The same next-token table (the first line has the load's timing).
    EXPECT_EQ(offline.out.substr(offline.out.find('\n')), local.out.substr(local.out.find('\n')))
        << card;
    EXPECT_TRUE(hub_->Requests().empty()) << card;
  }
  EXPECT_THAT(Modelhub(Cards() + "download meta_tiny").out,
              HasSubstr("tiny-meta.tar-"));  // the cache entry of the URL
}

TEST_F(DownloadCliTest, DropsResumeCorruptionFailsAndEscapesAreRefused) {
  hub_->SetFaults(R"([{"match": "/cdn/", "kind": "drop", "after_bytes": 4096, "times": 1},
                      {"match": "/cdn/", "kind": "status", "status": 503, "times": 1}])");
  CommandResult dropped = Modelhub("download hg://org/tiny --quiet");
  EXPECT_EQ(dropped.exit_code, 0) << dropped.err;
  bool resumed = false;
  for (const FakeHub::Request& request : hub_->Requests()) {
    resumed = resumed || (request.range == "bytes=4096-" && request.status == 206);
  }
  EXPECT_TRUE(resumed);

  // A plain URL is checked against the card's checkpoint_sha256 (its server's
  // ETag is not trusted to be a hash).
  hub_->SetFaults(R"([{"match": "/files/", "kind": "corrupt", "times": -1}])");
  std::ofstream(root_ / "hashed.yaml")
      << "name: hashed_tiny\nbase: tiny\ncheckpoint: " << hub_->file_url("tiny-meta.tar")
      << "\ncheckpoint_path: tiny-meta\ncheckpoint_sha256: " << std::string(64, 'a') << "\n";
  CommandResult corrupt =
      Modelhub("--asset-dir " + (root_ / "hashed.yaml").string() + " download hashed_tiny");
  EXPECT_EQ(corrupt.exit_code, 1);
  EXPECT_THAT(corrupt.err, HasSubstr("tiny-meta.tar: SHA-256 mismatch: expected aaaa"));
  EXPECT_THAT(Modelhub("cache ls").out, ::testing::Not(HasSubstr("tiny-meta.tar")));

  std::ofstream(root_ / "escape.yaml")
      << "name: escape_tiny\nbase: tiny\ncheckpoint: " << hub_->file_url("tiny-meta.tar")
      << "\ncheckpoint_path: ../../etc\n";
  CommandResult escape =
      Modelhub("--asset-dir " + (root_ / "escape.yaml").string() + " download escape_tiny");
  EXPECT_EQ(escape.exit_code, 1);
  EXPECT_THAT(escape.err, HasSubstr("checkpoint_path"));
}

TEST_F(DownloadCliTest, OfflineWithAnEmptyCacheNamesWhatIsMissing) {
  CommandResult run = Modelhub("--offline download hg://org/tiny");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("offline"));
  EXPECT_THAT(run.err, HasSubstr("models--org--tiny"));
  EXPECT_TRUE(hub_->Requests().empty());
}

// A cache that cannot be written is one error line naming the URL or repo,
// the path and why, with exit 1 (the URL case was "internal error").
TEST_F(DownloadCliTest, ACacheUnderARegularFileIsAnErrorNamingThePath) {
  std::ofstream(root_ / "plain_file") << "not a folder";
  const std::string url = hub_->file_url("tiny-meta.tar");
  setenv("MODELHUB_CACHE_DIR", (root_ / "plain_file" / "modelhub").c_str(), 1);
  CommandResult run = Modelhub("download " + url);
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_THAT(run.err, ::testing::StartsWith("modelhub: error: cannot download " + url +
                                             ": cannot create the folder " +
                                             (root_ / "plain_file" / "modelhub" / "url").string()));
  EXPECT_THAT(run.err, ::testing::EndsWith(": Not a directory\n"));
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;

  setenv("HF_HUB_CACHE", (root_ / "plain_file" / "hf").c_str(), 1);
  run = Modelhub("download hg://org/tiny");
  EXPECT_EQ(run.exit_code, 1) << run.err;
  EXPECT_THAT(run.err, ::testing::StartsWith("modelhub: error: cannot download hg://org/tiny: "
                                             "cannot create the folder " +
                                             (root_ / "plain_file" / "hf").string()));
  EXPECT_THAT(run.err, ::testing::EndsWith(": Not a directory\n"));
  EXPECT_EQ(std::count(run.err.begin(), run.err.end(), '\n'), 1) << run.err;
}

// A full disk while a file downloads (its partial file is /dev/full): one
// error line naming the file and "No space left on device", exit 1.
TEST_F(DownloadCliTest, AFullDiskIsAnErrorNamingTheFile) {
  const fs::path sums = kTmp / "sha256sum.out";
  ASSERT_EQ(
      std::system(
          ("sha256sum cards/tiny/model-00001-of-00002.safetensors >" + sums.string()).c_str()),
      0);
  const std::string sha256 = ReadFileBytes(sums.string()).substr(0, 64);
  const fs::path partial = root_ / "hf" / "models--org--tiny" / "blobs" / (sha256 + ".incomplete");
  fs::create_directories(partial.parent_path());
  fs::create_symlink("/dev/full", partial);
  CommandResult run = Modelhub("download hg://org/tiny --quiet");
  EXPECT_EQ(run.exit_code, 1) << run.err;
  // config.json and the index came before, each with its "downloaded" line.
  EXPECT_EQ(LastLine(run.err),
            "modelhub: error: cannot download hg://org/tiny: cannot write the partial file " +
                partial.string() + " of model-00001-of-00002.safetensors: No space left on device")
      << run.err;
  EXPECT_THAT(run.err, ::testing::Not(HasSubstr("internal error")));
}

TEST_F(DownloadCliTest, CacheLsVerifyAndRm) {
  ASSERT_EQ(Modelhub("download hg://org/tiny").exit_code, 0);
  ASSERT_EQ(Modelhub("download " + hub_->file_url("tiny-meta.tar")).exit_code, 0);
  CommandResult ls = Modelhub("cache ls");
  ASSERT_EQ(ls.exit_code, 0) << ls.err;
  EXPECT_THAT(ls.out, HasSubstr("hg://org/tiny  16."));
  EXPECT_THAT(ls.out, HasSubstr("main -> "));
  EXPECT_THAT(ls.out, HasSubstr(hub_->file_url("tiny-meta.tar") + "  "));
  CommandResult verify = Modelhub("cache verify");
  EXPECT_EQ(verify.exit_code, 0) << verify.out;
  EXPECT_THAT(verify.out, HasSubstr("ok  hg://org/tiny  2 files verified"));

  // Damage one blob: verify names it.
  for (const auto& blob : fs::directory_iterator(root_ / "hf" / "models--org--tiny" / "blobs")) {
    if (blob.path().filename().string().size() == 64) {
      std::fstream(blob.path(), std::ios::in | std::ios::out | std::ios::binary) << "XXXX";
      break;
    }
  }
  verify = Modelhub("cache verify hg://org/tiny");
  EXPECT_EQ(verify.exit_code, 1);
  EXPECT_THAT(verify.out, HasSubstr("SHA-256 mismatch"));

  CommandResult rm = Modelhub("cache rm hg://org/tiny");
  EXPECT_EQ(rm.exit_code, 0) << rm.err;
  EXPECT_FALSE(fs::exists(root_ / "hf" / "models--org--tiny"));
  EXPECT_THAT(Modelhub("cache ls").out, ::testing::Not(HasSubstr("hg://org/tiny")));
  // Removing what is not cached is a failure to do the work, not a bad command line.
  CommandResult again = Modelhub("cache rm hg://org/tiny");
  EXPECT_EQ(again.exit_code, 1);
  EXPECT_THAT(again.err, HasSubstr("nothing in the cache for hg://org/tiny"));
}

// torch.hub's download_url_to_file and load_state_dict_from_url from the
// command line: --to with and without a hash prefix (a wrong one leaves
// nothing), and inspect of a URL into torch.hub's cache path with --check-hash.
TEST_F(DownloadCliTest, DownloadToAndInspectAUrlAsTorchHubDoes) {
  const std::string url = hub_->file_url("tiny-model.safetensors");
  fs::copy_file("cards/tiny/model-00001-of-00002.safetensors",
                root_ / "files" / "tiny-model.safetensors");
  const fs::path dst = root_ / "out" / "model.safetensors";
  CommandResult run = Modelhub("download " + url + " --to " + dst.string() + " --quiet");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_EQ(LastLine(run.out), dst.string());
  const std::string sha256 = run.out.substr(run.out.find("sha256 ") + 7, 64);
  EXPECT_EQ(ReadFileBytes(dst.string()),
            ReadFileBytes("cards/tiny/model-00001-of-00002.safetensors"));

  run = Modelhub("download " + url + " --to " + dst.string() + " --hash-prefix " +
                 sha256.substr(0, 12) + " --quiet");
  EXPECT_EQ(run.exit_code, 0) << run.err;
  const fs::path wrong = root_ / "out" / "wrong.safetensors";
  run = Modelhub("download " + url + " --to " + wrong.string() + " --hash-prefix 00000000 --quiet");
  EXPECT_EQ(run.exit_code, 1);
  EXPECT_THAT(run.err, HasSubstr("expected a hash starting with 00000000"));
  EXPECT_THAT(run.err, HasSubstr(sha256));
  EXPECT_FALSE(fs::exists(wrong));
  run = Modelhub("download " + url + " --hash-prefix 00000000");
  EXPECT_EQ(run.exit_code, 2);
  EXPECT_THAT(run.err, HasSubstr("--hash-prefix goes with --to"));

  // inspect URL: fetched into $TORCH_HOME/hub/checkpoints under its own name.
  const std::string named = "tiny-" + sha256.substr(0, 8) + ".safetensors";
  fs::copy_file("cards/tiny/model-00001-of-00002.safetensors", root_ / "files" / named);
  setenv("TORCH_HOME", (root_ / "torch").c_str(), 1);
  run = Modelhub("inspect " + hub_->file_url(named) + " --check-hash");
  unsetenv("TORCH_HOME");
  ASSERT_EQ(run.exit_code, 0) << run.err;
  EXPECT_THAT(run.out, HasSubstr("model.embed_tokens.weight F32 [4096, 256]"));
  EXPECT_TRUE(fs::exists(root_ / "torch" / "hub" / "checkpoints" / named));
  run = Modelhub("inspect " + (root_ / "out").string() + " --check-hash");
  EXPECT_EQ(run.exit_code, 2);
}

}  // namespace
